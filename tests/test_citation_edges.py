"""Citation parsing at its edges (qa/citation.py): where a path may end, numbers with leading zeros and at the
digit limit, and the one-line messages for what is not a citation.

Written for the mutation run (tests/README.md, "Mutation testing"): the round-trip tests never cite a
one-character file without the file list, a zero-padded number, or a number of exactly MAX_DIGITS digits,
and the refusals were checked by their type only.
"""

from __future__ import annotations

import pytest

from qa.citation import MAX_DIGITS, Citation, NotInIndexError
from qa.errors import UsageError


def test_a_path_is_at_least_one_character():
    assert Citation.parse("a:12") == Citation("a", line=12)
    assert Citation.parse("b p. 3") == Citation("b", page="3")
    assert Citation.parse("c ¶ 2") == Citation("c", paragraph=2)
    for text in (":12", " p. 3", "¶ 2"):
        with pytest.raises(UsageError):
            Citation.parse(text)


def test_leading_zeros_do_not_count_toward_the_digit_limit():
    assert Citation.parse("n.txt:007") == Citation("n.txt", line=7)
    assert Citation.parse("n.txt:" + "0" * 40 + "12-" + "0" * 30 + "13") == Citation("n.txt", line=12, last_line=13)
    assert Citation.parse("n.txt:0") == Citation("n.txt", line=0)
    assert Citation.parse("d.docx ¶ 000") == Citation("d.docx", paragraph=0)


def test_the_digit_limit_is_inclusive():
    longest = "9" * MAX_DIGITS
    assert Citation.parse(f"n.txt:{longest}") == Citation("n.txt", line=int(longest))
    with pytest.raises(NotInIndexError):
        Citation.parse(f"n.txt:1{longest}")


def test_a_number_past_any_index_is_named_in_one_short_line():
    for files in (["n.txt"], []):      # a known path, and a path found by where the locator starts
        with pytest.raises(NotInIndexError) as raised:
            Citation.parse("n.txt:12345678901234567890", files)
        message = str(raised.value)
        assert message == ("'n.txt:12345678901234567890': no file in the index has a line, page or paragraph "
                           "12345678… (20 digits). Cite it as qa ask printed it.")


def test_a_long_text_that_is_no_citation_is_quoted_short_in_the_message():
    text = "words " * 100 + "the end"
    with pytest.raises(UsageError) as raised:
        Citation.parse(text)
    message = str(raised.value)
    shown = message.split(" is not a citation.")[0]
    assert len(shown) == 120 and shown.startswith("'words words") and shown.endswith("…end'")
    assert message.endswith("e.g. notes.txt:12-18, page.html:212 § Heading, report.pdf p. iv or doc.docx § Heading ¶ 3.")
    assert "\n" not in message


def test_a_short_text_is_quoted_whole_in_the_message():
    exactly = "x" * 118            # its repr is 120 characters: the limit, not cut
    with pytest.raises(UsageError) as raised:
        Citation.parse(exactly)
    assert str(raised.value).startswith(repr(exactly) + " is not a citation.")
    with pytest.raises(UsageError) as raised:
        Citation.parse("no\ncitation")
    assert str(raised.value).startswith("'no\\ncitation' is not a citation.")
