"""Retrieval quality on held-out questions: written from the seeds for this test, never read by tuning.

tests/heldout.jsonl holds 31 questions a user might ask about seeds/, in words of their own (not the
documents' phrasing where a user would not know it), each with the file and a phrase of the passage that
answers it. They were written by reading seeds/, not from retrieval output, and tests/bench/tune.py and
fit_verdict.py refuse to read them, so the defaults in qa/config.py were never chosen on them.
"""

from __future__ import annotations

import runpy

import pytest

from qa.evaluate import evaluate, load_questions, normalise
from tests.conftest import REPO, SEEDS

HELD_OUT = REPO / "tests" / "heldout.jsonl"
QUESTIONS = load_questions(HELD_OUT)


def test_the_held_out_set_is_large_and_its_answers_are_in_the_seeds():
    assert len(QUESTIONS) >= 25 and all(q.gold for q in QUESTIONS)
    for question in QUESTIONS:
        for file, phrase in question.gold:
            assert normalise(phrase) in normalise((SEEDS / file).read_text(encoding="utf-8")), question.id
    others = {q.question for name in ("questions.jsonl", "retrieval.jsonl", "unanswerable.jsonl")
              for q in load_questions(REPO / "tests" / name)}
    assert not others & {q.question for q in QUESTIONS}


def test_hybrid_retrieval_on_held_out_questions(index):
    scores = evaluate(index, QUESTIONS, judge=False)
    hybrid, dense, bm25 = scores["hybrid"], scores["dense"], scores["bm25"]
    assert hybrid.answerable == len(QUESTIONS)
    assert hybrid.recall(5) >= 0.9, hybrid.misses
    assert hybrid.recall(1) >= 0.85, hybrid.misses       # measured 0.935; BM25 alone 0.839, dense alone 0.774
    assert hybrid.mrr() > max(dense.mrr(), bm25.mrr()), "fusion beats each side alone"


@pytest.mark.parametrize("script", ["tune.py", "fit_verdict.py"])
def test_tuning_scripts_never_read_the_held_out_set(script):
    names = runpy.run_path(str(REPO / "tests" / "bench" / script), run_name="not_main")
    sets = names["SETS"].values() if isinstance(names["SETS"], dict) else names["SETS"]
    assert HELD_OUT.resolve() not in {path.resolve() for path in sets}
    assert names["HELD_OUT"].resolve() == HELD_OUT.resolve(), "the script names the set it refuses"


def test_tune_refuses_the_held_out_set(monkeypatch):
    names = runpy.run_path(str(REPO / "tests" / "bench" / "tune.py"), run_name="not_main")
    names["SETS"]["held-out"] = HELD_OUT
    with pytest.raises(SystemExit, match="held-out"):
        names["question_sets"]()
