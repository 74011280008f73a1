"""Ranking: dense (FAISS inner product), BM25, and their reciprocal-rank fusion."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.config import SearchSettings
from qa.passages import Passage

if TYPE_CHECKING:
    from qa.verdict import Verdict


@dataclass(frozen=True)
class Hit:
    """One answer: a passage, where it ranked, and why."""

    rank: int
    score: float
    mode: str                 # the search that produced the ranking: dense, bm25 or hybrid
    passage: Passage
    path: str                 # the source file as a user can open it
    dense_rank: int | None = None
    dense_score: float | None = None
    bm25_rank: int | None = None
    bm25_score: float | None = None
    answer_start: int | None = None   # the sentence that best answers, as source-file offsets
    answer_end: int | None = None
    also_in: tuple[str, ...] = ()     # citations of copies of this passage in other places

    @property
    def citation(self) -> str:
        """The openable path and the passage's locator (`path:12-18`, `page.html:212 § Heading`, `a.pdf p. iv`...);
        `qa show CITATION` prints it with its context."""
        return f"{self.path}{self.passage.locator}"


@dataclass(frozen=True)
class Answer:
    """The hits for one question, and whether they answer it."""

    question: str
    mode: str
    hits: list[Hit]
    #: Whether the documents answer the question, by the verdict (None: not judged).
    answered: bool | None = None
    #: Cosine similarity of the question to the best sentence of the top passages (None without a model).
    confidence: float | None = None
    #: The verdict: calibrated answer_confidence and the reasons (None: not judged).
    verdict: Verdict | None = None

    @property
    def answer_confidence(self) -> float | None:
        """The estimated chance that the top passages answer the question (None: not judged)."""
        return None if self.verdict is None else self.verdict.answer_confidence


def merged(first: Passage, second: Passage, source: str) -> Passage:
    """One passage spanning two overlapping or adjacent passages of the same file."""
    start, end = min(first.start, second.start), max(first.end, second.end)
    earlier = first if first.start <= second.start else second     # its locator (page, heading...) is the citation's
    return replace(earlier, start=start, end=end, line_start=min(first.line_start, second.line_start),
                   line_end=max(first.line_end, second.line_end), text=source[start:end])


#: Below this many passages, dense search is exact (a flat scan); above, an inverted-file index.
EXACT_LIMIT = 200_000
APPROXIMATE_FILE = "faiss.ivf"


class DenseIndex:
    """Inner-product search over normalised vectors: exact for small corpora, IVF for large ones."""

    def __init__(self, index: object) -> None:
        self._index = index

    @classmethod
    def exact(cls, vectors: np.ndarray) -> DenseIndex:
        """A flat index over `vectors` (built in memory at open)."""
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path, nprobe: int) -> DenseIndex:
        """An approximate index written by `build_approximate`, memory-mapped (FAISS's own format, no pickle)."""
        import faiss

        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        index.nprobe = nprobe
        return cls(index)

    @staticmethod
    def build_approximate(vectors: np.ndarray, path: Path) -> dict[str, int]:
        """Train and write an IVF-Flat index of `vectors`; returns its parameters for the manifest."""
        import faiss

        n, dimension = vectors.shape
        lists = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(n, size=min(n, 40 * lists), replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        for start in range(0, n, 100_000):
            index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
        faiss.write_index(index, str(path))
        return {"lists": lists, "nprobe": APPROXIMATE_NPROBE}

    def top(self, queries: np.ndarray, depth: int) -> list[list[tuple[int, float]]]:
        """For each query vector, the best `depth` rows and their cosine similarities."""
        depth = min(depth, self._index.ntotal)
        if depth == 0:
            return [[] for _ in range(len(queries))]
        scores, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
        return [
            [(int(r), float(s)) for r, s in zip(row_ids, row_scores) if r >= 0]
            for row_ids, row_scores in zip(rows, scores)
        ]


#: Inverted lists probed per query (chosen by the benchmark for recall@10 >= 0.98 against exact search).
APPROXIMATE_NPROBE = 32


def fuse(
    dense: list[tuple[int, float]],
    sparse: list[tuple[int, float]],
    settings: SearchSettings = SearchSettings(),
) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: each list adds weight / (rrf_k + rank) for every row it ranks."""
    fused: dict[int, float] = {}
    for ranking, weight in ((dense, settings.dense_weight), (sparse, settings.bm25_weight)):
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (settings.rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
