"""Answers that fit a screen: by default the answering sentence with a sentence either side; `--full` the passage."""

from __future__ import annotations

import io

from rich.console import Console

from qa.ingest.split import Passage
from qa.ui.render import answer_renderable
from qa.search.hits import Answer, Hit

SENTENCES = [f"Sentence {n} is about owls number {n}." for n in range(1, 11)]
TEXT = " ".join(SENTENCES)


def render(hit: Hit, full: bool = False, question: str = "owls") -> str:
    buffer = io.StringIO()
    Console(width=1000, file=buffer).print(answer_renderable(Answer(question, "hybrid", [hit]), full=full))
    return buffer.getvalue()


def hit(answer: int | None) -> Hit:
    offset = 1000                                     # passages start anywhere in their file
    passage = Passage("notes.txt", offset, offset + len(TEXT), 7, 7, TEXT)
    if answer is None:
        return Hit(1, 0.5, "hybrid", passage, "notes.txt")
    start = offset + TEXT.index(SENTENCES[answer])
    return Hit(1, 0.5, "hybrid", passage, "notes.txt", answer_start=start, answer_end=start + len(SENTENCES[answer]))


def test_default_shows_the_answer_with_one_sentence_either_side():
    out = render(hit(answer=5))
    assert "notes.txt:7" in out
    assert "[...] Sentence 5 is about owls number 5. Sentence 6 is about owls number 6. " \
           "Sentence 7 is about owls number 7. [...]" in out
    assert "Sentence 4 " not in out and "Sentence 8 " not in out


def test_without_an_answer_the_first_sentences_are_shown():
    out = render(hit(answer=None))
    assert "Sentence 1 is about owls number 1. Sentence 2 is about owls number 2. [...]" in out
    assert "Sentence 3 " not in out


def test_an_answer_at_the_edge_has_no_ellipsis_on_that_side():
    out = render(hit(answer=9))
    assert "[...] Sentence 9 " in out and out.rstrip().endswith("Sentence 10 is about owls number 10.")


def test_full_shows_the_whole_passage():
    out = render(hit(answer=5), full=True)
    assert all(sentence in out for sentence in SENTENCES) and "[...]" not in out


def test_code_keeps_its_indentation():
    code = "def count(nests):\n    total = 0\n    for nest in nests:\n        total += 1\n    return total"
    passage = Passage("code.md", 0, len(code), 1, 5, code)
    out = render(Hit(1, 0.5, "hybrid", passage, "code.md"), full=True, question="count")
    lines = [line.rstrip() for line in out.splitlines()]
    assert "            total += 1" in lines                   # 4 spaces of hit padding + the source's 8


def test_repl_full_toggles_whole_passages():
    from qa.ui.repl import Repl

    buffer = io.StringIO()
    repl = Repl(None, Console(width=100, file=buffer), 5, "hybrid")   # type: ignore[arg-type]
    assert repl.full is False
    repl.handle(":full")
    assert repl.full is True and "full = on" in buffer.getvalue()
    repl.handle(":full")
    assert repl.full is False
