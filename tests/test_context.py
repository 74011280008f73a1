"""What the embedder and BM25 see with a passage: its document's title and the heading path above it."""

from __future__ import annotations

from pathlib import Path

from qa import Index
from qa.config import IndexSettings
from qa.ingest.build import heading_at, heading_paths, plain_headings

REFERENCE = """Built-in Functions

The Python interpreter has a number of functions and types built into it.

abs(x)

Return the absolute value of a number.

Note

Unlike iter(), aiter() has no 2-argument variant.

zip(*iterables, strict=False)

Iterate over several iterables in parallel, producing tuples with an item from each one.

New in version 3.10.

Iterating in order

>>> list(zip(range(3), 'abc'))

sorted(iterable, /, *, key=None, reverse=False)

Return a new sorted list from the items in iterable.
"""


def test_plain_headings_are_short_lines_alone_that_do_not_end_like_sentences():
    found = [line for _, line in plain_headings(REFERENCE)]
    assert found == ["Built-in Functions", "abs(x)", "zip(*iterables, strict=False)", "Iterating in order",
                     "sorted(iterable, /, *, key=None, reverse=False)"]   # not "Note", ">>> ...", "New in version"
    for start, line in plain_headings(REFERENCE):
        assert REFERENCE[start:].startswith(line)


def test_heading_paths_put_an_entry_under_its_section():
    paths = heading_paths(REFERENCE)
    at = REFERENCE.index("Iterate over several")
    assert heading_at(paths, at) == "Built-in Functions > zip(*iterables, strict=False)"
    assert heading_at(paths, REFERENCE.index("Return a new sorted")) == "Iterating in order > sorted(iterable, /, *, key=None, reverse=False)"
    assert heading_at(paths, 0) == "Built-in Functions"


def test_a_text_with_a_stray_short_line_has_no_headings():
    article = "Farmers meet in town.\n\nThe meeting was long and the talk was of rain.\n\nLeave a Reply\n\nName\n"
    assert len(plain_headings(article)) < 3 and heading_paths(article) == []


def test_a_passage_under_an_entry_is_found_by_the_entry_name_it_does_not_repeat(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    filler = " ".join(f"Sentence {n} says nothing in particular about anything." for n in range(40))
    (corpus / "functions.txt").write_text(REFERENCE.replace("Return a new sorted list", filler + " Return a new sorted list"),
                                          encoding="utf-8")
    (corpus / "other.txt").write_text("Other\n\nNothing about sorting here at all.\n", encoding="utf-8")
    settings = IndexSettings(heading_context=True, bm25_context=True)     # measured, opt-in (qa/config.py)
    Index.build([corpus], tmp_path / "ix", model=str(fake_model), settings=settings)
    hits = Index.open(tmp_path / "ix", model=str(fake_model)).search("reverse=False key=None", k=3, mode="bm25")
    assert any("Return a new sorted list" in h.passage.text and "key=None" not in h.passage.text for h in hits)
