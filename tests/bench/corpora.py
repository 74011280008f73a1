"""Benchmark corpora for qa, built from scratch and cached under a caller's folder.

- `linux_doc_corpus`: the HTML documentation of Debian's `linux-doc-6.1` package,
  converted to plain `.txt` files (standard library only, plus `apt-get download`
  and `dpkg-deb`).
- `python_doc_corpus`: the library reference and tutorial of Debian's
  `python3.11-doc` package, converted to plain `.txt` files the same way.
- `multiplied_seeds`: many slightly altered copies of a small seed corpus.
- `sample_passage_texts`: paragraph-sized texts from a corpus, for raw embedding
  throughput.

Every builder is idempotent: it writes into a temporary sibling folder, writes a
marker file (a dot file, so qa's discovery ignores it) last, then renames the
folder into place; a folder whose marker matches is returned at once.

Run `python tests/bench/corpora.py` to build both into `tests/bench/.cache`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

PACKAGE = "linux-doc-6.1"
MARKER = ".complete.json"
MIN_DOC_CHARS = 200
# Sphinx pages that are generated indexes or search forms, not documentation.
SKIP_PAGES = frozenset({"genindex.html", "search.html", "py-modindex.html", "searchindex.html"})


def _log(message: str) -> None:
    """Print one line of progress to stderr."""
    print(f"[corpora] {message}", file=sys.stderr, flush=True)


# --- HTML to text -------------------------------------------------------------------

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
_SKIP_TAGS = frozenset(
    "head script style noscript template nav header footer form button select textarea svg iframe".split()
)
_SKIP_CLASSES = frozenset(
    """sphinxsidebar sphinxsidebarwrapper related footer headerlink toctree-wrapper
    wy-nav-side wy-side-scroll wy-side-nav-search wy-nav-top wy-breadcrumbs
    rst-footer-buttons rst-versions searchbox viewcode-link viewcode-back""".split()
)
_SKIP_ROLES = frozenset({"navigation", "search", "contentinfo", "banner", "complementary"})
_BLOCK = frozenset(
    """p div section article main h1 h2 h3 h4 h5 h6 ul ol li dl dt dd pre blockquote
    table thead tbody tfoot tr caption figure figcaption aside details summary
    address hr body html""".split()
)
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """Collects the readable blocks of one HTML page, chrome removed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._buf: list[str] = []
        self._buf_pre = False
        self._prefix = ""
        # Open elements: (tag, opened a skip, opened a pre, opened a cell).
        self._stack: list[tuple[str, bool, bool, bool]] = []
        self._skip = 0
        self._pre = 0
        self._cell = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if self._skip:
                return
            if tag == "br":
                self._buf.append("\n")
            elif tag == "hr":
                self._flush()
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        skip = tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES) or values.get("role") in _SKIP_ROLES
        pre = tag == "pre" and not self._skip and not skip
        cell = tag in _CELLS and not self._skip and not skip
        self._stack.append((tag, skip, pre, cell))
        if skip:
            self._skip += 1
        if self._skip:
            return
        if cell:
            if "".join(self._buf).strip():
                self._buf.append(" | ")
            self._cell += 1
        elif tag in _BLOCK and not (self._cell and tag not in ("tr", "table", "pre")):
            self._flush()
            if tag == "li":
                self._prefix = "- "
        elif tag in _BLOCK:
            self._buf.append(" ")  # a paragraph inside a table cell stays on the row
        if pre:
            self._flush()
            self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                break
        else:
            return  # stray end tag
        was_skipping = self._skip > 0
        for _, skip, pre, cell in self._stack[i:]:
            self._skip -= skip
            self._pre -= pre
            self._cell -= cell
        del self._stack[i:]
        if was_skipping and self._skip:
            return
        if tag == "pre" or (tag in _BLOCK and not (self._cell and tag not in ("tr", "table"))):
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            self._buf.append(data)
            self._buf_pre = True
        else:
            self._buf.append(_SPACES.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = "".join(self._buf)
        self._buf = []
        if self._buf_pre:
            lines = [line.rstrip() for line in text.expandtabs(8).split("\n")]
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        else:
            lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
            text = "\n".join(line for line in lines if line)
        self._buf_pre = False
        if not text.strip():
            return
        if self._prefix:
            text = self._prefix + text
            self._prefix = ""
        self.blocks.append(text)


def html_to_text(html: str) -> str:
    """Readable text of an HTML page: headings, paragraphs, lists, tables and code
    blocks separated by one blank line; scripts, styles and navigation dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "\n\n".join(parser.blocks) + "\n" if parser.blocks else ""


def _convert_one(job: tuple[str, str]) -> int:
    """Convert one HTML file to a text file; the number of characters written (0 if skipped)."""
    source, target = job
    path = Path(source)
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = html_to_text(data.decode("utf-8", errors="replace"))
    if len(text.strip()) < MIN_DOC_CHARS:
        return 0
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return len(text)


# --- Debian package -------------------------------------------------------------------


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True)


def _download_deb(package: str, folder: Path) -> Path:
    """`apt-get download` a package into `folder`; `apt-get update` once if that fails."""
    result = _run(["apt-get", "download", package], cwd=folder)
    if result.returncode != 0:
        _log(f"apt-get download failed ({result.stderr.strip()[-200:]}); running apt-get update")
        update = _run(["apt-get", "update"])
        if update.returncode != 0:
            raise RuntimeError(f"apt-get update failed:\n{update.stderr}")
        result = _run(["apt-get", "download", package], cwd=folder)
        if result.returncode != 0:
            raise RuntimeError(f"apt-get download {package} failed:\n{result.stderr}")
    debs = sorted(folder.glob(f"{package}_*.deb"))
    if not debs:
        raise RuntimeError(f"apt-get download {package} produced no .deb in {folder}")
    return debs[-1]


def _extracted_package(package: str, cache: Path) -> tuple[Path, str]:
    """The package's files extracted under the cache, and its version (downloads once)."""
    target = cache / f"{package}-deb"
    marker = target / MARKER
    if marker.exists():
        return target, json.loads(marker.read_text())["version"]
    partial = cache / f".{package}-deb.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="qa-bench-deb-") as tmp:
        _log(f"downloading {package} with apt-get")
        deb = _download_deb(package, Path(tmp))
        version = _run(["dpkg-deb", "--field", str(deb), "Version"]).stdout.strip()
        _log(f"extracting {deb.name} ({deb.stat().st_size / 1e6:.1f} MB)")
        result = _run(["dpkg-deb", "-x", str(deb), str(partial)])
        if result.returncode != 0:
            raise RuntimeError(f"dpkg-deb -x failed:\n{result.stderr}")
    (partial / MARKER).write_text(json.dumps({"package": package, "version": version}))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target, version


def _html_root(extracted: Path, package: str) -> Path:
    """The folder holding the package's Sphinx HTML (with index.html)."""
    expected = extracted / "usr" / "share" / "doc" / package / "html"
    if (expected / "index.html").exists():
        return expected
    indexes = sorted(extracted.rglob("index.html*"), key=lambda p: (len(p.parts), str(p)))
    if not indexes:
        raise RuntimeError(f"no index.html in {extracted}")
    return indexes[0].parent


# --- corpora --------------------------------------------------------------------------


def _finish(partial: Path, target: Path, info: dict[str, object]) -> None:
    """Write the marker into `partial` and move it to `target`."""
    (partial / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def corpus_stats(folder: Path) -> tuple[int, int]:
    """Number of `.txt` files under `folder` and their total size in bytes."""
    files = [p for p in folder.rglob("*.txt") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def linux_doc_corpus(cache: Path, workers: int | None = None) -> Path:
    """Folder of `.txt` files converted from the HTML docs of Debian's linux-doc-6.1.

    Output: `<cache>/linux-doc-txt/<path relative to the html root, .html -> .txt>`;
    pages with under 200 characters of text and Sphinx's genindex/search pages
    are left out.
    """
    cache = Path(cache)
    target = cache / "linux-doc-txt"
    if (target / MARKER).exists():
        return target
    started = time.perf_counter()
    cache.mkdir(parents=True, exist_ok=True)
    extracted, version = _extracted_package(PACKAGE, cache)
    root = _html_root(extracted, PACKAGE)
    sources = sorted(
        p for p in root.rglob("*")
        if p.is_file() and (p.name.endswith(".html") or p.name.endswith(".html.gz"))
        and p.name.removesuffix(".gz") not in SKIP_PAGES
        and not any(part.startswith("_") for part in p.relative_to(root).parts)
    )
    partial = cache / ".linux-doc-txt.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    jobs = [
        (str(p), str(partial / p.relative_to(root).as_posix().removesuffix(".gz").removesuffix(".html")) + ".txt")
        for p in sources
    ]
    _log(f"converting {len(jobs)} HTML files from {root}")
    written = chars = 0
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for i, n in enumerate(pool.map(_convert_one, jobs, chunksize=16), 1):
            written += n > 0
            chars += n
            if i % 500 == 0 or i == len(jobs):
                _log(f"  {i}/{len(jobs)} converted, {written} kept")
    seconds = time.perf_counter() - started
    files, size = corpus_stats(partial)
    info = {
        "package": PACKAGE, "version": version, "html_root": str(root),
        "html_files": len(jobs), "files": files, "bytes": size, "seconds": round(seconds, 1),
    }
    _finish(partial, target, info)
    _log(f"linux-doc corpus: {files} files, {size / 1e6:.1f} MB of text "
         f"({len(jobs) - files} pages under {MIN_DOC_CHARS} chars skipped) in {seconds:.1f} s")
    return target


def linux_doc_sample(cache: Path, question_sets: list[Path], extra_bytes: int = 4_000_000, seed: int = 0) -> Path:
    """Folder `<cache>/linux-doc-sample`: the kernel docs pages the question sets cite, plus a seeded random
    draw of the other pages (about `extra_bytes` of text) for them to be found among.

    The whole kernel corpus (39 MB) takes qa and each peer most of an hour to embed here; this sample
    (about 8 MB) keeps the second corpus's runs to minutes. Every gold page is in it, so it is easier than
    the whole corpus: compare systems within one run, not with the Python docs figures.
    """
    cache = Path(cache)
    whole = linux_doc_corpus(cache)
    target = cache / "linux-doc-sample"
    gold = sorted({g["file"] for path in question_sets for line in Path(path).read_text().splitlines()
                   if line.strip() for g in json.loads(line).get("gold", [])})
    info: dict[str, object] = {"gold_files": len(gold), "extra_bytes": extra_bytes, "seed": seed,
                               "question_sets": sorted(Path(p).name for p in question_sets)}
    marker = target / MARKER
    if marker.exists() and all(json.loads(marker.read_text()).get(k) == v for k, v in info.items()):
        return target
    others = sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*.txt")
                    if p.relative_to(whole).as_posix() not in set(gold))
    random.Random(seed).shuffle(others)
    chosen, size = list(gold), 0
    for name in others:
        if size >= extra_bytes:
            break
        chosen.append(name)
        size += (whole / name).stat().st_size
    partial = cache / ".linux-doc-sample.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for name in chosen:
        (partial / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(whole / name, partial / name)
    files, total = corpus_stats(partial)
    info.update(files=files, bytes=total)
    _finish(partial, target, info)
    _log(f"linux-doc sample: {files} files ({len(gold)} cited by the question sets), {total / 1e6:.1f} MB")
    return target


PYDOC_PACKAGE = "python3.11-doc"
#: The parts of the Python documentation in the corpus (the C API, FAQ, how-tos... are left out).
PYDOC_PARTS = ("library", "tutorial")


def python_doc_corpus(cache: Path, extracted: Path | None = None) -> Path:
    """Folder of `.txt` files converted from the Python 3.11 library reference and tutorial.

    Output: `<cache>/python-doc-txt/{library,tutorial}/<page>.txt` (Sphinx index pages left out).
    `extracted` is a folder where the package is already unpacked (holding `usr/`); without it
    the package is `apt-get download`ed into the cache once.
    """
    cache = Path(cache)
    target = cache / "python-doc-txt"
    if (target / MARKER).exists():
        return target
    started = time.perf_counter()
    cache.mkdir(parents=True, exist_ok=True)
    if extracted is None:
        extracted, version = _extracted_package(PYDOC_PACKAGE, cache)
    else:
        version = "unpacked"
    root = Path(extracted) / "usr" / "share" / "doc" / "python3.11" / "html"
    if not (root / "library").is_dir():
        raise RuntimeError(f"no library/ folder in {root}")
    sources = sorted(
        p for part in PYDOC_PARTS for p in (root / part).rglob("*.html")
        if p.is_file() and p.name not in SKIP_PAGES
    )
    partial = cache / ".python-doc-txt.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    jobs = [(str(p), str(partial / p.relative_to(root).as_posix().removesuffix(".html")) + ".txt") for p in sources]
    _log(f"converting {len(jobs)} HTML files from {root}")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_convert_one, jobs, chunksize=16))
    seconds = time.perf_counter() - started
    files, size = corpus_stats(partial)
    info = {"package": PYDOC_PACKAGE, "version": version, "html_root": str(root), "parts": list(PYDOC_PARTS),
            "html_files": len(jobs), "files": files, "bytes": size, "seconds": round(seconds, 1)}
    _finish(partial, target, info)
    _log(f"python-doc corpus: {files} files, {size / 1e6:.1f} MB of text in {seconds:.1f} s")
    return target


def _seed_files(seeds: Path) -> list[Path]:
    """The seed files under `seeds` (recursively, hidden ones skipped), sorted."""
    return sorted(
        p for p in seeds.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(seeds).parts)
    )


def multiplied_seeds(seeds: Path, copies: int, cache: Path) -> Path:
    """Folder with `copies` copies of every seed file, `copy-0001/<seed path>` etc.

    Copy N of a file is the seed with a last line "Copy N." appended, so every
    file's content hash differs (all other paragraphs stay identical).
    """
    seeds, cache = Path(seeds), Path(cache)
    if copies < 1:
        raise ValueError("copies must be at least 1")
    files = _seed_files(seeds)
    if not files:
        raise ValueError(f"no seed files in {seeds}")
    fingerprint = [[p.relative_to(seeds).as_posix(), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    info = {"seeds": str(seeds.resolve()), "copies": copies, "fingerprint": fingerprint}
    target = cache / f"{seeds.name}-x{copies}"
    marker = target / MARKER
    if marker.exists() and json.loads(marker.read_text()).get("fingerprint") == fingerprint:
        return target
    started = time.perf_counter()
    partial = cache / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    contents = [(p.relative_to(seeds), p.read_bytes()) for p in files]
    width = max(4, len(str(copies)))
    for n in range(1, copies + 1):
        folder = partial / f"copy-{n:0{width}d}"
        for relative, data in contents:
            out = folder / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            newline = b"" if data.endswith(b"\n") or not data else b"\n"
            out.write_bytes(data + newline + f"Copy {n}.\n".encode())
    seconds = time.perf_counter() - started
    info["seconds"] = round(seconds, 2)
    _finish(partial, target, info)
    _log(f"multiplied seeds: {len(files)} files x {copies} copies in {seconds:.1f} s")
    return target


_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def sample_passage_texts(folder: Path, n: int, seed: int = 0) -> list[str]:
    """`n` paragraphs of 200-1200 characters from the `.txt` files under `folder`,
    chosen deterministically by `seed` (paragraphs are split on blank lines)."""
    pool: list[str] = []
    for path in sorted(Path(folder).rglob("*.txt")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        pool.extend(p for p in (q.strip() for q in _BLANK_LINES.split(text)) if 200 <= len(p) <= 1200)
    if n > len(pool):
        raise ValueError(f"asked for {n} paragraphs, {folder} has only {len(pool)} of 200-1200 characters")
    return random.Random(seed).sample(pool, n)


# --- command line ---------------------------------------------------------------------


def main() -> None:
    """Build the corpora into tests/bench/.cache and print their sizes."""
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=repo / "tests" / "bench" / ".cache")
    parser.add_argument("--seeds", type=Path, default=repo / "seeds")
    parser.add_argument("--copies", type=int, default=200)
    args = parser.parse_args()
    for name, build in (
        ("linux-doc", lambda: linux_doc_corpus(args.cache)),
        ("python-doc", lambda: python_doc_corpus(args.cache)),
        (f"seeds x{args.copies}", lambda: multiplied_seeds(args.seeds, args.copies, args.cache)),
    ):
        started = time.perf_counter()
        folder = build()
        files, size = corpus_stats(folder)
        print(f"{name:>14}: {files} files, {size / 1e6:.1f} MB, "
              f"{time.perf_counter() - started:.1f} s -> {folder}")


if __name__ == "__main__":
    main()
