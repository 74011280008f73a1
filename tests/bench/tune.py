"""Tune passages, BM25 terms and fusion with evidence: `python tests/bench/tune.py`.

Builds the seeds index under several settings and prints, per question set and mode,
MRR@10 / recall@1 / recall@5, so the defaults in qa/config.py can be the winners.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from qa import Index
from qa.config import IndexSettings, SearchSettings
from qa.evaluate import evaluate, load_questions

SETS = {
    "dev": REPO.parent / "shared" / "dev-questions.jsonl",
    "own": REPO / "tests" / "questions.jsonl",
    "retrieval": REPO / "tests" / "retrieval.jsonl",
}


#: Questions the defaults are judged on, never tuned on (tests/test_heldout.py): this script refuses them.
HELD_OUT = REPO / "tests" / "seeds-validation.jsonl"


def question_sets() -> dict[str, list]:
    for path in SETS.values():
        if path.resolve() == HELD_OUT.resolve():
            raise SystemExit(f"{HELD_OUT} is the held-out set; tuning must never read it.")
    return {name: load_questions(path) for name, path in SETS.items() if path.is_file()}


def row(label: str, index: Index, sets: dict[str, list], modes=("dense", "bm25", "hybrid")) -> list[str]:
    cells = [label]
    for questions in sets.values():
        scores = evaluate(index, questions, modes, judge=False)
        for mode in modes:
            s = scores[mode]
            cells.append(f"{s.mrr():.3f}/{s.recall(1):.2f}/{s.recall(5):.2f}")
    return cells


def table(title: str, rows: list[list[str]], sets: dict[str, list], modes=("dense", "bm25", "hybrid")) -> None:
    header = ["setting"] + [f"{name} {mode}" for name in sets for mode in modes]
    print(f"\n### {title}  (MRR@10 / recall@1 / recall@5)\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", choices=["passages", "bm25", "fusion", "all"], default="all")
    parser.add_argument("--base", default="", help="index settings to start from, e.g. max_tokens=254,overlap=1")
    args = parser.parse_args()
    sets = question_sets()
    work = Path(tempfile.mkdtemp(prefix="qa-tune-"))
    built: dict[IndexSettings, Path] = {}

    def index_for(settings: IndexSettings, search: SearchSettings = SearchSettings()) -> Index:
        if settings not in built:
            built[settings] = work / f"ix{len(built)}"
            Index.build([REPO / "seeds"], built[settings], settings=settings)
        return Index.open(built[settings], search=search)

    base = IndexSettings()
    for item in filter(None, args.base.split(",")):
        name, value = item.split("=")
        kind = type(getattr(base, name))
        base = replace(base, **{name: value.lower() == "true" if kind is bool else kind(value)})
    if args.stage in ("passages", "all"):
        rows = []
        for tokens, overlap, title in itertools.product((64, 96, 128, 160, 200, 254), (0, 1, 2), (False, True)):
            settings = replace(base, max_tokens=tokens, overlap=overlap, title_context=title)
            index = index_for(settings)
            rows.append(row(f"{tokens} tok, overlap {overlap}, title {'yes' if title else 'no'} "
                            f"({index.size} passages)", index, sets))
        table("Passage size, overlap, title context", rows, sets)
    if args.stage in ("bm25", "all"):
        rows = [row(f"bm25 {scheme}", index_for(replace(base, bm25_terms=scheme)), sets, ("bm25", "hybrid"))
                for scheme in ("plain", "code")]   # stem and stem-stop: measured, gone (RESULTS.md)
        table(f"BM25 terms (passages: {base.max_tokens} tok, overlap {base.overlap})", rows, sets, ("bm25", "hybrid"))
    if args.stage in ("fusion", "all"):
        rows = []
        for rrf_k, depth, weights in itertools.product((5, 20, 60), (20, 50, 100), ((1, 1), (1.5, 1), (1, 1.5))):
            search = SearchSettings(rrf_k=rrf_k, depth=depth, dense_weight=weights[0], bm25_weight=weights[1])
            rows.append(row(f"k {rrf_k}, depth {depth}, weights {weights[0]}:{weights[1]}",
                            index_for(base, search), sets, ("hybrid",)))
        table("Fusion", rows, sets, ("hybrid",))


if __name__ == "__main__":
    main()
