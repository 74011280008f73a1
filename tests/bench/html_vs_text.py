"""The Python 3.11 docs indexed as HTML (trafilatura) and as text (the benchmark's own HTML->text
converter), side by side: retrieval quality (`qa eval`) and what reading and extracting costs.

Corpus: every tutorial page plus the library pages the question sets cite, from the unpacked Debian
python3.11-doc package (downloaded into tests/bench/.cache once), keeping only pages whose text form is at most MAX_KB kilobytes (the whole
library is too slow to embed twice on a shared 2-core machine); questions whose gold pages are all left
out are dropped, and the script says how many.
Questions: the ingest branch's pydoc question sets (copied here as pydoc-formats-tune/heldout.jsonl), and
four more written over these pages' text form by helpers who never ran qa (heldout-2, -3, -4, -5); gold
files are renamed .txt -> .html for the HTML form. heldout-3, -4 and -5 were each read once, for the
comparison in the README (-3 and -4 were read again while fixing the reader afterwards); the others were
read while fixing the HTML reader.

    python tests/bench/html_vs_text.py [WORK_FOLDER]       # default /tmp/qa-html-vs-text

`--whole`: every page of the Python docs corpus (tests/bench/corpora.py, 328 pages, each indexed once
as HTML and once as its text form; about 10 minutes a build here) with the question sets of
tests/bench/questions/ (pydoc-tune, pydoc-heldout, pydoc-heldout-2: written for the text form; read while
fixing the HTML reader, never used to tune it).

`--lost`: no index; the lines of eight or more words of the text form that the HTML extraction does not
hold (case, spacing and list bullets aside), counted page by page: content the HTML reader loses, or
writes differently (a table cell per line instead of a row per line).
"""

from __future__ import annotations

import collections
import json
import re
import shutil
import sys
import time
from pathlib import Path

from corpora import PYDOC_PACKAGE, _extracted_package, html_to_text, python_doc_corpus   # this script's folder

from qa import Index
from qa.evaluate import evaluate, load_questions
from qa.sources import discover, read

HERE = Path(__file__).resolve().parent

SETS = [HERE / f"pydoc-formats-{name}.jsonl"
        for name in ("tune", "heldout", "heldout-2", "heldout-3", "heldout-4", "heldout-5")]
WHOLE_SETS = [HERE / "questions" / f"pydoc-{name}.jsonl" for name in ("tune", "heldout", "heldout-2")]
MAX_KB = 40


def pydoc_html() -> Path:
    """The unpacked package's HTML folder (apt-get download into the benchmark cache the first time)."""
    extracted, _ = _extracted_package(PYDOC_PACKAGE, HERE / ".cache")
    return extracted / "usr" / "share" / "doc" / "python3.11" / "html"


PYDOC = pydoc_html()


def pages() -> list[str]:
    cited = {g["file"].removesuffix(".txt") + ".html"
             for path in SETS for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
             for g in json.loads(line)["gold"]}
    tutorial = {p.relative_to(PYDOC).as_posix() for p in (PYDOC / "tutorial").glob("*.html")}
    return sorted(cited | tutorial)


def make_corpora(work: Path) -> tuple[Path, Path]:
    html, text = work / "html", work / "text"
    for folder in (html, text):
        shutil.rmtree(folder, ignore_errors=True)
    for page in pages():
        source = PYDOC / page
        converted = html_to_text(source.read_text(encoding="utf-8"))
        if len(converted.encode("utf-8")) > MAX_KB * 1000:
            continue
        (html / page).parent.mkdir(parents=True, exist_ok=True)
        (text / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, html / page)
        (text / page).with_suffix(".txt").write_text(converted, encoding="utf-8")
    return html, text


def whole_corpora(work: Path) -> tuple[Path, Path]:
    """The HTML page of every page of the text corpus, and the text corpus itself (not copied)."""
    text = python_doc_corpus(HERE / ".cache")
    html = work / "html-whole"
    shutil.rmtree(html, ignore_errors=True)
    for page in sorted(text.rglob("*.txt")):
        relative = page.relative_to(text).with_suffix(".html")
        (html / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PYDOC / relative, html / relative)
    return html, text


def reading_seconds(folder: Path) -> tuple[float, int]:
    root, files, _ = discover([folder])
    started = time.perf_counter()
    characters = sum(len(read(path, root).text) for path in files)
    return time.perf_counter() - started, characters


def question_file(path: Path, suffix: str, work: Path, kept: set[str]) -> Path:
    """The questions whose gold pages are in the corpus, gold files renamed to `suffix`."""
    out = work / f"{path.stem}{suffix}.jsonl"
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            item["gold"] = [g for g in item["gold"] if g["file"] in kept]
            if not item["gold"]:
                continue
            for gold in item["gold"]:
                gold["file"] = gold["file"].removesuffix(".txt") + suffix
            lines.append(json.dumps(item, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def lost_lines(html: Path, text: Path, shown: int = 12) -> None:
    """Print how many lines of the text form the HTML extraction lacks, and the pages lacking most."""
    def normal(line: str) -> str:
        return " ".join(re.sub(r"^[-*]\s+", "", line.strip()).lower().split())

    total, lost, examples = 0, collections.Counter(), {}
    for page in sorted(text.rglob("*.txt")):
        name = page.relative_to(text).with_suffix(".html").as_posix()
        extracted = normal(read(html / name, html).text)
        for line in page.read_text(encoding="utf-8").splitlines():
            if len(line.split()) >= 8:
                total += 1
                if normal(line)[:200] not in extracted:
                    lost[name] += 1
                    examples.setdefault(name, line.strip()[:100])
    print(f"{sum(lost.values()):,} of {total:,} lines of eight or more words of the text form are not in the "
          f"HTML extraction ({len(lost)} pages):")
    for name, count in lost.most_common(shown):
        print(f"  {count:4} {name}: {examples[name]}")


def paired(first: dict[str, int | None], second: dict[str, int | None]) -> tuple[int, int, int]:
    """Questions where the first ranking puts the answer higher, where the second does, and ties."""
    def at(rank: int | None) -> int:
        return rank if rank is not None else 1_000
    ids = first.keys() & second.keys()
    better = sum(at(first[i]) < at(second[i]) for i in ids)
    worse = sum(at(first[i]) > at(second[i]) for i in ids)
    return better, worse, len(ids) - better - worse


def main() -> None:
    whole = "--whole" in sys.argv[1:]
    arguments = [a for a in sys.argv[1:] if a not in ("--whole", "--lost")]
    work = Path(arguments[0]) if arguments else Path("/tmp/qa-html-vs-text")
    work.mkdir(parents=True, exist_ok=True)
    sets = WHOLE_SETS if whole else SETS
    html, text = whole_corpora(work) if whole else make_corpora(work)
    if "--lost" in sys.argv[1:]:
        lost_lines(html, text)
        return
    kept = {p.relative_to(text).as_posix() for p in text.rglob("*.txt")}
    total = sum(1 for path in sets for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    asked = sum(len(load_questions(question_file(path, ".txt", work, kept))) for path in sets)
    print(f"{len(kept)} pages" + (" (the whole corpus)" if whole else
          f" of {len(pages())} (tutorial/ and the library pages the questions cite, text form <= {MAX_KB} KB)")
          + f"; {asked} of {total} questions have their answer in them", flush=True)
    results: dict[str, dict[str, object]] = {}
    for form, folder, suffix in (("text", text, ".txt"), ("html", html, ".html")):
        reading, characters = reading_seconds(folder)
        index_dir = work / f"index-{form}{'-whole' if whole else ''}"
        # The whole corpus's text index is updated in place (unchanged files are not read again); the HTML
        # index is always built anew, as an index does not re-read unchanged files when the reader changes.
        if not whole or form == "html":
            shutil.rmtree(index_dir, ignore_errors=True)
        started = time.perf_counter()
        report = Index.build([folder], index_dir)
        build = time.perf_counter() - started
        index = Index.open(index_dir)
        scores = {path.stem: evaluate(index, load_questions(question_file(path, suffix, work, kept)),
                                      modes=("hybrid",))["hybrid"]
                  for path in sets}
        results[form] = {"read": reading, "characters": characters, "build": build, "passages": report.passages,
                         "scores": scores}
        print(f"{form}: read+extract {reading:.1f} s, build {build:.1f} s, {report.passages} passages, "
              f"{characters} characters", flush=True)
    print("\n| question set | form | MRR@10 | recall@1 | recall@5 | recall@10 |\n|---|---|---|---|---|---|")
    for path in sets:
        for form in ("text", "html"):
            s = results[form]["scores"][path.stem]   # type: ignore[index]
            print(f"| {path.stem} ({s.answerable}) | {form} | {s.mrr(10):.3f} | {s.recall(1):.2f} | "
                  f"{s.recall(5):.2f} | {s.recall(10):.2f} |")
    print("\nQuestion by question (hybrid, rank of the first answering passage in the top 10; a miss ranks below all):")
    for path in sets:
        text_at = results["text"]["scores"][path.stem].found_at   # type: ignore[index]
        html_at = results["html"]["scores"][path.stem].found_at   # type: ignore[index]
        text_first, html_first, same = paired(text_at, html_at)
        print(f"  {path.stem}: text ranks the answer higher on {text_first}, HTML on {html_first}, the same on {same}")
    if not whole:   # the whole corpus's text index is updated in place, not built: no share to give
        text_build = float(results["text"]["build"])  # type: ignore[arg-type]
        extra = float(results["html"]["read"]) - float(results["text"]["read"])  # type: ignore[arg-type]
        print(f"\nReading+extracting HTML: {results['html']['read']:.1f} s; reading the text form: "
              f"{results['text']['read']:.1f} s; the difference is {100 * extra / text_build:.1f}% of the text "
              f"form's build ({text_build:.1f} s; HTML build {results['html']['build']:.1f} s).")
    for form in ("text", "html"):
        for path in sets:
            s = results[form]["scores"][path.stem]   # type: ignore[index]
            for miss in s.misses:
                print(f"  {form} {miss['id']} rank {miss['rank']}: {miss['question'][:70]} -> {miss['first']}")


if __name__ == "__main__":
    main()
