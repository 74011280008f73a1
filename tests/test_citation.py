"""The Citation record (qa/citation.py): it formats and parses itself, and every citation round-trips."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.citation import Citation, NotInIndexError
from qa.errors import UsageError
from qa.ingest.split import Passage
from qa.search.hits import merged

#: Pieces that collide with the citation syntax, mixed into names, headings and labels.
AWKWARD = st.sampled_from([" p. ", " § ", " ¶ ", ":", ":12", "-", "1-2", " ", ", answer under § ", " to § ", '"',
                           "\\", "A 12", "iv", "12", "é", "猫", "\n", "\x1b", "\u200b", "§", "¶", ","])
TEXT = st.lists(st.one_of(AWKWARD, st.text(max_size=4)), max_size=6).map("".join)
NAME = st.lists(st.one_of(AWKWARD, st.text(min_size=1, max_size=4)), min_size=1, max_size=6).map("".join)
NUMBER = st.integers(min_value=0, max_value=10**12)


def _html_or_lines(path, line, last, heading, answer):
    return Citation(path, line=line, last_line=last, heading=heading, answer_heading=answer)


CITATIONS = st.one_of(
    st.builds(_html_or_lines, NAME, NUMBER, st.none() | NUMBER, st.none() | TEXT, st.none() | TEXT),
    st.builds(lambda path, page, last, answer: Citation(path, page=page, last_page=last, answer_heading=answer),
              NAME, TEXT, st.none() | TEXT, st.none() | TEXT),
    st.builds(lambda path, heading, paragraph, last, answer: Citation(
        path, heading=heading, paragraph=paragraph, last_heading=None if last is None else last[0],
        last_paragraph=None if last is None else last[1], answer_heading=answer),
        NAME, st.none() | TEXT, NUMBER, st.none() | st.tuples(st.none() | TEXT, NUMBER), st.none() | TEXT),
    st.builds(lambda path, heading, paragraph, last: Citation(path, heading=heading, paragraph=paragraph,
                                                              last_heading=heading, last_paragraph=last),
              NAME, st.none() | TEXT, NUMBER, NUMBER),
)


@settings(max_examples=800, deadline=None)
@given(CITATIONS, st.lists(NAME, max_size=4))
def test_every_citation_round_trips(citation: Citation, others: list[str]):
    """parse(str(c)) == c, whatever the file is called and whatever its headings and labels hold, beside
    other indexed files (none of them a longer prefix of the citation: see the next test)."""
    text = str(citation)
    others = [o for o in others if not (text.startswith(o) and len(o) > len(citation.path))]
    assert Citation.parse(text, [citation.path, *others]) == citation


def test_of_two_files_that_both_fit_the_longer_name_wins():
    """"x § A ¶ 1" is paragraph 1 of "x § A", or of section A of "x": with both indexed, the longer name."""
    assert Citation.parse("x § A ¶ 1", ["x", "x § A"]) == Citation("x § A", paragraph=1)
    assert Citation.parse("x § A ¶ 1", ["x"]) == Citation("x", heading="A", paragraph=1)


@settings(max_examples=300, deadline=None)
@given(CITATIONS)
def test_the_printed_form_has_no_invisible_characters_but_the_file_name_s(citation: Citation):
    """What a terminal shows is what parses: quoting escapes every control and invisible character."""
    assert citation.locator.isprintable()


@pytest.mark.parametrize("text, fields", [
    ("notes.txt:12-18", dict(path="notes.txt", line=12, last_line=18)),
    ("notes.txt:7", dict(path="notes.txt", line=7)),
    ("page.html:212 § Copying files", dict(path="page.html", line=212, heading="Copying files")),
    ("page.html:212 § Copying files, answer under § Fees",
     dict(path="page.html", line=212, heading="Copying files", answer_heading="Fees")),
    ("report.pdf p. iv", dict(path="report.pdf", page="iv")),
    ("report.pdf p. 1-2", dict(path="report.pdf", page="1", last_page="2")),
    ('report.pdf p. "1-2"', dict(path="report.pdf", page="1-2")),
    ('report.pdf p. "A 12"', dict(path="report.pdf", page="A 12")),
    ("survey.docx § Methods > Night walks ¶ 2", dict(path="survey.docx", heading="Methods > Night walks", paragraph=2)),
    ("survey.docx ¶ 3", dict(path="survey.docx", paragraph=3)),
    ("survey.docx § Methods ¶ 2-4", dict(path="survey.docx", heading="Methods", paragraph=2, last_heading="Methods",
                                         last_paragraph=4)),
    ("survey.docx § Methods ¶ 5 to § Results ¶ 1", dict(path="survey.docx", heading="Methods", paragraph=5,
                                                        last_heading="Results", last_paragraph=1)),
    ("survey.docx § Safety > Warning (2nd) ¶ 1", dict(path="survey.docx", heading="Safety > Warning (2nd)",
                                                     paragraph=1)),
    ("page.html ¶ 12", dict(path="page.html", paragraph=12)),
    ("page.html § Owls > Part 4 ¶ 2-3", dict(path="page.html", heading="Owls > Part 4", paragraph=2,
                                            last_heading="Owls > Part 4", last_paragraph=3)),
])
def test_the_documented_forms(text: str, fields: dict):
    """The forms the README documents, for ordinary names, print and parse as they always did."""
    citation = Citation(**fields)
    assert str(citation) == text
    assert Citation.parse(text, [fields["path"]]) == citation
    assert Citation.parse(text) == citation            # an ordinary name needs no list of files


def test_a_file_name_holding_the_separators_is_found_among_the_indexed_files():
    files = ["notes p. 3.pdf", "notes.pdf", "a § b.docx", "x:12.txt", "x.txt"]
    assert Citation.parse("notes p. 3.pdf p. 4", files) == Citation("notes p. 3.pdf", page="4")
    assert Citation.parse("a § b.docx § Intro ¶ 2", files) == Citation("a § b.docx", heading="Intro", paragraph=2)
    assert Citation.parse("x:12.txt:3-4", files) == Citation("x:12.txt", line=3, last_line=4)
    assert Citation.parse("  notes.pdf p. 4 \n", files) == Citation("notes.pdf", page="4")


def test_what_is_not_a_citation_is_misuse_and_a_huge_number_is_not_in_any_index():
    for text in ("just some words", "notes.txt", "notes.txt:", "notes.txt:a-b", "report.pdf p. ", "x ¶ two"):
        with pytest.raises(UsageError):
            Citation.parse(text, ["notes.txt", "report.pdf"])
    with pytest.raises(NotInIndexError) as raised:
        Citation.parse("notes.txt:" + "7" * 5000, ["notes.txt"])
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 300


def test_a_passage_is_cited_through_the_record():
    text = "Page one ends here.\n\nPage two goes on.\n"
    one = Passage("r.pdf", 0, 19, 1, 1, text[:19], page=3, page_label="1")
    two = Passage("r.pdf", 21, 38, 3, 3, text[21:38], page=4, page_label="2")
    assert one.citation == "r.pdf p. 1" and Citation.parse(one.citation) == one.cite("r.pdf")
    # A merged passage running over two pages is cited by both, not by the first alone.
    both = merged(one, two, text)
    assert both.citation == "r.pdf p. 1-2"
    assert merged(two, one, text).citation == "r.pdf p. 1-2"
    labelled = Passage("r.pdf", 0, 19, 1, 1, text[:19], page=1, page_label="A 1")
    assert labelled.citation == 'r.pdf p. "A 1"'
    a = Passage("s.docx", 0, 19, 1, 1, text[:19], heading="Methods", paragraph=5)
    b = Passage("s.docx", 21, 38, 3, 3, text[21:38], heading="Results", paragraph=1)
    c = Passage("s.docx", 21, 38, 3, 3, text[21:38], heading="Methods", paragraph=7)
    assert merged(a, b, text).citation == "s.docx § Methods ¶ 5 to § Results ¶ 1"
    assert merged(a, c, text).citation == "s.docx § Methods ¶ 5-7"
    h1 = Passage("p.html", 0, 19, 1, 1, text[:19], heading="Top > Fees", source_line=40)
    h2 = Passage("p.html", 21, 38, 3, 3, text[21:38], heading="Top > Costs", source_line=52)
    assert h1.citation == "p.html:40 § Fees"
    assert merged(h1, h2, text).citation == "p.html:40-52 § Fees"


def test_a_hit_from_a_numbered_html_block_into_a_line_cited_one_is_cited_by_source_lines():
    """A page cites most blocks by source line and blocks on a crowded line by number: a hit over both kinds
    is cited by its source lines, first to last (a block number alone would leave its later part out)."""
    text = "Page one ends here.\n\nPage two goes on.\n"
    numbered = Passage("p.html", 0, 19, 1, 1, text[:19], heading="Top > Fees", source_line=1, paragraph=4)
    lined = Passage("p.html", 21, 38, 3, 3, text[21:38], heading="Top > Costs", source_line=52)
    assert numbered.citation == "p.html § Top > Fees ¶ 4" and lined.citation == "p.html:52 § Costs"
    assert merged(numbered, lined, text).citation == "p.html:1-52 § Fees"
    assert merged(lined, numbered, text).citation == "p.html:1-52 § Fees"
    both = replace(lined, start=0, source_line=1)                 # both on line 1: still a range, never ¶ 4 alone
    assert merged(numbered, both, text).citation == "p.html:1-1 § Fees"
