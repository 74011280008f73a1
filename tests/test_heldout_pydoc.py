"""Retrieval quality per kind of question on a validation set over real documentation, with the real model.

tests/bench/questions/pydoc-validation.jsonl holds 39 questions over the Python 3.11 library reference and
tutorial (paraphrase, keyword, lookup, numeric, multi). tune.py never read them, but granularity.py and
search_variants.py did (`--heldout`) to confirm or reject a default: they are a validation set, not a
held-out one, and a number here says how the defaults do on questions they were checked on, not on unseen
ones. The whole corpus (10,000 passages) is too slow for the suite; tests/pydoc-slice/ (written by
tests/bench/pydoc_slice.py, PSF License text) keeps the sections that answer them, their neighbouring
sections as near misses, and whole pages no question points to: about 450 passages, indexed once per run.
tests/bench/quality_by_kind.py prints the same table on the whole corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Index
from qa.evaluate import Scores, evaluate, load_questions, normalise
from tests.conftest import REPO

SLICE = REPO / "tests" / "pydoc-slice"
QUESTIONS = load_questions(REPO / "tests" / "bench" / "questions" / "pydoc-validation.jsonl")
#: The least recall@5 of hybrid search per kind (measured on the slice: keyword 1.0, lookup 1.0,
#: multi 0.67, numeric 1.0, paraphrase 0.80; one question fewer may fail, never two).
RECALL_AT_5 = {"keyword": 0.9, "lookup": 0.83, "multi": 0.66, "numeric": 0.8, "paraphrase": 0.73}


@pytest.fixture(scope="module")
def slice_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder = tmp_path_factory.mktemp("pydoc") / "index"
    Index.build([SLICE], folder)
    return Index.open(folder)


def test_every_answer_is_in_the_slice_and_every_kind_is_asked():
    for question in QUESTIONS:
        for file, phrase in question.gold:
            assert normalise(phrase) in normalise((SLICE / file).read_text(encoding="utf-8")), question.id
    assert {q.kind for q in QUESTIONS} == set(RECALL_AT_5)
    assert sum(f.stat().st_size for f in SLICE.rglob("*.txt")) < 400_000, "the slice stays small"


def _scores(index: Index, kind: str | None = None) -> dict[str, Scores]:
    return evaluate(index, [q for q in QUESTIONS if kind in (None, q.kind)], judge=False)


@pytest.mark.parametrize("kind", sorted(RECALL_AT_5))
def test_hybrid_recall_at_5_per_kind(slice_index, kind):
    hybrid = _scores(slice_index, kind)["hybrid"]
    assert hybrid.recall(5) >= RECALL_AT_5[kind], hybrid.misses


@pytest.fixture(scope="module")
def all_scores(slice_index) -> dict[str, Scores]:
    return _scores(slice_index)


def test_hybrid_against_each_side_alone(all_scores):
    scores = all_scores
    hybrid, dense, bm25 = scores["hybrid"], scores["dense"], scores["bm25"]
    assert hybrid.recall(5) >= 0.85 and hybrid.mrr() >= 0.8, hybrid.misses   # measured 0.897 and 0.867
    assert hybrid.mrr() > bm25.mrr()                                         # bm25 0.761
    # Dense alone ranked a little better on MRR once (and does on the whole corpus: tests/bench/questions/
    # README.md): no strict "hybrid >= dense" on MRR here; a larger drop fails. (Measured: dense 0.825.)
    assert hybrid.mrr() >= dense.mrr() - 0.03


def test_fusion_puts_first_answers_dense_search_alone_does_not(all_scores):
    """What BM25 adds to the default: without it (fusion with BM25 weight 0) hybrid is dense, and this fails.

    Measured: hybrid ranks the answer first for 31 of 39 questions, dense alone 27, BM25 alone 26; hybrid is
    first where dense is not on 5 (pd-10, pd-15, pd-24, pd-44, pd-47), the reverse on 1 (pd-64)."""
    scores = all_scores
    hybrid, dense, bm25 = scores["hybrid"], scores["dense"], scores["bm25"]
    assert hybrid.recall(1) > max(dense.recall(1), bm25.recall(1)), (hybrid.recall(1), dense.recall(1), bm25.recall(1))
    won = sorted(q for q, rank in hybrid.found_at.items() if rank == 1 and dense.found_at[q] != 1)
    lost = sorted(q for q, rank in dense.found_at.items() if rank == 1 and hybrid.found_at[q] != 1)
    assert len(won) >= 3 and len(won) > len(lost), (won, lost)
