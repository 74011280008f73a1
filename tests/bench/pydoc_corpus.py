"""The Python 3.11 documentation corpus for the verdict's question sets, built once and reused.

`python tests/bench/pydoc_corpus.py` converts the tutorial and the library pages listed in
`LIBRARY_PAGES` of Debian's python3.11-doc (unpacked at `--html`) to `.txt` with the converter of
`corpora.py`, then builds a qa index of them. Both land in `--cache` (default
`tests/bench/.cache`); a second run finds them and returns at once (the index is only updated
if a text changed). The question sets `tests/verdict/pydoc.jsonl` refer to these files by
`tutorial/NAME.txt` and `library/NAME.txt`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from corpora import MARKER, _convert_one  # noqa: E402

DEFAULT_HTML = Path("/tmp/pydoc/x/usr/share/doc/python3.11/html")
DEFAULT_CACHE = HERE / ".cache"

#: Library pages of small to middle size on everyday modules (the biggest ones are left out: embedding is slow).
LIBRARY_PAGES = (
    "html keyword getpass copy colorsys fnmatch sched glob secrets graphlib webbrowser fractions array wave "
    "heapq bisect gzip zlib queue cmath uuid zipapp base64 textwrap timeit pprint tempfile calendar venv csv "
    "random functools math json hashlib shutil string dataclasses time contextlib"
).split()


def pydoc_corpus(html: Path = DEFAULT_HTML, cache: Path = DEFAULT_CACHE) -> Path:
    """Folder `<cache>/pydoc-txt` with `tutorial/*.txt` and `library/*.txt` converted from `html`."""
    target = cache / "pydoc-txt"
    if (target / MARKER).exists():
        return target
    if not (html / "tutorial").is_dir():
        raise SystemExit(f"No Python docs at {html}; unpack python3.11-doc there or pass --html DIR.")
    partial = cache / ".pydoc-txt.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    sources = sorted((html / "tutorial").glob("*.html")) + [html / "library" / f"{name}.html" for name in LIBRARY_PAGES]
    written = 0
    for source in sources:
        out = partial / source.parent.name / (source.stem + ".txt")
        written += _convert_one((str(source), str(out))) > 0
    (partial / MARKER).write_text(json.dumps({"html": str(html), "pages": len(sources), "files": written}) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def pydoc_index(html: Path = DEFAULT_HTML, cache: Path = DEFAULT_CACHE) -> Path:
    """A qa index of the corpus at `<cache>/pydoc-index` (built the first time, updated if texts changed)."""
    from qa import Index

    corpus = pydoc_corpus(html, cache)
    path = cache / "pydoc-index"
    started = time.perf_counter()
    report = Index.build([corpus], path)
    print(f"pydoc index: {report.files} files, {report.passages} passages, {report.embedded} embedded, "
          f"{time.perf_counter() - started:.1f} s -> {path}", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    print(pydoc_index(args.html, args.cache))


if __name__ == "__main__":
    main()
