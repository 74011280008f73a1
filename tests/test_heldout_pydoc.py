"""Retrieval quality per kind of question on held-out questions over real documentation, with the real model.

tests/bench/questions/pydoc-heldout.jsonl holds 39 questions over the Python 3.11 library reference and
tutorial (paraphrase, keyword, lookup, numeric, multi), never read by tuning. The whole corpus (10,000
passages) is too slow for the suite; tests/pydoc-slice/ (written by tests/bench/pydoc_slice.py, PSF
License text) keeps the sections that answer them, their neighbouring sections as near misses, and whole
pages no question points to: about 450 passages, indexed once per run. tests/bench/quality_by_kind.py
prints the same table on the whole corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Index
from qa.evaluate import Scores, evaluate, load_questions, normalise
from tests.conftest import REPO

SLICE = REPO / "tests" / "pydoc-slice"
QUESTIONS = load_questions(REPO / "tests" / "bench" / "questions" / "pydoc-heldout.jsonl")
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


def test_hybrid_against_each_side_alone(slice_index):
    scores = _scores(slice_index)
    hybrid, dense, bm25 = scores["hybrid"], scores["dense"], scores["bm25"]
    assert hybrid.recall(5) >= 0.85 and hybrid.mrr() >= 0.8, hybrid.misses   # measured 0.897 and 0.835
    assert hybrid.recall(1) >= max(dense.recall(1), bm25.recall(1))         # 0.77; dense 0.74, bm25 0.59
    assert hybrid.mrr() > bm25.mrr()
    # Dense alone ranks a little better on MRR here (0.846 against 0.835), and on the whole corpus's held-out
    # questions too (0.597 against 0.550; on its tune questions hybrid is ahead, 0.542 against 0.458): at
    # size, fusing in BM25 costs paraphrase questions (tests/bench/questions/README.md). Hence no strict
    # "hybrid >= dense" on MRR; a larger drop fails.
    assert hybrid.mrr() >= dense.mrr() - 0.03
