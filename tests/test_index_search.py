"""Index.search ranks only: the hits of Index.answer, without the verdict or the answering sentences
(issue 27: search computed a whole verdict and threw it away)."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa.index
from qa import Index

QUESTIONS = ["What did BGI Genomics set up in Uruguay?", "digital governance", "Who is Yu Xiaohui?"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_gives_the_hits_of_answer_without_judging(fake_seeds_index: Path, fake_model: Path,
                                                         monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    index = Index.open(fake_seeds_index, model=str(fake_model))
    answered = [index.answer(question, k=5, mode=mode) for question in QUESTIONS]

    def no_verdict(*args: object, **kwargs: object) -> None:
        raise AssertionError("search judged the question")

    monkeypatch.setattr(qa.index, "verdict_for", no_verdict)
    monkeypatch.setattr(qa.index, "mark_answers", no_verdict)
    for question, answer in zip(QUESTIONS, answered):
        hits = index.search(question, k=5, mode=mode)
        assert hits, question
        assert [(h.rank, h.citation, h.score) for h in hits] == [(h.rank, h.citation, h.score) for h in answer.hits]


def test_search_many_is_gone() -> None:
    assert not hasattr(Index, "search_many")


def test_passages_read_again_from_memory_are_the_stored_ones(fake_seeds_index: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """StoredIndex keeps recently read passages: rows asked again (in any order, repeated, after others pushed
    them out) give the passages the table holds."""
    import qa.store.stored

    monkeypatch.setattr(qa.store.stored, "PASSAGE_CACHE", 5)
    stored = Index.open(fake_seeds_index).stored
    every = stored.all_passages()
    rows = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5]
    for first in range(0, len(rows), 4):
        asked = rows[first : first + 7]
        assert stored.passages(asked) == [every[row] for row in asked]
    assert len(stored._passages) <= 5
