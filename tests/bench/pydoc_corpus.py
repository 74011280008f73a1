"""The Python 3.11 documentation corpus for the verdict's question sets, built once and reused.

`python tests/bench/pydoc_corpus.py` takes the tutorial and the library pages listed in
`LIBRARY_PAGES` from the whole converted corpus of `corpora.python_doc_corpus` (which downloads
Debian's python3.11-doc once, or reads an unpacked copy given with `--extracted`), then builds a qa
index of them. Both land in `--cache` (default `tests/bench/.cache`); a second run finds them and
returns at once (the index is only updated if a text changed). The question sets
`tests/verdict/pydoc.jsonl` refer to these files by `tutorial/NAME.txt` and `library/NAME.txt`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

from corpora import MARKER, python_doc_corpus

DEFAULT_CACHE = HERE / ".cache"

#: Library pages of small to middle size on everyday modules (the biggest ones are left out: embedding is slow).
LIBRARY_PAGES = (
    "html keyword getpass copy colorsys fnmatch sched glob secrets graphlib webbrowser fractions array wave "
    "heapq bisect gzip zlib queue cmath uuid zipapp base64 textwrap timeit pprint tempfile calendar venv csv "
    "random functools math json hashlib shutil string dataclasses time contextlib"
).split()


def pydoc_corpus(cache: Path = DEFAULT_CACHE, extracted: Path | None = None) -> Path:
    """Folder `<cache>/pydoc-txt`: `tutorial/*.txt` and the `LIBRARY_PAGES` of the whole corpus."""
    target = cache / "pydoc-txt"
    if (target / MARKER).exists():
        return target
    whole = python_doc_corpus(cache, extracted)
    partial = cache / ".pydoc-txt.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(whole / "tutorial", partial / "tutorial")
    (partial / "library").mkdir()
    for name in LIBRARY_PAGES:
        shutil.copy2(whole / "library" / f"{name}.txt", partial / "library" / f"{name}.txt")
    (partial / MARKER).write_text(json.dumps({"from": str(whole), "library_pages": len(LIBRARY_PAGES)}) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def pydoc_index(cache: Path = DEFAULT_CACHE, extracted: Path | None = None) -> Path:
    """A qa index of the corpus at `<cache>/pydoc-index` (built the first time, updated if texts changed)."""
    from qa import Index

    corpus = pydoc_corpus(cache, extracted)
    path = cache / "pydoc-index"
    started = time.perf_counter()
    report = Index.build([corpus], path)
    print(f"pydoc index: {report.files} files, {report.passages} passages, {report.embedded} embedded, "
          f"{time.perf_counter() - started:.1f} s -> {path}", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--extracted", type=Path, help="an unpacked python3.11-doc (the folder holding usr/)")
    args = parser.parse_args()
    print(pydoc_index(args.cache, args.extracted))


if __name__ == "__main__":
    main()
