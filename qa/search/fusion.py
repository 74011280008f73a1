"""Hybrid ranking: reciprocal-rank fusion of the dense and BM25 rankings."""

from __future__ import annotations

from qa.config import SearchSettings


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
