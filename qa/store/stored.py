"""Reading one generation of an index: a read-only view of the current one, checked against its manifest,
running no code from it (no pickle; arrays loaded with allow_pickle=False)."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import READ_FORMATS
from qa.errors import IndexFormatError, NoIndexError
from qa.ingest.split import Passage
from qa.search.bm25 import BM25
from qa.sources.document import Region
from qa.store.layout import (
    CURRENT, KEYS, LOADED_LATER, PASSAGE_COLUMNS, PASSAGES, VECTORS, SourceFile, checksum, first_line,
    rebuild_hint,
)
from qa.store.manifest import FormatMismatch, Manifest, ManifestError
from qa.store.sentences import SentenceVectors


#: Passages kept in memory after they were read (a few hundred questions' candidates).
PASSAGE_CACHE = 4096


class StoredIndex:
    """A read-only view of the current generation of an index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._texts: dict[str, str] = {}   # a few recently used document texts
        #: recently read passages by row: a question's candidates are read by the ranker, by collapsing and by
        #: the verdict, and a warm server sees the same passages again (PASSAGE_CACHE of them, oldest dropped)
        self._passages: dict[int, Passage] = {}
        self._passages_lock = threading.Lock()
        self._sentence_spans: tuple[np.ndarray, np.ndarray] | None = None
        pointer = index_dir / CURRENT
        if not pointer.is_file():
            raise NoIndexError(f"No index at {index_dir}. Build one with: qa index --index {index_dir} [PATH ...]")
        name = pointer.read_text(encoding="utf-8").strip()
        self.folder = index_dir / name
        if not name.startswith("gen-") or "/" in name or not self.folder.is_dir():
            raise IndexFormatError(f"The index at {index_dir} is damaged (CURRENT names no index). {rebuild_hint(index_dir)}")
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
                f"The index at {index_dir} is damaged ({first_line(error)}). {rebuild_hint(index_dir)}"
            ) from None
        if self.size != self.manifest.passages:
            raise IndexFormatError(f"The index at {index_dir} is damaged (passage count). {rebuild_hint(index_dir)}")

    def _read_manifest(self) -> Manifest:
        try:
            return Manifest.read(self.folder)
        except FormatMismatch as mismatch:
            raise IndexFormatError(
                f"The index at {self.index_dir} has format {mismatch.version!r}; "
                f"this qa reads formats {', '.join(map(str, READ_FORMATS))}. "
                f"{rebuild_hint(self.index_dir)}"
            ) from None
        except (OSError, ManifestError) as error:
            raise IndexFormatError(
                f"The index at {self.index_dir} is damaged (manifest: {first_line(error)}). {rebuild_hint(self.index_dir)}"
            ) from None

    def _check_files(self) -> None:
        """Every file the manifest lists is there with its size; its checksum is checked now, or, for the
        files only dense search reads (model, FAISS), by `verify` just before they are loaded."""
        checksums = self.manifest.checksums
        if PASSAGES not in checksums:
            raise IndexFormatError(f"The index at {self.index_dir} is damaged (manifest lists no files). "
                                   f"{rebuild_hint(self.index_dir)}")
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
        elif content and checksum(path) != expected:
            problem = "is corrupted"
        else:
            return
        raise IndexFormatError(
            f"The index at {self.index_dir} is damaged ({name} {problem}). {rebuild_hint(self.index_dir)}"
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

    def _read_sentence_vectors(self) -> SentenceVectors | None:
        count = int(self._db.execute("SELECT count(*) FROM sentences").fetchone()[0])
        return SentenceVectors.load(self.folder, count)

    def sentences_in(self, file: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """`(row, start, end)` of the stored sentences within a span of a file, in order; a sentence that
        overlapping passages share comes once, with the vector from the first passage holding it."""
        return list(self._db.execute(
            "SELECT min(row), start, end FROM sentences WHERE file = ? AND start >= ? AND end <= ? "
            "GROUP BY start, end ORDER BY start, end", (file, start, end)))

    def sentence_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Per passage row, its first row in the sentence vectors and how many it has (a passage's sentences
        are stored together, in order); read once, on first use (a fifth of a second per million sentences)."""
        if self._sentence_spans is None:
            first, count = np.zeros(self.size, dtype=np.int64), np.zeros(self.size, dtype=np.int64)
            found = np.array(self._db.execute(
                "SELECT passage, min(row), count(*) FROM sentences GROUP BY passage").fetchall(), dtype=np.int64)
            if len(found):
                found = found[(found[:, 0] >= 0) & (found[:, 0] < self.size)]
                first[found[:, 0]], count[found[:, 0]] = found[:, 1], found[:, 2]
            self._sentence_spans = first, count
        return self._sentence_spans

    def input_keys(self) -> tuple[list[bytes], list[slice]] | None:
        """Per passage row, the digest of what was embedded and the slice of its sentence rows (None for
        an index written before they were recorded)."""
        path = self.folder / KEYS
        if not path.is_file():
            return None
        keys = np.load(path, allow_pickle=False)
        if keys.shape != (self.size,) or keys.dtype.kind != "S":
            raise IndexFormatError(f"The index at {self.index_dir} is damaged ({KEYS}). {rebuild_hint(self.index_dir)}")
        passages = np.fromiter((r[0] for r in self._db.execute("SELECT passage FROM sentences ORDER BY row")),
                               dtype=np.int64)
        ends = np.cumsum(np.bincount(passages, minlength=self.size)) if len(passages) else np.zeros(self.size, int)
        starts = np.concatenate([[0], ends[:-1]]) if self.size else ends
        # numpy's bytes dtype drops trailing NUL bytes when an item is read: pad each digest back to its width.
        width = keys.dtype.itemsize
        return [bytes(k).ljust(width, b"\0") for k in keys], [slice(int(a), int(b)) for a, b in zip(starts, ends)]

    def passages(self, rows: list[int]) -> list[Passage]:
        """The passages at `rows`, in that order."""
        with self._passages_lock:
            known = {row: self._passages[row] for row in rows if row in self._passages}
        missing = [row for row in dict.fromkeys(rows) if row not in known]
        if missing:
            marks = ",".join("?" * len(missing))
            read = {
                row: Passage(*rest)
                for row, *rest in self._db.execute(
                    f"SELECT row, {', '.join(PASSAGE_COLUMNS)} FROM passages WHERE row IN ({marks})", missing
                )
            }
            known.update(read)
            with self._passages_lock:
                self._passages.update(read)
                for old in list(self._passages)[: max(0, len(self._passages) - PASSAGE_CACHE)]:
                    del self._passages[old]
        return [known[row] for row in rows]

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

    # --- whole tables, for a build that carries unchanged files over ----------------------------------

    def sentence_rows(self) -> list[tuple[str, int, int, int]]:
        """Every stored sentence as (file, start, end, passage row), in row order (row = sentence vector row)."""
        rows: list[tuple[str, int, int, int]] = self._db.execute(
            "SELECT file, start, end, passage FROM sentences ORDER BY row").fetchall()   # the columns' own types
        return rows

    def texts(self) -> dict[str, str]:
        """The text of every indexed file, by path."""
        return {str(path): str(text) for path, text in self._db.execute("SELECT path, text FROM documents")}

    def all_regions(self) -> dict[str, list[Region]]:
        """Where each part of every file's text came from, by path, in text order."""
        found: dict[str, list[Region]] = {}
        for file, *rest in self._db.execute(
                "SELECT file, start, page, page_label, heading, source_line, paragraph FROM regions "
                "ORDER BY file, start, rowid"):
            found.setdefault(file, []).append(Region(*rest))
        return found


@dataclass(frozen=True)
class IndexUpdate:
    """What changed when an open index switched to a newer generation."""

    files_changed: int
    passages: int

    def describe(self) -> str:
        """`index updated: 3 files changed, 41,230 passages`"""
        files = "file" if self.files_changed == 1 else "files"
        return f"index updated: {self.files_changed:,} {files} changed, {self.passages:,} passages"
