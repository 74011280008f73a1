"""The question's content words as the verdict weighs them: each as BM25 terms, with its rarity in the
documents, the word forms a document may write it in, and whether it is a name.

Stop words and the words that only shape a question ("how many", "what") are left out; a word the
question quotes or gives as an example value is never a name the documents must hold.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa import config
from qa.answer.answer_type import QUESTION_WORDS
from qa.query import Query
from qa.search.bm25 import STOP_WORDS, tokenize

if TYPE_CHECKING:
    from qa.search.bm25 import BM25


@dataclass(frozen=True)
class Term:
    """One content word of the question as the verdict weighs it."""

    word: str        # as written in the question
    term: str        # as BM25 indexes it
    forms: frozenset[str]   # the term and its plural, past and -ing forms: "sell" is found in "sells"
    rarity: float    # IDF over the largest possible IDF: 1.0 for a word the documents never use
    in_corpus: bool
    named: bool      # a name or a number: capitalised inside the question, or with digits (not quoted, not an example)


def question_terms(query: Query, bm25: BM25) -> list[Term]:
    """The question's content words as BM25 terms, with their rarity in the corpus.

    The words are the query's (split once, CJK runs included: their terms are character pairs, as BM25
    indexes them). A word inside quotes or given as an example value ("a date string like "30 Nov 00"")
    is never a name the documents must hold: it counts for coverage when the documents use it, and not at
    all when they do not. A name's derived forms count as the name ("Uruguayan" is found by "Uruguay").
    """
    size = max(bm25.size, 1)
    most = math.log((size + 0.5) / 0.5)
    terms: dict[str, Term] = {}
    for word in query.words:
        lower = word.text.lower()
        if lower in STOP_WORDS or lower in QUESTION_WORDS:
            continue
        found = []
        for term in (word.terms if bm25.scheme == "plain" else tokenize(word.text, bm25.scheme)):
            if term in terms or term in STOP_WORDS or (len(term) == 1 and term.isascii() and term.isalpha()):
                continue   # a lone letter is no subject ("s" of "China's", "I")
            forms = (word_forms(term) | (derived_forms(term) if word.capitalised else frozenset())
                     | acronym_forms(word.text, term))
            frequency = 0
            for form in forms:
                t = bm25.vocabulary.get(form)
                if t is not None:
                    frequency = max(frequency, int(bm25.indptr[t + 1] - bm25.indptr[t]))
            if word.literal and frequency == 0:
                continue   # an example value the documents never use: no evidence either way
            found.append((term, forms, frequency))
        if found and _CJK.search(word.text):
            # A CJK run is searched as character pairs, and the pairs that straddle two words ("猫吃" of
            # "大熊猫吃什么") are in no text: a run some of whose pairs the documents use is judged by those.
            # Documents without any CJK text: see gather (its pairs are not listed as missing words).
            if not has_cjk(bm25):
                continue
            if any(frequency for _, _, frequency in found):
                found = [f for f in found if f[2]]
        for term, forms, frequency in found:
            rarity = max(0.0, math.log((size - frequency + 0.5) / (frequency + 0.5))) / most if most > 0 else 1.0
            named = (word.capitalised or word.has_digit) and not word.literal and not common_word(word.text)
            shown = term if _CJK.search(term) else word.text   # a CJK run's missing pair, not the run again
            terms[term] = Term(shown, term, forms, min(rarity, 1.0), frequency > 0, named)
    return list(terms.values())


#: Capitalised or with digits, yet no name: an ordinal ("a 3rd party parser") and the acronyms of computing
#: that are common nouns ("a menu UI", "the OS", "a user ID"), which documents about the thing need not use.
_ORDINAL = re.compile(r"\d+(st|nd|rd|th)", re.IGNORECASE)
_COMMON_ACRONYMS = frozenset("ui uis gui guis api apis cli os id ids ide cpu cpus gpu ram faq diy ok pc pcs".split())


#: An acronym as a question writes it: two to six capitals, perhaps a plural s ("LAC", "ICTs").
_ACRONYM = re.compile(r"[A-Z]{2,6}s?")
_POSSESSIVE = re.compile(r"['’]s$")
#: A run of capitalised words, with the short words names keep inside ("Latin American and Caribbean", "Bank of
#: China"): the initials of such a run (or of part of it) spell the acronym a question may use for it.
_CONNECTORS = ("and", "of", "the", "for", "&")
_CAPITALISED_RUN = re.compile(rf"[A-Z][\w'’-]*(?:\s+(?:(?:{'|'.join(_CONNECTORS)})\s+)*[A-Z][\w'’-]*)+")
ACRONYM_PREFIX = "acronym:"


def acronym_forms(text: str, term: str | None = None) -> frozenset[str]:
    """The form an acronym of the question is found by where a document spells it out (`spelled_acronyms`).
    `text` is a word as written; with `term`, only the part of a hyphenated word that is that term counts
    ("LAC" of "China-LAC" for the term "lac", nothing for "china")."""
    forms = set()
    for part in _POSSESSIVE.sub("", text).split("-"):   # "CAICT's" is the CAICT's
        if _ACRONYM.fullmatch(part) and (term is None or part.lower() == term):
            letters = part[:-1] if part.endswith("s") else part
            if len(letters) >= 3:
                forms.add(ACRONYM_PREFIX + letters.lower())
    return frozenset(forms)


def spelled_acronyms(text: str) -> set[str]:
    """The acronyms (three letters or more) that runs of capitalised words in `text` spell: "the Latin American
    and Caribbean countries" gives LAC (and LA, AC are too short to count), as `acronym_forms` writes them."""
    found = set()
    for run in _CAPITALISED_RUN.finditer(text):
        # a hyphenated name is its parts: "China-Latin America and the Caribbean" spells LAC
        initials = [w[0].lower() for w in run.group().replace("-", " ").split() if w and w not in _CONNECTORS]
        for start in range(len(initials)):
            for end in range(start + 3, min(len(initials), start + 6) + 1):
                found.add(ACRONYM_PREFIX + "".join(initials[start:end]))
    return found


def common_word(text: str) -> bool:
    """Whether a capitalised or numbered word of a question is a common word rather than a name."""
    return bool(_ORDINAL.fullmatch(text)) or text.lower() in _COMMON_ACRONYMS


_CJK = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]")
_CJK_VOCABULARY: dict[int, tuple[int, bool]] = {}


#: Distinct CJK character pairs the documents must use to count as holding text in Chinese or Japanese: the
#: Python docs use two (a Japanese name given as an example), which is no text a Chinese question can be
#: answered from; one short paragraph of Chinese has more than this.
CJK_TEXT_TERMS = 50


def has_cjk(bm25: BM25) -> bool:
    """Whether the documents hold text in Chinese or Japanese: CJK_TEXT_TERMS or more CJK terms in the index
    (counted once per index opened)."""
    key = id(bm25.vocabulary)
    known = _CJK_VOCABULARY.get(key)
    if known is None or known[0] != len(bm25.vocabulary):
        known = (len(bm25.vocabulary), sum(1 for term in bm25.vocabulary if _CJK.search(term)) >= CJK_TEXT_TERMS)
        _CJK_VOCABULARY[key] = known
    return known[1]


def word_forms(term: str) -> frozenset[str]:
    """`term` with the English endings a question and a document may disagree on (-s, -es, -ed, -ing, -ies)."""
    forms = {term}
    if not term.isalpha() or len(term) < 3:
        return frozenset(forms)
    forms |= {term + ending for ending in ("s", "es", "ed", "d", "ing")}
    for ending in ("es", "s", "ed", "d", "ing"):
        if term.endswith(ending) and len(term) - len(ending) >= 3:
            forms.add(term[: -len(ending)])
    if term.endswith("ies"):
        forms.add(term[:-3] + "y")
    elif term.endswith("y"):
        forms.add(term[:-1] + "ies")
    return frozenset(forms)


#: Endings that make a people or an adjective of a place's name, with what to put back: "Uruguayan" ->
#: "Uruguay", "Chilean" -> "Chile", "Colombian" -> "Colombia", "Brazilian" -> "Brazil", "Chinese" ->
#: "China", "Japanese" -> "Japan", "Mexican" -> "Mexico", "Argentine" -> "Argentina", "Israeli" -> "Israel".
_DERIVED = (("ian", ""), ("ian", "ia"), ("ian", "a"), ("an", ""), ("an", "a"), ("an", "o"), ("n", ""),
            ("ese", "a"), ("ese", ""), ("ine", "ina"), ("i", ""))


def derived_forms(term: str) -> frozenset[str]:
    """A name's forms as a people or an adjective ("uruguay" <-> "uruguayan"), both ways; only names are
    given these (a lower-case word ending in -an is no demonym)."""
    if not term.isalpha() or len(term) < 3:
        return frozenset()
    forms = set()
    for ending, stem_end in _DERIVED:
        if len(term) < 4:
            break
        if term.endswith(ending) and len(term) - len(ending) >= 3:
            forms.add(term[: len(term) - len(ending)] + stem_end)
        if term.endswith(stem_end) and len(term) - len(stem_end) >= 3:
            forms.add(term[: len(term) - len(stem_end)] + ending)
    if term in _MONTHS:
        forms.add(_MONTHS[term])
    forms.discard(term)
    return frozenset(forms)


#: Month names and the abbreviations documents write them with ("November" is found by "Nov 13"), both ways.
_MONTHS = dict(pair for month in ("january february march april may june july august september october november "
                                  "december").split() for pair in ((month, month[:3]), (month[:3], month)))
_MONTHS["september"], _MONTHS["sept"] = "sep", "september"


def best_possible_bm25(query: Query, bm25: BM25) -> float:
    """An upper bound of a passage's BM25 score for `query`: each known term's IDF times (k1 + 1)."""
    size = max(bm25.size, 1)
    total = 0.0
    for term in query.terms_in(bm25.scheme):   # a word the documents never use counts as the rarest
        t = bm25.vocabulary.get(term)
        frequency = int(bm25.indptr[t + 1] - bm25.indptr[t]) if t is not None else 0
        total += max(math.log((size - frequency + 0.5) / (frequency + 0.5)), 0.01) * (config.BM25_K1 + 1)
    return total
