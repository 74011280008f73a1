"""Sentence vectors on disk: int8 with one scale per row, a quarter of float32's size.

    codes, scales = quantize(vectors)                 # (sentences, dimension) floats -> int8 rows, a scale each
    vectors = SentenceVectors.load(folder, count)     # vectors[rows]: float32 rows, as they were saved

They pick the answering sentence and give the ranker its strongest feature (the closest sentence's cosine),
so they need order, not precision: a row is scaled so its largest component is 127 and rounded, which
moves a cosine with a unit question vector by at most about 0.002. An index written before (format 3) has
float16 rows and no scales; it is read as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qa.store.layout import SENTENCE_SCALES, SENTENCE_VECTORS


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `vectors` as int8 and a float32 scale each (a zero row gets scale 0)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    largest = np.abs(vectors).max(axis=1) if vectors.size else np.zeros(len(vectors), np.float32)
    scales = (largest / 127.0).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / safe[:, None]), -127, 127).astype(np.int8)
    return codes, scales


class SentenceVectors:
    """A generation's sentence vectors, memory-mapped: indexing returns float32 rows."""

    def __init__(self, codes: np.ndarray, scales: np.ndarray | None) -> None:
        self._codes, self._scales = codes, scales

    @classmethod
    def load(cls, folder: Path, count: int) -> SentenceVectors | None:
        """The vectors in `folder` (None when it has none); ValueError when they do not fit `count` rows."""
        path = folder / SENTENCE_VECTORS
        if not path.is_file():
            return None
        codes = np.load(path, mmap_mode="r", allow_pickle=False)
        if codes.ndim != 2 or codes.shape[0] != count:
            raise ValueError(f"sentence vectors have shape {codes.shape}, expected {count} rows")
        if codes.dtype == np.float16:      # format 3
            return cls(codes, None)
        scales = np.load(folder / SENTENCE_SCALES, mmap_mode="r", allow_pickle=False)
        if codes.dtype != np.int8 or scales.dtype != np.float32 or scales.shape != (count,):
            raise ValueError(f"sentence vectors are {codes.dtype} with {scales.dtype} scales {scales.shape}, "
                             f"expected int8 with float32 scales ({count},)")
        return cls(codes, scales)

    @property
    def shape(self) -> tuple[int, int]:
        rows, dimension = self._codes.shape
        return int(rows), int(dimension)

    def __len__(self) -> int:
        return int(self._codes.shape[0])

    def __getitem__(self, rows: Any) -> np.ndarray:   # Any: what numpy indexes rows with (int, slice, array)
        codes = np.asarray(self._codes[rows], dtype=np.float32)
        if self._scales is None:
            return codes
        scales = np.asarray(self._scales[rows], dtype=np.float32)
        return codes * (scales[..., None] if codes.ndim == 2 else scales)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self[:] if dtype is None else self[:].astype(dtype, copy=False)
