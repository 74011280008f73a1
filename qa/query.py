"""The question, analysed once: its cleaned text and its search terms, the one value every step reads.

Whatever a question holds (lone surrogates from undecodable bytes in argv or a pipe, control characters,
zero-width spaces), the cleaned text is valid Unicode that every tokenizer takes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qa.search.bm25 import tokenize

#: Characters that are not text: C0 and C1 controls, and lone surrogates (the form undecodable bytes take).
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Invisible characters that only hide words from search (zero-width spaces and joiners, word joiner, BOM).
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")


def valid(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD: valid Unicode, which UTF-8 and JSON can carry."""
    return _SURROGATE.sub("\ufffd", text)


def clean(text: str) -> str:
    """`text` as valid, visible Unicode: lone surrogates become U+FFFD, controls a space, zero-width
    characters nothing; whitespace runs one space; NFC-composed."""
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", valid(text)))
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Query:
    """A question as qa searches it."""

    question: str               # as asked, made valid Unicode (see `valid`): what an answer repeats
    text: str                   # cleaned (see `clean`): what is searched, embedded and judged
    terms: tuple[str, ...]      # its BM25 terms (plain scheme: lower-cased words, CJK as character pairs)

    @classmethod
    def of(cls, question: str) -> Query:
        text = clean(question)
        return cls(valid(question), text, tuple(tokenize(text)))

    @property
    def searchable(self) -> bool:
        """Whether the question has a word to search for ("...", "?!" have none)."""
        return bool(self.terms)
