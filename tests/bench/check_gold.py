"""Check labelled question sets against their corpus, without running qa.

For each JSON-lines set given: every line parses and has `id`, `question`, `kind` (one of the kinds
its format allows) and `gold` ([{"file", "contains"}]); ids are unique; every gold file exists under the
corpus root and its `contains` phrase occurs in it verbatim after whitespace normalisation (runs of
spaces, tabs and newlines read as one space); and no question repeats one of another set, word for word
or nearly (same words in any order up to a Jaccard overlap of `--near`, default 0.8).

    python tests/bench/check_gold.py --root tests/bench/.cache/kernel-doc-txt \
        tests/bench/questions/kernel-fit.jsonl tests/bench/questions/kernel-heldout.jsonl

Exit 0 when every check passes, 1 otherwise (each problem on one line).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

BENCH_KINDS = frozenset({"paraphrase", "keyword", "lookup", "numeric", "multi", "howto"})
VERDICT_KINDS = frozenset({"answerable", "near-topic", "off-topic"})
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"[a-z0-9_]+")
_STOP = frozenset(
    "a an the of to in on for and or is are be do does how i my me can what which why when where who "
    "with by it its from as at this that use using get".split()
)


def normalised(text: str) -> str:
    """`text` with every run of whitespace as one space, stripped."""
    return _SPACES.sub(" ", text).strip()


def words(question: str) -> frozenset[str]:
    """The content words of a question, lowercased (stop words dropped)."""
    return frozenset(w for w in _WORDS.findall(question.lower()) if w not in _STOP)


def read_set(path: Path) -> list[dict[str, object]]:
    """The lines of one JSON-lines set (blank lines skipped)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            rows.append(row)
    return rows


def gold_files(row: dict[str, object]) -> list[str]:
    """The gold file names of one question (none when its gold is malformed)."""
    gold = row.get("gold")
    if not isinstance(gold, list):
        return []
    return [str(item["file"]) for item in gold if isinstance(item, dict) and "file" in item]


def check_set(path: Path, root: Path, texts: dict[Path, str]) -> list[str]:
    """Problems found in one set (empty when it is sound)."""
    problems: list[str] = []
    rows = read_set(path)
    ids = Counter(str(row.get("id")) for row in rows)
    problems += [f"{path.name}: id {i} used {n} times" for i, n in ids.items() if n > 1]
    for row in rows:
        where = f"{path.name}:{row.get('id')}"
        kind = row.get("kind")
        if not isinstance(row.get("question"), str) or not str(row["question"]).strip():
            problems.append(f"{where}: no question")
        if kind not in BENCH_KINDS | VERDICT_KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
        gold = row.get("gold")
        if not isinstance(gold, list):
            problems.append(f"{where}: gold is not a list")
            continue
        if kind in BENCH_KINDS | {"answerable"} and not gold:
            problems.append(f"{where}: answerable question without gold")
        if kind in {"near-topic", "off-topic"} and gold:
            problems.append(f"{where}: {kind} question with gold")
        for item in gold:
            file = root / str(item.get("file", ""))
            if not file.is_file():
                problems.append(f"{where}: no file {item.get('file')!r} under {root}")
                continue
            if file not in texts:
                texts[file] = normalised(file.read_text(encoding="utf-8", errors="replace"))
            phrase = normalised(str(item.get("contains", "")))
            if not phrase:
                problems.append(f"{where}: empty contains")
            elif phrase not in texts[file]:
                problems.append(f"{where}: {phrase[:70]!r} not in {item.get('file')}")
    return problems


def duplicates(checked: list[Path], against: list[Path], near: float) -> list[str]:
    """Questions of `checked` sets that repeat (or nearly repeat) one of any set in `checked` + `against`."""
    pool: list[tuple[str, str, str, frozenset[str]]] = []
    for path in dict.fromkeys(checked + against):
        for row in read_set(path):
            question = str(row.get("question", ""))
            pool.append((path.name, str(row.get("id")), question, words(question)))
    names = {p.name for p in checked}
    problems = []
    for i, (name, qid, question, bag) in enumerate(pool):
        if name not in names or not bag:
            continue
        for other_name, other_id, other, other_bag in pool[:i] + pool[i + 1:]:
            if (other_name, other_id) == (name, qid) or not other_bag:
                continue
            same = normalised(question).lower() == normalised(other).lower()
            overlap = len(bag & other_bag) / len(bag | other_bag)
            if same or overlap >= near:
                problems.append(f"{name}:{qid} {'repeats' if same else f'nearly repeats ({overlap:.2f})'} "
                                f"{other_name}:{other_id}: {question!r} ~ {other!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the sets given on the command line; print problems and counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--root", type=Path, required=True, help="the corpus root gold files are relative to")
    parser.add_argument("--against", nargs="*", type=Path, default=[],
                        help="other sets no question may repeat")
    parser.add_argument("--near", type=float, default=0.8, help="word-overlap (Jaccard) counted as a repeat")
    args = parser.parse_args(argv)
    texts: dict[Path, str] = {}
    problems: list[str] = []
    for path in args.sets:
        problems += check_set(path, args.root, texts)
        rows = read_set(path)
        kinds = Counter(str(row.get("kind")) for row in rows)
        files = {file for row in rows for file in gold_files(row)}
        print(f"{path}: {len(rows)} questions, {len(files)} gold files, "
              + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    problems += duplicates(list(args.sets), list(args.against), args.near)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
