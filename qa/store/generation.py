"""The index folder: plain files, written atomically, read without running any code from them.

    index/
      .qa-index               marker: this folder is a qa index, and its id (see qa/store/ownership.py)
      CURRENT                 name of the complete generation in use (replaced atomically)
      .lock                   held while a build runs
      gen-<time>-<id>/
        .qa-owner             the index's id: only folders carrying it are ever deleted
        manifest.json         format version, model, passage settings, source files, checksums of the rest
        manifest.sha256       SHA-256 of manifest.json
        passages.sqlite       passages (row = vector row) and source files
        vectors.npy           float32 (passages x dimension), L2-normalised; absent without a model
        sentences.npy         float16 vectors of each passage's sentences (late-chunked), row per sentences row
        input_keys.npy        per passage, the digest of what was embedded (vectors are reused by it)
        bm25.*                BM25 vocabulary and sparse weights
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import stat
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.search.bm25 import BM25
from qa.config import FORMAT_VERSION
from qa.model.embedder import ONNX_FILES
from qa.errors import IndexBusyError, IndexFormatError, NoIndexError, QAError, UsageError
from qa.store.ownership import LOCK, OWNER, check, claim, make_owned_folder, remove_owned
from qa.ingest.split import Passage
from qa.search.dense import APPROXIMATE_FILE
from qa.store.manifest import FormatMismatch, Manifest, ManifestError
from qa.sources.document import Region

CURRENT = "CURRENT"
KEYS = "input_keys.npy"
PASSAGES = "passages.sqlite"
VECTORS = "vectors.npy"
SENTENCE_VECTORS = "sentences.npy"

#: Files read only by dense search: checksummed when they are loaded, not on every open.
LOADED_LATER = (*ONNX_FILES, APPROXIMATE_FILE)

#: Passage fields stored in passages.sqlite, in Passage's order (locator fields are NULL where a format has none).
PASSAGE_COLUMNS = ("file", "start", "end", "line_start", "line_end", "text",
                   "page", "page_label", "heading", "source_line", "paragraph")

#: Each passage's sentences as (file, start, end, passage row), in passage order, and their vectors, row for row.
#: A sentence shared by overlapping passages appears once per passage (with that passage's vector).
Sentences = tuple[list[tuple[str, int, int, int]], np.ndarray]


@dataclass(frozen=True)
class SourceFile:
    """A file as it was indexed, and where its passages are."""

    path: str          # relative to the corpus root
    sha256: str
    size: int
    mtime_ns: int
    first_row: int
    count: int


def _rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it with: qa index --index {index_dir} PATH"


# --- writing --------------------------------------------------------------------


class BuildLock:
    """Exclusive right to build into an index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._handle: Any = None

    def __enter__(self) -> BuildLock:
        lock = self.index_dir / LOCK
        try:
            check(self.index_dir)   # refuses a folder that is not a qa index before anything is written
            # Never through a link: a `.lock` planted as a link would make qa create its target elsewhere.
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UsageError(f"{lock} is a symbolic link, not qa's lock file; qa does not follow it. "
                                 "Remove the link, then run this again.") from None
            if error.errno == errno.EISDIR:
                raise UsageError(_not_qas(lock)) from None
            raise QAError(f"Cannot write the index at {self.index_dir}: {error.strerror or error}. "
                          "Choose another folder with --index DIR.") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):   # a pipe or a device named .lock
            os.close(fd)
            raise UsageError(_not_qas(lock))
        self._handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            raise IndexBusyError(
                f"Another qa index is building {self.index_dir}; wait for it to finish, then run this again."
            ) from None
        try:
            claim(self.index_dir)
        except BaseException as error:
            self.__exit__()
            if isinstance(error, OSError):   # the marker could not be written (a full disk...)
                raise write_error(error, self.index_dir) from None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _not_qas(lock: Path) -> str:
    return f"{lock} is not a file qa made; move it out of the index folder, then run this again."


def clean_leftovers(index_dir: Path, keep: str | None = None) -> None:
    """Remove what killed builds of this index left behind (call with the BuildLock held), except the
    checkpoint folder `keep`, from which this build resumes."""
    index_id = claim(index_dir)
    for old in index_dir.iterdir():
        if old.name.startswith((".tmp-", ".scratch-")) and old.name != keep:
            remove_owned(old, index_id)


def new_scratch(index_dir: Path) -> Path:
    """A new, marked working folder for one build (call with the BuildLock held; the caller removes it)."""
    return make_owned_folder(index_dir, ".scratch-", claim(index_dir))


def write_generation(
    index_dir: Path,
    manifest: Manifest,
    passages: list[Passage],
    files: list[SourceFile],
    texts: dict[str, str],
    vectors: np.ndarray | None,
    bm25: BM25,
    extra: dict[str, Path] | None = None,
    sentences: Sentences | None = None,
    regions: dict[str, list[Region]] | None = None,
) -> Path:
    """Write a complete index beside the current one, then make it current in one rename.

    Call with the BuildLock held. If anything fails or the process dies before the
    final rename, the previous generation stays current and untouched.
    """
    index_id = claim(index_dir)
    pointer_file = index_dir / CURRENT
    previous = index_dir / pointer_file.read_text(encoding="utf-8").strip() if pointer_file.is_file() else None
    try:
        temporary = make_owned_folder(index_dir, ".tmp-", index_id)
    except OSError as error:
        raise write_error(error, index_dir) from None
    final: Path | None = None
    pointer = index_dir / f".{CURRENT}.tmp"
    try:
        _write_passages(temporary / PASSAGES, passages, files, texts, sentences[0] if sentences else [], regions or {})
        if vectors is not None:
            _save_array(temporary / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32))
        if sentences is not None:   # half precision: enough to pick a sentence, half the disk
            _save_array(temporary / SENTENCE_VECTORS, np.ascontiguousarray(sentences[1], dtype=np.float16))
        bm25.save(temporary)
        for name, source in (extra or {}).items():
            link_or_copy(source, temporary / name)
        manifest.with_checksums({p.name: _checksum(p) for p in sorted(temporary.iterdir()) if p.name != OWNER}
                                ).write(temporary)
        for path in temporary.iterdir():
            _fsync(path)
        _fsync(temporary)
        final = index_dir / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(temporary, final)
        pointer.write_text(final.name + "\n", encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, index_dir / CURRENT)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if final is not None:   # renamed but never made current: nothing uses it
            shutil.rmtree(final, ignore_errors=True)
            pointer.unlink(missing_ok=True)
        if isinstance(error, (OSError, sqlite3.Error)):
            raise write_error(error, index_dir) from None
        raise
    try:
        _fsync(index_dir)
    except OSError:   # the rename is done; only its durability across a power cut is in doubt
        pass
    # Keep the generation just replaced: a REPL or script that opened it may still load its model
    # or FAISS file lazily. Older generations and leftovers of killed builds go, if this index made them.
    for old in index_dir.iterdir():
        if old not in (final, previous) and old.name.startswith(("gen-", ".tmp-", ".scratch-")):
            remove_owned(old, index_id)
    return final


class DiskFullError(QAError):
    """The file system holding the index has no space left (the index is as it was)."""


#: SQLite's result code for a full disk (sqlite3.Error.sqlite_errorcode).
_SQLITE_FULL = 13


def write_error(error: OSError | sqlite3.Error, index_dir: Path) -> QAError:
    """The one-line error for a failed write into `index_dir`: DiskFullError when the disk is full (whether
    the OS said ENOSPC, numpy reported a short write, or SQLite said SQLITE_FULL), else a QAError naming
    the file and the reason. Either way the current generation is untouched."""
    full = (
        (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT))
        # numpy's short write: "576416 requested and 528320 written", no errno
        or (isinstance(error, OSError) and error.errno is None and " requested and " in str(error))
        or (isinstance(error, sqlite3.Error) and (getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL
                                                  or "disk is full" in str(error)))
    )
    where = os.path.abspath(index_dir)
    if full:
        try:
            left = f"{_size(shutil.disk_usage(where).free)} free"
        except OSError:
            left = "no space left"
        return DiskFullError(f"The disk holding {where} is full ({left}); the index is as it was. "
                             "Free some space there (or use --index DIR on another disk), then run qa index again.")
    reason = (error.strerror or _first_line(error)) if isinstance(error, OSError) else _first_line(error)
    name = f" ({error.filename})" if isinstance(error, OSError) and error.filename else ""
    return QAError(f"Cannot write the index at {where}: {reason}{name}; the index is as it was. "
                   "Fix that or choose another folder with --index DIR, then run qa index again.")


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def _save_array(path: Path, array: np.ndarray) -> None:
    """Write one array file of a generation (the lowest write of an array this module makes)."""
    np.save(path, array)


def _write_passages(
    path: Path, passages: list[Passage], files: list[SourceFile], texts: dict[str, str],
    sentences: list[tuple[str, int, int, int]], regions: dict[str, list[Region]],
) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript(
            """
            CREATE TABLE passages (
                row INTEGER PRIMARY KEY, file TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
                line_start INTEGER NOT NULL, line_end INTEGER NOT NULL, text TEXT NOT NULL,
                page INTEGER, page_label TEXT, heading TEXT, source_line INTEGER, paragraph INTEGER);
            CREATE TABLE files (
                path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                first_row INTEGER NOT NULL, count INTEGER NOT NULL);
            CREATE TABLE documents (path TEXT PRIMARY KEY, text TEXT NOT NULL);
            CREATE TABLE sentences (row INTEGER PRIMARY KEY, file TEXT NOT NULL, start INTEGER NOT NULL,
                                    end INTEGER NOT NULL, passage INTEGER NOT NULL);
            CREATE TABLE regions (file TEXT NOT NULL, start INTEGER NOT NULL, page INTEGER, page_label TEXT,
                                  heading TEXT, source_line INTEGER, paragraph INTEGER);
            """
        )
        db.executemany(
            f"INSERT INTO passages VALUES (?, {', '.join('?' * len(PASSAGE_COLUMNS))})",
            ((row, *(getattr(p, column) for column in PASSAGE_COLUMNS)) for row, p in enumerate(passages)),
        )
        db.executemany(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
            ((f.path, f.sha256, f.size, f.mtime_ns, f.first_row, f.count) for f in files),
        )
        db.executemany("INSERT INTO documents VALUES (?, ?)", texts.items())
        db.executemany("INSERT INTO sentences VALUES (?, ?, ?, ?, ?)", ((row, *key) for row, key in enumerate(sentences)))
        db.execute("CREATE INDEX sentences_by_span ON sentences (file, start)")
        db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((file, r.start, r.page, r.page_label, r.heading, r.source_line, r.paragraph)
                        for file, found in regions.items() for r in found))
        db.execute("CREATE INDEX regions_by_file ON regions (file, start)")
        db.commit()
    finally:
        db.close()


#: Files up to this size get a CRC-32 of every byte; larger ones (vectors of big corpora) a CRC-32 of
#: 64 blocks spread over the file, so opening a million-passage index stays fast.
FULL_CHECKSUM_BYTES = 256 * 2**20
_SAMPLE_BLOCKS, _SAMPLE_SIZE = 64, 1 << 16


def _checksum(path: Path) -> dict[str, int]:
    """Size and CRC-32 of a file (of sampled blocks when it is large): catches truncation and damage."""
    size = path.stat().st_size
    crc = 0
    with open(path, "rb") as handle:
        if size <= FULL_CHECKSUM_BYTES:
            for block in iter(lambda: handle.read(1 << 24), b""):
                crc = zlib.crc32(block, crc)
            return {"size": size, "crc32": crc}
        for i in range(_SAMPLE_BLOCKS):
            handle.seek(max(size - _SAMPLE_SIZE, 0) * i // (_SAMPLE_BLOCKS - 1))
            crc = zlib.crc32(handle.read(_SAMPLE_SIZE), crc)
    return {"size": size, "sampled_crc32": crc}


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link `source` at `target`, or copy it where the file system cannot link."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading --------------------------------------------------------------------


class StoredIndex:
    """A read-only view of the current generation of an index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._texts: dict[str, str] = {}   # a few recently used document texts
        pointer = index_dir / CURRENT
        if not pointer.is_file():
            raise NoIndexError(f"No index at {index_dir}. Build one with: qa index --index {index_dir} [PATH ...]")
        name = pointer.read_text(encoding="utf-8").strip()
        self.folder = index_dir / name
        if not name.startswith("gen-") or "/" in name or not self.folder.is_dir():
            raise IndexFormatError(f"The index at {index_dir} is damaged (CURRENT names no index). {_rebuild_hint(index_dir)}")
        self.manifest = self._read_manifest()
        self.settings = self.manifest.settings
        self.root: str = self.manifest.root
        self._check_files()
        try:
            self._db = sqlite3.connect(f"file:{self.folder / PASSAGES}?mode=ro", uri=True, check_same_thread=False)
            self.size = int(self._db.execute("SELECT count(*) FROM passages").fetchone()[0])
            self.files = [SourceFile(*row) for row in self._db.execute(
                "SELECT path, sha256, size, mtime_ns, first_row, count FROM files ORDER BY first_row")]
            self.vectors = self._read_vectors()
            self.sentence_vectors = self._read_sentence_vectors()
            self.bm25 = BM25.load(self.folder, self.size, self.settings.bm25_terms)
        except (sqlite3.DatabaseError, ValueError, OSError, json.JSONDecodeError) as error:
            raise IndexFormatError(
                f"The index at {index_dir} is damaged ({_first_line(error)}). {_rebuild_hint(index_dir)}"
            ) from None
        if self.size != self.manifest.passages:
            raise IndexFormatError(f"The index at {index_dir} is damaged (passage count). {_rebuild_hint(index_dir)}")

    def _read_manifest(self) -> Manifest:
        try:
            return Manifest.read(self.folder)
        except FormatMismatch as mismatch:
            raise IndexFormatError(
                f"The index at {self.index_dir} has format {mismatch.version!r}; this qa reads format {FORMAT_VERSION}. "
                f"{_rebuild_hint(self.index_dir)}"
            ) from None
        except (OSError, ManifestError) as error:
            raise IndexFormatError(
                f"The index at {self.index_dir} is damaged (manifest: {_first_line(error)}). {_rebuild_hint(self.index_dir)}"
            ) from None

    def _check_files(self) -> None:
        """Every file the manifest lists is there with its size; its checksum is checked now, or, for the
        files only dense search reads (model, FAISS), by `verify` just before they are loaded."""
        checksums = self.manifest.checksums
        if PASSAGES not in checksums:
            raise IndexFormatError(f"The index at {self.index_dir} is damaged (manifest lists no files). "
                                   f"{_rebuild_hint(self.index_dir)}")
        for name in checksums:
            self.verify(name, content=name not in LOADED_LATER)

    def verify(self, name: str, content: bool = True) -> None:
        """Raise IndexFormatError unless `name` has the size (and checksum) the manifest recorded."""
        expected = self.manifest.checksums.get(name)
        path = self.folder / name
        if not isinstance(expected, dict) or "/" in name:
            problem = "has a bad checksum entry"
        elif not path.is_file() or path.stat().st_size != expected.get("size"):
            problem = "is missing" if not path.is_file() else "has the wrong size"
        elif content and _checksum(path) != expected:
            problem = "is corrupted"
        else:
            return
        raise IndexFormatError(
            f"The index at {self.index_dir} is damaged ({name} {problem}). {_rebuild_hint(self.index_dir)}"
        )

    def _read_vectors(self) -> np.ndarray | None:
        path = self.folder / VECTORS
        if not path.is_file():
            return None
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        dimension = self.manifest.model.dimension if self.manifest.model else None
        if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape != (self.size, dimension):
            raise ValueError(f"vectors have shape {vectors.shape}, expected ({self.size}, {dimension})")
        return vectors

    def _read_sentence_vectors(self) -> np.ndarray | None:
        path = self.folder / SENTENCE_VECTORS
        if not path.is_file():
            return None
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        count = int(self._db.execute("SELECT count(*) FROM sentences").fetchone()[0])
        if vectors.dtype != np.float16 or vectors.ndim != 2 or vectors.shape[0] != count:
            raise ValueError(f"sentence vectors have shape {vectors.shape}, expected {count} rows")
        return vectors

    def sentences_in(self, file: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """`(row, start, end)` of the stored sentences within a span of a file, in order; a sentence that
        overlapping passages share comes once, with the vector from the first passage holding it."""
        return list(self._db.execute(
            "SELECT min(row), start, end FROM sentences WHERE file = ? AND start >= ? AND end <= ? "
            "GROUP BY start, end ORDER BY start, end", (file, start, end)))

    def input_keys(self) -> tuple[list[bytes], list[slice]] | None:
        """Per passage row, the digest of what was embedded and the slice of its sentence rows (None for
        an index written before they were recorded)."""
        path = self.folder / KEYS
        if not path.is_file():
            return None
        keys = np.load(path, allow_pickle=False)
        if keys.shape != (self.size,) or keys.dtype.kind != "S":
            raise IndexFormatError(f"The index at {self.index_dir} is damaged ({KEYS}). {_rebuild_hint(self.index_dir)}")
        passages = np.fromiter((r[0] for r in self._db.execute("SELECT passage FROM sentences ORDER BY row")),
                               dtype=np.int64)
        ends = np.cumsum(np.bincount(passages, minlength=self.size)) if len(passages) else np.zeros(self.size, int)
        starts = np.concatenate([[0], ends[:-1]]) if self.size else ends
        # numpy's bytes dtype drops trailing NUL bytes when an item is read: pad each digest back to its width.
        width = keys.dtype.itemsize
        return [bytes(k).ljust(width, b"\0") for k in keys], [slice(int(a), int(b)) for a, b in zip(starts, ends)]

    def passages(self, rows: list[int]) -> list[Passage]:
        """The passages at `rows`, in that order."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            row: Passage(*rest)
            for row, *rest in self._db.execute(
                f"SELECT row, {', '.join(PASSAGE_COLUMNS)} FROM passages WHERE row IN ({marks})", rows
            )
        }
        return [found[row] for row in rows]

    def document_text(self, path: str) -> str:
        """The full text of an indexed file, as it was read."""
        if path not in self._texts:
            row = self._db.execute("SELECT text FROM documents WHERE path = ?", (path,)).fetchone()
            self._texts[path] = row[0] if row else ""
            while len(self._texts) > 64:
                self._texts.pop(next(iter(self._texts)))
        return self._texts[path]

    def regions(self, path: str) -> list[Region]:
        """Where each part of a file's extracted text came from (pages, blocks), in text order."""
        return [Region(*row) for row in self._db.execute(
            "SELECT start, page, page_label, heading, source_line, paragraph FROM regions WHERE file = ? ORDER BY start",
            (path,))]

    def region_at(self, path: str, offset: int) -> Region | None:
        """Where the text of `path` at `offset` came from (None when its reader recorded nothing there)."""
        row = self._db.execute(
            "SELECT start, page, page_label, heading, source_line, paragraph FROM regions WHERE file = ? AND start <= ? "
            "ORDER BY start DESC LIMIT 1", (path, offset)).fetchone()
        return Region(*row) if row else None

    def all_passages(self) -> list[Passage]:
        """Every passage, in row order."""
        return [Passage(*r) for r in self._db.execute(
            f"SELECT {', '.join(PASSAGE_COLUMNS)} FROM passages ORDER BY row")]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
