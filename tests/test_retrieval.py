"""Retrieval quality on the seeds with the real model."""

from __future__ import annotations


import pytest

from qa.config import SearchSettings
from qa.evaluate import evaluate, first_answer, load_questions, normalise
from qa.index import Index
from tests.conftest import REPO, SEEDS

OWN = load_questions(REPO / "tests" / "retrieval.jsonl")
DEV_FILE = REPO.parent / "shared" / "dev-questions.jsonl"
DEV = load_questions(DEV_FILE) if DEV_FILE.is_file() else []
LARGE = load_questions(REPO / "tests" / "questions.jsonl")
#: Without the shared development set, its questions show up as one visible skip, not as nothing.
NO_DEV = [] if DEV else [pytest.param(None, id="dev-questions",
                                      marks=pytest.mark.skip(reason=f"{DEV_FILE} is not beside the repository"))]


@pytest.mark.parametrize("question", [q for q in OWN + LARGE + DEV if q.gold] + NO_DEV, ids=lambda q: q.id)
def test_gold_phrases_are_in_the_seeds(question):
    for file, phrase in question.gold:
        assert normalise(phrase) in normalise((SEEDS / file).read_text(encoding="utf-8"))


@pytest.mark.parametrize("question", [q for q in OWN + DEV if q.gold] + NO_DEV, ids=lambda q: q.id)
def test_hybrid_answers_within_the_top_5(index, question):
    hits = index.search(question.question, k=5, mode="hybrid")
    assert first_answer(hits, question.gold) is not None, [h.citation for h in hits]


def test_hybrid_is_at_least_as_good_as_either_side_on_the_large_set(index):
    """A floor on a set the search defaults were tuned on (tests/bench/tune.py reads questions.jsonl): "not worse
    than either side" guards against a regression, it is no evidence that fusion helps. The strict comparisons
    are on the validation sets (test_heldout.py, test_heldout_pydoc.py)."""
    scores = evaluate(index, LARGE)
    hybrid, dense, bm25 = scores["hybrid"], scores["dense"], scores["bm25"]
    assert hybrid.answerable >= 40
    assert hybrid.recall(5) >= 0.85
    assert hybrid.mrr() >= max(dense.mrr(), bm25.mrr())


@pytest.mark.parametrize("question_id", ["q-12", "q-49"])
def test_hybrid_puts_first_what_each_side_alone_ranks_lower(index, question_id):
    """Neither dense nor BM25 alone ranks these answers first; reciprocal-rank fusion of the two does (fails with
    BM25 weight 0 in the fusion: dense q-12 rank 2, q-49 rank 3; the default learned ranker puts q-49 second). questions.jsonl is a tuning set: these two cases show the mechanism,
    the validation sets show that it pays (test_heldout.py, test_heldout_pydoc.py).

    (At top-5 there is no such case on the seeds: every answer one side misses, the other finds.)
    """
    question = next(q for q in LARGE if q.id == question_id)
    fused = Index(index.stored, search=SearchSettings(fusion="rrf"))
    ranks = {mode: first_answer(fused.search(question.question, k=10, mode=mode), question.gold)
             for mode in ("dense", "bm25", "hybrid")}
    assert ranks["hybrid"] == 1
    assert (ranks["dense"] or 99) > 1 and (ranks["bm25"] or 99) > 1
