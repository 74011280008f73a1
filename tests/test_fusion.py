"""Reciprocal-rank fusion of the dense and BM25 rankings (qa/search/fusion.py), checked by hand-computed scores.

Written for the mutation run (tests/README.md, "Mutation testing"): no other test looks at fusion's numbers,
so a changed rank base, constant, weight or tie order went unnoticed.
"""

from __future__ import annotations

import pytest

from qa.config import SearchSettings
from qa.search.fusion import fuse


def test_each_ranking_adds_weight_over_rrf_k_plus_rank_from_one():
    dense = [(7, 0.9), (3, 0.8)]
    sparse = [(3, 12.0), (5, 4.0)]
    fused = dict(fuse(dense, sparse, SearchSettings(rrf_k=60)))
    assert fused[7] == pytest.approx(1 / 61)                 # dense rank 1 only
    assert fused[3] == pytest.approx(1 / 62 + 1 / 61)       # dense rank 2 and BM25 rank 1: both add
    assert fused[5] == pytest.approx(1 / 62)                 # BM25 rank 2 only
    assert set(fused) == {3, 5, 7}


def test_the_scores_themselves_do_not_matter_only_the_ranks():
    """A BM25 score of 900 weighs no more than one of 0.1: only the place in each list counts."""
    a = fuse([(1, 0.5), (2, 0.4)], [(2, 900.0), (1, 0.1)])
    b = fuse([(1, 0.99), (2, 0.01)], [(2, 0.2), (1, 0.1)])
    assert a == b


def test_best_first_and_ties_broken_by_row():
    # Rows 4 and 9 each hold rank 1 of one list and nothing else: equal scores, the lower row first.
    assert [row for row, _ in fuse([(9, 1.0)], [(4, 1.0)])] == [4, 9]
    assert [row for row, _ in fuse([(4, 1.0)], [(9, 1.0)])] == [4, 9]
    # A row in both lists beats a row ranked first in one.
    ranking = fuse([(1, 0.9), (2, 0.8)], [(2, 5.0), (3, 4.0)])
    assert [row for row, _ in ranking] == [2, 1, 3]
    scores = [score for _, score in ranking]
    assert scores == sorted(scores, reverse=True)


def test_the_weights_and_the_constant_come_from_the_settings():
    dense, sparse = [(1, 0.9)], [(2, 3.0)]
    settings = SearchSettings(rrf_k=10, dense_weight=2.0, bm25_weight=0.5)
    fused = dict(fuse(dense, sparse, settings))
    assert fused[1] == pytest.approx(2.0 / 11)
    assert fused[2] == pytest.approx(0.5 / 11)
    # With BM25 weighted up instead, its first row leads.
    assert fuse(dense, sparse, SearchSettings(dense_weight=0.5, bm25_weight=2.0))[0][0] == 2
    # The default settings weigh both sides alike, with the constant 60.
    assert dict(fuse(dense, sparse))[1] == pytest.approx(1 / 61) == dict(fuse(dense, sparse))[2]


def test_an_empty_side_leaves_the_other_ranking_in_its_order():
    dense = [(5, 0.9), (2, 0.7), (8, 0.1)]
    assert [row for row, _ in fuse(dense, [])] == [5, 2, 8]
    assert [row for row, _ in fuse([], dense)] == [5, 2, 8]
    assert fuse([], []) == []
