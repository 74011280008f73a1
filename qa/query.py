"""The question, analysed once: the one value search, ranking and the verdict all read.

Whatever a question holds (lone surrogates from undecodable bytes in argv or a pipe, control characters,
zero-width spaces), the cleaned text is valid Unicode that every tokenizer takes. From it, once:

- `terms`: the BM25 terms (plain scheme: lower-cased words, CJK runs as character pairs), and
  `terms_in(scheme)` for an index built with the "code" scheme;
- `words`: the question's words as written, each with its terms and what it is: part of a quoted literal
  or an example value ("a date string like "30 Nov 00"", "e.g. 3.14", a number in a how-to question), part of a name written as code
  (`json.dumps`, `sort_keys`, `zip()`), capitalised inside the question (a name);
- `identifiers` and `literals` themselves, the answer type asked for (`asked`: a number, a date, a
  person, ...; None for a method, "how do I ...") and the amount counted (`unit`);
- `script`: "latin" (no CJK character), "cjk" (only CJK letters) or "mixed".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from qa.answer.answer_type import asked_type, asked_unit, asks_method
from qa.search.bm25 import identifiers as code_names
from qa.search.bm25 import tokenize

#: Characters that are not text: C0 and C1 controls, and lone surrogates (the form undecodable bytes take).
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Invisible characters that only hide words from search (zero-width spaces and joiners, word joiner, BOM).
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")

#: A word as the verdict weighs it: letters and digits, joined by inner dots, apostrophes and hyphens
#: ("json.dumps", "China's", "e-mail"); a CJK run is one word here and its character pairs its terms.
_WORD = re.compile(r"[^\W_]+(?:[.'’-][^\W_]+)*")
#: Quoted text: "...", “...”, «...», `...`, and '...' that is not an apostrophe ("Murillo's" is no quote).
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|`([^`]+)`|‘([^’]+)’|(?<![\w'])'([^']+)'(?![\w'])")
#: A placeholder: <name>, {key}.
_PLACEHOLDER = re.compile(r"<[^<>\s]{1,40}>|\{[^{}\s]{0,40}\}")
#: An example value given after "like", "such as", "e.g.", "for example", "for instance", "say": one
#: token holding a digit or a sign (a value, not a word: "a format like JSON" names JSON, "like 2023-01-05"
#: gives an example).
_EXAMPLE = re.compile(r"\b(?:like|such as|e\.g\.|eg|for example|for instance|say|as in)[,:]?\s+"
                      r"([^\s,;?!\"“'‘`]*[\d/\\:%@#$=+*<>{}\[\]|~^][^\s,;?!]*)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,'’-]\d+)*")
#: A candidate name written as code: dotted or underscored words, maybe called (`os.path.join(`, `sort_keys`).
_CODE = re.compile(r"(?<![\w.])(\w+(?:\.\w+)*)(\()?")
_CJK_CHARACTER = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
                            "\U00020000-\U0003134f]")


def _is_code(match: re.Match[str]) -> bool:
    """Whether a `_CODE` match is a name as code writes it (not a plain word, a number or "e.g")."""
    name, call = match.group(1), match.group(2)
    if not re.search(r"[^\W\d_]", name) or name.lower() in ("e.g", "i.e", "etc"):
        return False
    return bool(call) or "_" in name.strip("_") or name != name.strip("_") or "." in name


def valid(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD: valid Unicode, which UTF-8 and JSON can carry."""
    return _SURROGATE.sub("\ufffd", text)


def clean(text: str) -> str:
    """`text` as valid, visible Unicode: lone surrogates become U+FFFD, controls a space, zero-width
    characters nothing; whitespace runs one space; NFC-composed."""
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", valid(text)))
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Word:
    """One word of the question as written, with what the verdict needs to weigh it."""

    text: str                  # as written ("Uruguayan", "json.dumps", "大熊猫")
    terms: tuple[str, ...]     # its BM25 terms, plain scheme
    position: int              # its place among the question's words (0: the first)
    literal: bool = False      # inside quotes, a placeholder or an example value: not a name the documents must hold
    identifier: bool = False   # part of a name written as code (`json.dumps`, `sort_keys`, `zip()`)

    @property
    def capitalised(self) -> bool:
        """Capitalised inside the question (not as its first word): a name."""
        return self.position > 0 and self.text[:1].isupper()

    @property
    def has_digit(self) -> bool:
        return any(c.isdigit() for c in self.text)


@dataclass(frozen=True)
class Query:
    """A question as qa searches and judges it."""

    question: str               # as asked, made valid Unicode (see `valid`): what an answer repeats
    text: str                   # cleaned (see `clean`): what is searched, embedded and judged
    terms: tuple[str, ...]      # its BM25 terms (plain scheme: lower-cased words, CJK as character pairs)
    words: tuple[Word, ...] = ()
    identifiers: tuple[str, ...] = ()   # names written as code, lower-cased ("json.dumps", "zip()")
    literals: tuple[str, ...] = ()      # quoted text, placeholders and example values, as written
    asked: str | None = None            # the kind of answer asked for (see qa.answer.answer_type.asked_type)
    unit: tuple[str, str | None] | None = None   # the amount counted (see asked_unit)
    script: str = "latin"               # latin (no CJK character), cjk (CJK letters only), mixed
    _schemes: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, question: str) -> Query:
        text = clean(question)
        literal_spans = [m.span(m.lastindex or 0) for m in _QUOTED.finditer(text)]
        literal_spans += [m.span() for m in _PLACEHOLDER.finditer(text)]
        literal_spans += [m.span(1) for m in _EXAMPLE.finditer(text)]
        literals = tuple(text[a:b] for a, b in sorted(set(literal_spans)))
        code_spans = [m.span() for m in _CODE.finditer(text) if _is_code(m)]
        # A number in a question that asks for a way ("how can I tell whether 2024 is a leap year?") is the
        # example the method is applied to, not something the documents must mention.
        method = asks_method(text)
        words = []
        for position, match in enumerate(_WORD.finditer(text)):
            start, end = match.span()
            inside = any(a <= start and end <= b for a, b in literal_spans) or bool(method and _NUMBER.fullmatch(match.group()))
            code = any(a <= start and end <= b for a, b in code_spans)
            words.append(Word(match.group(), tuple(tokenize(match.group())), position, inside, code))
        letters = [c for c in text if c.isalpha()]
        cjk = sum(1 for c in letters if _CJK_CHARACTER.match(c))
        script = "latin" if not cjk else "cjk" if cjk == len(letters) else "mixed"
        return cls(valid(question), text, tuple(tokenize(text)), tuple(words), tuple(dict.fromkeys(code_names(text))),
                   literals, asked_type(text), asked_unit(text), script)

    @property
    def searchable(self) -> bool:
        """Whether the question has a word to search for ("...", "?!" have none)."""
        return bool(self.terms)

    def terms_in(self, scheme: str) -> tuple[str, ...]:
        """The question's BM25 terms in `scheme` (see qa.search.bm25.tokenize), made once per scheme."""
        if scheme == "plain":
            return self.terms
        if scheme not in self._schemes:
            self._schemes[scheme] = tuple(tokenize(self.text, scheme))
        return self._schemes[scheme]

    @cached_property
    def own_words(self) -> frozenset[str]:
        """The question's lower-cased terms: words of the question are never its answer."""
        return frozenset(self.terms)
