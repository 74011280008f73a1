"""Writing a generation of an index: every file of it into a temporary folder, then made current in one
rename, so a reader sees the old generation or the new one, never a part (the layout: qa/store/layout.py).

The names callers used from here before the store was split stay importable from here.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import numpy as np

from qa.ingest.split import Passage
from qa.search.bm25 import BM25
from qa.sources.document import Region
from qa.store.layout import (
    CURRENT, KEYS, LOADED_LATER, PASSAGE_COLUMNS, PASSAGES, SENTENCE_SCALES, SENTENCE_VECTORS, VECTORS, Sentences,
    SourceFile, checksum,
)
from qa.store.lock import BuildLock, DiskFullError, clean_leftovers, write_error
from qa.store.manifest import Manifest
from qa.store.ownership import OWNER, claim, make_owned_folder, remove_owned
from qa.store.sentences import quantize
from qa.store.stored import StoredIndex

__all__ = ["CURRENT", "KEYS", "LOADED_LATER", "PASSAGE_COLUMNS", "PASSAGES", "SENTENCE_VECTORS", "VECTORS",
           "BuildLock", "DiskFullError", "Sentences", "SourceFile", "StoredIndex", "clean_leftovers", "link_or_copy",
           "write_error", "write_generation"]


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
        if sentences is not None:   # int8 and a scale per row: enough to pick a sentence, a quarter of the disk
            codes, scales = quantize(sentences[1])
            _save_array(temporary / SENTENCE_VECTORS, codes)
            _save_array(temporary / SENTENCE_SCALES, scales)
        bm25.save(temporary)
        for name, source in (extra or {}).items():
            link_or_copy(source, temporary / name)
        manifest.with_checksums({p.name: checksum(p) for p in sorted(temporary.iterdir()) if p.name != OWNER}
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
