"""Dense search: FAISS inner product over normalised vectors, exact (flat) or approximate (IVF, IVF-PQ).

FAISS's thread count is the process's: this module never sets it (the `qa` program sets it once when it
starts, qa.startup.configure).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import UsageError

if TYPE_CHECKING:
    import faiss


#: Below this many passages, dense search is exact (a flat scan); above, an inverted-file index.
EXACT_LIMIT = 200_000
#: From this many passages the automatic choice compresses the vectors (IVF-PQ): IVF-Flat keeps 1.5 KB a
#: passage in memory (3 GB at 2M), IVF-PQ 48 bytes (plus the float vectors on disk for re-scoring).
COMPRESSED_LIMIT = 2_000_000
APPROXIMATE_FILE = "faiss.ivf"
#: Dense index kinds: a flat exact scan, IVF over the float vectors, IVF over product-quantised codes.
DENSE_KINDS = ("flat", "ivf", "ivfpq")
#: IVF-PQ codes: sub-quantisers per vector (48 x 8 bits = 48 bytes), and candidates re-scored exactly
#: against the float vectors, as a multiple of those asked for.
PQ_SUBQUANTIZERS = 48
PQ_REFINE = 8


def dense_kind(requested: str, size: int) -> str:
    """The dense index kind for `size` passages: `requested`, or by size when it is "auto"."""
    if requested != "auto":
        if requested not in DENSE_KINDS:
            raise UsageError(f"Unknown dense index kind {requested!r}; choose one of auto, {', '.join(DENSE_KINDS)}.")
        return requested
    return "flat" if size < EXACT_LIMIT else "ivf" if size < COMPRESSED_LIMIT else "ivfpq"


class DenseIndex:
    """Inner-product search over normalised vectors: exact for small corpora, IVF for large ones."""

    def __init__(self, index: faiss.Index, vectors: np.ndarray | None = None, refine: int = 1) -> None:
        self._index = index
        self._vectors = vectors    # float vectors to re-score `refine` x the candidates with (IVF-PQ)
        self._refine = refine

    @classmethod
    def exact(cls, vectors: np.ndarray) -> DenseIndex:
        """A flat index over `vectors` (built in memory at open)."""
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path, nprobe: int, vectors: np.ndarray | None = None, refine: int = 1) -> DenseIndex:
        """An approximate index written by `build_approximate`, memory-mapped (FAISS's own format, no pickle).

        With `vectors` (memory-mapped), `refine` x the candidates asked for are re-scored exactly."""
        import faiss

        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        faiss.extract_index_ivf(index).nprobe = nprobe
        return cls(index, vectors, refine if vectors is not None else 1)

    @staticmethod
    def build_approximate(vectors: np.ndarray, path: Path, kind: str = "ivf") -> dict[str, object]:
        """Train and write an IVF-Flat ("ivf") or IVF-PQ ("ivfpq") index of `vectors`; returns the manifest entry."""
        import faiss

        n, dimension = vectors.shape
        lists = max(1, min(int(4 * np.sqrt(n)), n))   # never more lists than points to train them
        quantizer = faiss.IndexFlatIP(dimension)
        entry: dict[str, object] = {"kind": kind, "lists": lists, "nprobe": APPROXIMATE_NPROBE}
        index: faiss.IndexIVF
        if kind == "ivfpq":
            subquantizers = next(m for m in (PQ_SUBQUANTIZERS, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1) if dimension % m == 0)
            bits = int(min(8, max(1, np.log2(max(n, 2)) - 1)))   # a tiny corpus cannot train 256 centroids
            index = faiss.IndexIVFPQ(quantizer, dimension, lists, subquantizers, bits, faiss.METRIC_INNER_PRODUCT)
            entry.update(pq=[subquantizers, bits], refine=PQ_REFINE)
            sample_size = min(n, max(40 * lists, 100 * 2**bits))
        else:
            index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
            sample_size = min(n, 40 * lists)
        index.cp.min_points_per_centroid = 1   # a small corpus trains fewer points a list: no warning on stderr
        sample = np.random.default_rng(0).choice(n, size=sample_size, replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        for start in range(0, n, 100_000):
            index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
        faiss.write_index(index, str(path))
        return entry

    def top(self, queries: np.ndarray, depth: int) -> list[list[tuple[int, float]]]:
        """For each query vector, the best `depth` rows and their cosine similarities."""
        depth = min(depth, self._index.ntotal)
        if depth == 0:
            return [[] for _ in range(len(queries))]
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self._vectors is not None:
            return [self._rescored(query, depth) for query in queries]
        scores, rows = self._index.search(queries, depth)
        return [
            [(int(r), float(s)) for r, s in zip(row_ids, row_scores) if r >= 0]
            for row_ids, row_scores in zip(rows, scores)
        ]

    def _rescored(self, query: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """The best `depth` of `refine` x `depth` approximate candidates, by exact cosine to the float vectors."""
        assert self._vectors is not None
        _, rows = self._index.search(query[None, :], min(depth * self._refine, self._index.ntotal))
        candidates = np.unique(rows[0][rows[0] >= 0])
        scores = np.asarray(self._vectors[candidates], dtype=np.float32) @ query
        best = np.argsort(-scores, kind="stable")[:depth]
        return [(int(candidates[i]), float(scores[i])) for i in best]


#: Inverted lists probed per query (chosen by the benchmark for recall@10 >= 0.98 against exact search).
APPROXIMATE_NPROBE = 32
