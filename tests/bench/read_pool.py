"""Reading through the reader pool against reading in this process, one file after another.

Corpora: the seeds, and every page of the Python docs corpus as HTML (tests/bench/corpora.py: the Debian
python3.11-doc package, downloaded into tests/bench/.cache once; 328 pages). Each is read three ways, in
alternation, `--runs` times: in this process (`qa.sources.read` in a loop, as builds did before the
pool), through the pool with one worker, and through the pool with a worker a core. Prints the median
wall time of each and the ratios.

    python tests/bench/read_pool.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

from qa.config import ReadLimits
from qa.sources import Document, discover, read
from qa.sources.pool import read_all


def html_pages() -> Path:
    """Every page of the Python docs corpus, as HTML (the text corpus names the pages)."""
    from corpora import PYDOC_PACKAGE, _extracted_package, python_doc_corpus

    text = python_doc_corpus(HERE / ".cache")
    extracted, _ = _extracted_package(PYDOC_PACKAGE, HERE / ".cache")
    source = extracted / "usr" / "share" / "doc" / "python3.11" / "html"
    html = HERE / ".cache" / "pydoc-html-pages"
    if not html.exists():
        for page in sorted(text.rglob("*.txt")):
            relative = page.relative_to(text).with_suffix(".html")
            (html / relative).parent.mkdir(parents=True, exist_ok=True)
            (html / relative).write_bytes((source / relative).read_bytes())
    return html


def in_process(files: list[Path], root: Path) -> int:
    return sum(len(read(path, root).text) for path in files)


def pooled(files: list[Path], root: Path, workers: int) -> int:
    outcomes = read_all(files, root, ReadLimits(workers=workers))
    return sum(len(o.text) for o in outcomes if isinstance(o, Document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    for name, folder in (("seeds", REPO / "seeds"), ("python-doc HTML", html_pages())):
        root, files, _ = discover([folder])
        ways = {"in process": lambda: in_process(files, root), "pool, 1 worker": lambda: pooled(files, root, 1),
                f"pool, {cores} workers": lambda: pooled(files, root, cores)}
        times: dict[str, list[float]] = {way: [] for way in ways}
        characters: dict[str, int] = {}
        for _ in range(args.runs):
            for way, run in ways.items():
                started = time.perf_counter()
                characters[way] = run()
                times[way].append(time.perf_counter() - started)
        assert len(set(characters.values())) == 1, f"the ways read different text: {characters}"
        base = statistics.median(times["in process"])
        print(f"{name}: {len(files)} files, {characters['in process']:,} characters "
              f"(load average {os.getloadavg()[0]:.1f})")
        for way, seconds in times.items():
            median = statistics.median(seconds)
            print(f"  {way:<16} {median:7.2f} s  ({median / base:.2f}x in process; runs: "
                  + ", ".join(f"{s:.2f}" for s in seconds) + ")")


if __name__ == "__main__":
    main()
