"""What a generation of an index is made of: its files' names, its per-file record, and their checksums.

    index/
      .qa-index               marker: this folder is a qa index, and its id (see qa/store/ownership.py)
      CURRENT                 name of the complete generation in use (replaced atomically)
      .lock                   held while a build runs (qa/store/lock.py)
      gen-<time>-<id>/
        .qa-owner             the index's id: only folders carrying it are ever deleted
        manifest.json         format version, model, passage settings, source files, checksums of the rest
        manifest.sha256       SHA-256 of manifest.json
        passages.sqlite       passages (row = vector row), source files, document texts, sentences, regions
        vectors.npy           float32 (passages x dimension), L2-normalised; absent without a model
        sentences.npy         int8 vectors of each passage's sentences (late-chunked), row per sentences row
        sentence_scales.npy   float32 scale of each of those rows
        input_keys.npy        per passage, the digest of what was embedded (vectors are reused by it)
        bm25.*                BM25 vocabulary and sparse weights

The writer is qa/store/generation.py, the reader qa/store/stored.py; both use the names defined here.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.model.embedder import ONNX_FILES
from qa.search.dense import APPROXIMATE_FILE

CURRENT = "CURRENT"
KEYS = "input_keys.npy"
PASSAGES = "passages.sqlite"
VECTORS = "vectors.npy"
SENTENCE_VECTORS = "sentences.npy"         # int8 (float16 in format 3), qa.store.sentences
SENTENCE_SCALES = "sentence_scales.npy"   # float32, one per row: a vector is its int8 row times its scale

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
    mtime_ns: int      # when it was read (0: not known, or too recent to trust: read it again next time)
    first_row: int
    count: int


#: Files up to this size get a CRC-32 of every byte; larger ones (vectors of big corpora) a CRC-32 of
#: 64 blocks spread over the file, so opening a million-passage index stays fast.
FULL_CHECKSUM_BYTES = 256 * 2**20
_SAMPLE_BLOCKS, _SAMPLE_SIZE = 64, 1 << 16


def checksum(path: Path) -> dict[str, int]:
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


def rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it with: qa index --index {index_dir} PATH"


def first_line(error: BaseException) -> str:
    """An exception's message, its first line (its type's name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
