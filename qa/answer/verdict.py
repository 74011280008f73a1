"""The verdict: whether the documents answer a question, how sure that is, and why.

A stage after search (see DESIGN.md). Its input is the question, its vector (None in BM25-only
mode) and a fixed depth of the dense and BM25 rankings -- never the k hits, so `-k` cannot change
it -- plus read access to the passages, their sentence vectors and the BM25 statistics. It gathers
signals that each catch a different near miss:

- answer type: the question asks for a number, date, name, e-mail, ... and the best sentences hold none;
- coverage: the question's words, weighted by rarity (IDF), and its names and numbers are missing from
  the best passages, or from the whole corpus;
- score shape: how similar the best sentence and passage are, how far the best sentence stands out
  from the next and the best passage from the depth of the dense ranking, how much dense and BM25
  search agree on their top passages.

A logistic model over these (weights in `qa/answer/verdict.json`, plain JSON written by
`tests/bench/fit_verdict.py`, one weight set per search mode) turns them into `answer_confidence`,
the estimated chance that the top passages answer the question.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa import config
from qa.answer.answer_type import holds, holds_unit
from qa.errors import QAError
from qa.ingest.split import Passage, nearest_heading, sentence_spans
from qa.query import Query
from qa.search.bm25 import STOP_WORDS, tokenize
from qa.search.fusion import fuse
from qa.search.hits import Hit

#: The weights, written by tests/bench/fit_verdict.py.
WEIGHTS_FILE = Path(__file__).with_name("verdict.json")
WEIGHTS_FORMAT = 1

#: Passages of the ranking the verdict reads (the ones whose answering sentence is marked).
EVIDENCE_PASSAGES = config.ANSWER_PASSAGES
#: Best sentences searched for the kind of answer the question asks for.
TYPE_SENTENCES = 3
#: Names and numbers of the question are looked for in each evidence passage and this many neighbours on each side.
NEARBY_PASSAGES = 2
#: Top passages of each ranking compared for agreement.
AGREEMENT_DEPTH = 5
#: The question's names weigh by their rarity, and their total counts as at least this much: a name that the
#: documents use nearly everywhere ("Python" in the Python docs, "China" in news about China) is no evidence
#: that a passage without it is off the subject, however alone it is in the question.
NAMES_WEIGHT_FLOOR = 1.0

#: Words that shape a question but say nothing about its subject.
QUESTION_WORDS = frozenset(
    """how many much what which who whom whose when where why does do did is are was were can could
    should would will i me my we our you your there get use using make give tell find called mean
    kind type way ways like e.g eg""".split()   # "like", "e.g.": they introduce an example, not a subject
)

SIGNALS: dict[str, str] = {
    "sentence_similarity": "similarity of the best sentence to the question",
    "passage_similarity": "similarity of the best passage (dense search) to the question",
    "similarity_margin": "how far the best sentence stands out from the next one",
    "passage_standout": "how far the best passage's similarity stands above the last of the dense ranking's top "
                        f"{config.SearchSettings.depth}: a question the documents are about has passages clearly "
                        "closer than the rest; an off-topic question is about as far from all of them",
    "rankings_agree": "how high each search ranks the other's first passage (mean reciprocal rank in its top 5)",
    "terms_in_corpus": "share of the question's words (weighted by rarity) found anywhere in the documents",
    "terms_in_best_passage": "share of the question's words (weighted by rarity) found in one of the best passages",
    "names_unknown": "share of the question's names and numbers that never occur in the documents (quoted text and "
                     "example values are not names the documents must hold)",
    "names_missing": "the question's names and numbers missing from the best passage that holds most of them, weighted "
                     "by rarity, as a share of all its names' weight (counted as at least one rare name's): a name "
                     "found on most passages weighs next to nothing",
    "answer_type_missing": "the question asks for a kind of answer (number, date, name, ...) and the best sentences "
                           "do not hold one besides the question's own words: 0 when the best does, 1/3 when the "
                           "second does, ..., 1 when none does",
    "answer_unit_missing": "1 when the question asks for an amount (how many doses, what it cost, how much it grew) "
                           "and the best passages give no such amount",
    "answer_near_subject": "the question asks for a kind of answer: the most of the question's words (weighted by "
                           "rarity) found in a best-passage sentence that holds one, with the sentences beside it; "
                           "1 when the question asks for no particular kind",
    "bm25_strength": "BM25 score of the best passage as a share of the most the question's words can score",
    "bm25_margin": "how far the best BM25 passage stands out from the next one",
}


@dataclass(frozen=True)
class Candidates:
    """The rankings the verdict reads, at a fixed depth (independent of how many hits are shown)."""

    mode: str
    dense: tuple[tuple[int, float], ...]
    sparse: tuple[tuple[int, float], ...]
    ranking: tuple[tuple[int, float], ...]   # the mode's own ranking: fused, dense or BM25

    @classmethod
    def of(cls, mode: str, dense: list[tuple[int, float]], sparse: list[tuple[int, float]],
           settings: config.SearchSettings) -> Candidates:
        """Cut both rankings to `settings.depth` and rank as `mode` does."""
        dense, sparse = list(dense[: settings.depth]), list(sparse[: settings.depth])
        ranking = fuse(dense, sparse, settings) if mode == "hybrid" else dense if mode == "dense" else sparse
        return cls(mode, tuple(dense), tuple(sparse), tuple(ranking))


@dataclass(frozen=True)
class Reason:
    """One signal: its value, what it means, and how much it moved the verdict (log-odds)."""

    signal: str
    value: float
    text: str
    effect: float


@dataclass(frozen=True)
class MarkedSentence:
    """The sentence of an evidence passage closest to the question (similarity None without a model)."""

    file: str
    start: int
    end: int
    similarity: float | None


@dataclass(frozen=True)
class Verdict:
    """Whether the documents answer the question, the calibrated chance they do, and why."""

    answered: bool
    answer_confidence: float
    reasons: tuple[Reason, ...]      # the signal that weighed most towards the decision first
    marked: tuple[MarkedSentence, ...]
    similarity: float | None          # best sentence similarity (None in BM25-only mode)
    model: str                        # the weight set used: hybrid, dense or bm25
    features: tuple[tuple[str, float], ...] = ()   # every signal gathered, also those the weight set ignores

    @property
    def top_reason(self) -> Reason | None:
        return self.reasons[0] if self.reasons else None


@dataclass(frozen=True)
class Evidence:
    """The signals' values for one question, with a short text for each."""

    features: dict[str, float]
    texts: dict[str, str]
    marked: tuple[MarkedSentence, ...]
    similarity: float | None


@dataclass(frozen=True)
class _Term:
    word: str        # as written in the question
    term: str        # as BM25 indexes it
    forms: frozenset[str]   # the term and its plural, past and -ing forms: "sell" is found in "sells"
    rarity: float    # IDF over the largest possible IDF: 1.0 for a word the documents never use
    in_corpus: bool
    named: bool      # a name or a number: capitalised inside the question, or with digits (not quoted, not an example)


# --- the model ----------------------------------------------------------------------


@dataclass(frozen=True)
class WeightSet:
    """A logistic model: P(answered) = sigmoid(bias + sum(weight * (value - mean) / scale))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float   # answered when the probability is at least this

    def effects(self, features: dict[str, float]) -> dict[str, float]:
        return {name: w * (features[name] - m) / s
                for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights)}

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.effects(features).values())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold}


def _weight_set(data: Any) -> WeightSet:
    names = data["features"]
    numbers = [data["mean"], data["scale"], data["weights"]]
    if not all(isinstance(n, str) and n in SIGNALS for n in names) or any(len(n) != len(names) for n in numbers):
        raise ValueError("features do not match their numbers")
    values = [float(x) for row in numbers for x in row] + [float(data["bias"]), float(data["threshold"])]
    if not all(math.isfinite(v) for v in values) or any(float(s) <= 0 for s in data["scale"]):
        raise ValueError("a weight is not a finite number")
    return WeightSet(tuple(names), *(tuple(float(x) for x in row) for row in numbers),
                     float(data["bias"]), float(data["threshold"]))


@lru_cache(maxsize=4)
def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, WeightSet]:
    """The weight sets by mode, read from plain JSON (never unpickled)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {WEIGHTS_FORMAT}")
        models = {mode: _weight_set(data["models"][mode]) for mode in config.MODES}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise QAError(f"The verdict weights {path} cannot be read ({error}). Reinstall qa, or refit them with: "
                      "python tests/bench/fit_verdict.py") from None
    return models


# --- gathering evidence -------------------------------------------------------------


def gather(query: Query, vector: np.ndarray | None, candidates: Candidates, stored: Any) -> Evidence:
    """Every signal's value for `query` from the candidates' best passages (see SIGNALS)."""
    bm25 = stored.bm25
    terms = question_terms(query, bm25)
    rows = [row for row, _ in candidates.ranking[:EVIDENCE_PASSAGES]]
    passages = stored.passages(rows)
    passage_terms = [set(tokenize(p.text, bm25.scheme)) for p in passages]
    features: dict[str, float] = {}
    texts: dict[str, str] = {}

    total = sum(t.rarity for t in terms)
    absent = [t.word for t in terms if not t.in_corpus]
    features["terms_in_corpus"] = sum(t.rarity for t in terms if t.in_corpus) / total if total else 1.0
    texts["terms_in_corpus"] = (f"{_listed(absent)} never occur{'s' if len(absent) == 1 else ''} in these documents"
                                if absent else "every word of the question occurs in the documents")
    shares = [sum(t.rarity for t in terms if t.forms & found) / total if total else 1.0 for found in passage_terms]
    features["terms_in_best_passage"] = max(shares, default=0.0)
    texts["terms_in_best_passage"] = (f"the best passages hold at most {features['terms_in_best_passage']:.0%} "
                                      "of the question's words, weighted by rarity")
    names = [t for t in terms if t.named]
    unknown = [t.word for t in names if not t.in_corpus]
    features["names_unknown"] = len(unknown) / len(names) if names else 0.0
    texts["names_unknown"] = (f"{_listed(unknown, 'and')} never occur{'s' if len(unknown) == 1 else ''} in these "
                              "documents" if unknown else "the documents mention every name and number of the question"
                              if names else "the question names no name or number")
    around = _nearby_terms(rows, passages, stored) if names else []
    names_missing = min(([t for t in names if not t.forms & found] for found in around),
                        key=lambda lost: sum(t.rarity for t in lost), default=names)
    weight = max(sum(t.rarity for t in names), NAMES_WEIGHT_FLOOR)
    features["names_missing"] = sum(t.rarity for t in names_missing) / weight if names else 0.0
    names_missing = [t.word for t in names_missing]
    texts["names_missing"] = (f"no best passage mentions {_listed(names_missing, 'and')} with the question's other "
                              "names" if names_missing and len(names_missing) < len(names) else
                              f"none of the best passages mentions {_listed(names_missing)}" if names_missing else
                              "one of the best passages mentions every name and number of the question" if names else
                              "the question names no name or number")

    sentences = _sentences(passages, stored)
    similarities = _sentence_similarities(sentences, vector, stored)
    if similarities is None:   # no model: rank sentences by the rarity of the question's words they hold
        weight = {form: t.rarity for t in terms for form in t.forms}
        # Summed in sorted order: a set's order changes from one process to the next (string hashing),
        # and with it the last bits of the sum, which decide ties between sentences.
        scores = [sum(weight.get(w, 0.0) for w in sorted(set(tokenize(text, bm25.scheme))))
                  for _, _, _, text, _ in sentences]
    else:
        scores = list(similarities)
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    kind = query.asked
    if kind is None:
        features["answer_type_missing"] = 0.0
        texts["answer_type_missing"] = "the question asks for no particular kind of answer"
    else:
        own = query.own_words   # lower-cased words: the question's own words are no answer
        first = next((rank for rank, i in enumerate(order[:TYPE_SENTENCES]) if holds(kind, sentences[i][3], own)), None)
        features["answer_type_missing"] = 1.0 if first is None else first / TYPE_SENTENCES
        article = "an" if kind[0] in "aeiou" else "a"
        texts["answer_type_missing"] = (f"the question asks for {article} {kind} and the best sentences hold none"
                                        if first is None else f"the question asks for {article} {kind}; the "
                                        f"{('best', 'second best', 'third best', 'fourth best')[min(first, 3)]} "
                                        "sentence holds one")

    features["answer_near_subject"], texts["answer_near_subject"] = _answer_near_subject(kind, query, sentences,
                                                                                         terms, bm25.scheme)

    unit = query.unit
    if unit is None:
        features["answer_unit_missing"] = 0.0
        texts["answer_unit_missing"] = "the question asks for no amount"
    else:
        what = {"money": "a sum of money", "percent": "a percentage"}.get(unit[0], f"a number of “{unit[1]}”")
        given = any(holds_unit(unit, p.text, word_forms(unit[1] or "")) for p in passages)
        features["answer_unit_missing"] = 0.0 if given else 1.0
        texts["answer_unit_missing"] = f"the question asks for {what} and the best passages {'give' if given else 'give none'}"

    marked = []
    for p in passages:
        inside = [i for i, s in enumerate(sentences) if s[0] == p.file and p.start <= s[1] and s[2] <= p.end]
        if inside:
            best = max(inside, key=lambda i: scores[i])
            marked.append(MarkedSentence(p.file, sentences[best][1], sentences[best][2],
                                         None if similarities is None else float(scores[best])))
    similarity = None
    if vector is not None:
        dense_scores = [score for _, score in candidates.dense]
        on_evidence = dict(candidates.dense)
        passage_best = max((on_evidence[r] for r in rows if r in on_evidence), default=dense_scores[0] if dense_scores else 0.0)
        ranked = sorted(similarities, reverse=True) if similarities is not None and len(similarities) else []
        similarity = float(ranked[0]) if ranked else float(passage_best)
        features["sentence_similarity"] = similarity
        texts["sentence_similarity"] = f"the best sentence has similarity {similarity:.2f} to the question"
        features["passage_similarity"] = dense_scores[0] if dense_scores else 0.0
        texts["passage_similarity"] = f"the best passage has similarity {features['passage_similarity']:.2f}"
        features["passage_standout"] = float(dense_scores[0] - dense_scores[-1]) if dense_scores else 0.0
        texts["passage_standout"] = (f"the best passage's similarity stands {features['passage_standout']:.2f} above "
                                     f"that of the {_ordinal(len(dense_scores))}")
        features["similarity_margin"] = float(ranked[0] - ranked[1]) if len(ranked) > 1 else 0.0
        texts["similarity_margin"] = f"the best sentence leads the next by {features['similarity_margin']:.2f}"
    dense_rank = {row: rank for rank, (row, _) in enumerate(candidates.dense[:AGREEMENT_DEPTH], start=1)}
    sparse_rank = {row: rank for rank, (row, _) in enumerate(candidates.sparse[:AGREEMENT_DEPTH], start=1)}
    other = [sparse_rank.get(candidates.dense[0][0]) if candidates.dense else None,
             dense_rank.get(candidates.sparse[0][0]) if candidates.sparse else None]
    features["rankings_agree"] = sum(1 / rank for rank in other if rank) / 2
    dense_first = f"#{other[0]} for BM25" if other[0] else f"not in BM25's top {AGREEMENT_DEPTH}"
    sparse_first = f"#{other[1]} for dense search" if other[1] else f"not in dense search's top {AGREEMENT_DEPTH}"
    texts["rankings_agree"] = ("dense and BM25 search put the same passage first" if other == [1, 1] else
                               f"dense search's first passage is {dense_first}; BM25's first is {sparse_first}")
    sparse_scores = [score for _, score in candidates.sparse]
    best_possible = _best_possible_bm25(query, bm25)
    features["bm25_strength"] = min(1.0, sparse_scores[0] / best_possible) if sparse_scores and best_possible else 0.0
    texts["bm25_strength"] = (f"the best BM25 passage scores {features['bm25_strength']:.0%} of what "
                              "the question's words can score")
    features["bm25_margin"] = ((sparse_scores[0] - sparse_scores[1]) / sparse_scores[0]
                               if len(sparse_scores) > 1 and sparse_scores[0] > 0 else 1.0 if sparse_scores else 0.0)
    texts["bm25_margin"] = f"the best BM25 passage leads the next by {features['bm25_margin']:.0%}"
    if not terms and query.script != "latin" and not _has_cjk(bm25):
        # A question in Chinese or Japanese over documents with no such text: none of its words can occur
        # in them (and the model reads English). Said so, rather than naming character pairs.
        features["terms_in_corpus"] = 0.0
        texts["terms_in_corpus"] = "the question is in Chinese or Japanese and these documents hold no text in either"
    return Evidence(features, texts, tuple(marked), similarity)


def _answer_near_subject(kind: str | None, query: Query, sentences: list[tuple[str, int, int, str, int | None]],
                         terms: list[_Term], scheme: str) -> tuple[float, str]:
    """The share of the question's words (by rarity) around the best sentence holding an answer of `kind`:
    a number in a sentence about something else does not answer "how many ... in Chile"."""
    if kind is None:
        return 1.0, "the question asks for no particular kind of answer"
    total = sum(t.rarity for t in terms)
    if not total:
        return 1.0, "the question has no words to look for around an answer"
    own = query.own_words
    words = [set(tokenize(text, scheme)) for _, _, _, text, _ in sentences]
    shares = []
    for i, (file, _, _, text, _) in enumerate(sentences):
        if holds(kind, text, own):
            around = set().union(*(words[j] for j in (i - 1, i, i + 1)
                                   if 0 <= j < len(sentences) and sentences[j][0] == file))
            shares.append(sum(t.rarity for t in terms if t.forms & around) / total)
    article = "an" if kind[0] in "aeiou" else "a"
    if not shares:
        return 0.0, f"no sentence of the best passages holds {article} {kind}"
    best = max(shares)
    return best, f"the sentences that hold {article} {kind} mention at most {best:.0%} of the question's words"


def question_terms(query: Query, bm25: Any) -> list[_Term]:
    """The question's content words as BM25 terms, with their rarity in the corpus.

    The words are the query's (split once, CJK runs included: their terms are character pairs, as BM25
    indexes them). A word inside quotes or given as an example value ("a date string like "30 Nov 00"")
    is never a name the documents must hold: it counts for coverage when the documents use it, and not at
    all when they do not. A name's derived forms count as the name ("Uruguayan" is found by "Uruguay").
    """
    size = max(bm25.size, 1)
    most = math.log((size + 0.5) / 0.5)
    terms: dict[str, _Term] = {}
    for word in query.words:
        lower = word.text.lower()
        if lower in STOP_WORDS or lower in QUESTION_WORDS:
            continue
        found = []
        for term in (word.terms if bm25.scheme == "plain" else tokenize(word.text, bm25.scheme)):
            if term in terms or term in STOP_WORDS or (len(term) == 1 and term.isascii() and term.isalpha()):
                continue   # a lone letter is no subject ("s" of "China's", "I")
            forms = word_forms(term) | (derived_forms(term) if word.capitalised else frozenset())
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
            if not _has_cjk(bm25):
                continue
            if any(frequency for _, _, frequency in found):
                found = [f for f in found if f[2]]
        for term, forms, frequency in found:
            rarity = max(0.0, math.log((size - frequency + 0.5) / (frequency + 0.5))) / most if most > 0 else 1.0
            named = (word.capitalised or word.has_digit) and not word.literal
            shown = term if _CJK.search(term) else word.text   # a CJK run's missing pair, not the run again
            terms[term] = _Term(shown, term, forms, min(rarity, 1.0), frequency > 0, named)
    return list(terms.values())


_CJK = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]")
_CJK_VOCABULARY: dict[int, tuple[int, bool]] = {}


def _has_cjk(bm25: Any) -> bool:
    """Whether any BM25 term of the index is CJK (looked through once per index opened)."""
    key = id(bm25.vocabulary)
    known = _CJK_VOCABULARY.get(key)
    if known is None or known[0] != len(bm25.vocabulary):
        known = (len(bm25.vocabulary), any(_CJK.search(term) for term in bm25.vocabulary))
        _CJK_VOCABULARY[key] = known
    return known[1]


def _nearby_terms(rows: list[int], passages: list[Passage], stored: Any) -> list[set[str]]:
    """For each evidence passage, the terms of it and of its NEARBY_PASSAGES neighbours on each side in
    its file: a name and a number in one paragraph may fall into two neighbouring passages."""
    wanted = sorted({n for r in rows for n in range(r - NEARBY_PASSAGES, r + NEARBY_PASSAGES + 1) if 0 <= n < stored.size})
    found = dict(zip(wanted, stored.passages(wanted)))
    terms = {row: set(tokenize(p.text, stored.bm25.scheme)) for row, p in found.items()}
    return [set().union(*(terms[n] for n in range(r - NEARBY_PASSAGES, r + NEARBY_PASSAGES + 1)
                           if n in found and found[n].file == p.file)) for r, p in zip(rows, passages)]


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


def _best_possible_bm25(query: Query, bm25: Any) -> float:
    """An upper bound of a passage's BM25 score for `query`: each known term's IDF times (k1 + 1)."""
    size = max(bm25.size, 1)
    total = 0.0
    for term in query.terms_in(bm25.scheme):   # a word the documents never use counts as the rarest
        t = bm25.vocabulary.get(term)
        frequency = int(bm25.indptr[t + 1] - bm25.indptr[t]) if t is not None else 0
        total += max(math.log((size - frequency + 0.5) / (frequency + 0.5)), 0.01) * (config.BM25_K1 + 1)
    return total


def _sentences(passages: list[Passage], stored: Any) -> list[tuple[str, int, int, str, int | None]]:
    """`(file, start, end, text, vector row)` of each distinct sentence in the passages."""
    seen: dict[tuple[str, int, int], tuple[str, int, int, str, int | None]] = {}
    for p in passages:
        found = [(row, start, end) for row, start, end in stored.sentences_in(p.file, p.start, p.end)]
        if not found:
            found = [(None, p.start + s, p.start + e) for s, e in sentence_spans(p.text, 0, len(p.text))]
        for row, start, end in found:
            seen.setdefault((p.file, start, end), (p.file, start, end, p.text[start - p.start : end - p.start], row))
    return list(seen.values())


def _sentence_similarities(sentences: list[tuple[str, int, int, str, int | None]], vector: np.ndarray | None,
                           stored: Any) -> np.ndarray | None:
    if vector is None or stored.sentence_vectors is None or any(s[4] is None for s in sentences):
        return None
    rows = [s[4] for s in sentences]
    if not rows:
        return np.zeros(0, dtype=np.float32)
    order = np.argsort(rows)   # read the memory-mapped rows in ascending order
    vectors = np.empty((len(rows), stored.sentence_vectors.shape[1]), dtype=np.float32)
    vectors[order] = np.asarray(stored.sentence_vectors[np.asarray(rows)[order]], dtype=np.float32)
    return vectors @ np.asarray(vector, dtype=np.float32)


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _listed(words: list[str], joiner: str = "or") -> str:
    quoted = [f"“{w}”" for w in words[:4]] + ([f"{len(words) - 4} more"] if len(words) > 4 else [])
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" {joiner} " + quoted[-1]


# --- deciding -------------------------------------------------------------------------


def decide(evidence: Evidence, weights: WeightSet, model: str) -> Verdict:
    """The verdict for gathered evidence under one weight set."""
    confidence = weights.probability(evidence.features)
    answered = confidence >= weights.threshold
    effects = weights.effects(evidence.features)
    # + 0.0 turns a rounded -0.0 into 0.0 (a neutral signal shows no effect, not "-0.0").
    reasons = [Reason(name, round(evidence.features[name], 4), evidence.texts[name], round(effects[name], 4) + 0.0)
               for name in weights.features]
    reasons.sort(key=lambda r: -r.effect if answered else r.effect)
    return Verdict(answered, confidence, tuple(reasons), evidence.marked, evidence.similarity, model,
                   tuple(sorted(evidence.features.items())))


def verdict_for(query: Query, vector: np.ndarray | None, candidates: Candidates, stored: Any) -> Verdict:
    """Whether the documents answer `query`, judged from the candidates (not from the hits shown)."""
    model = candidates.mode if vector is not None else "bm25"
    weights = load_weights()[model]
    evidence = gather(query, vector, candidates, stored)
    if not candidates.ranking:   # nothing to judge: no passage shares a word with the question
        empty = Reason("no_passage", 1.0, "no passage matches the question", 0.0)
        return Verdict(False, 0.0, (empty,), (), evidence.similarity, model, tuple(sorted(evidence.features.items())))
    if evidence.features["terms_in_corpus"] == 0.0:
        # Not one word the question is about occurs in the documents ("a recipe for guacamole"): they
        # cannot state its answer, however close some passage's vector comes. Of 172 answerable fit
        # questions none is in this case; of 68 off-topic ones, 31 are.
        absent = Reason("terms_in_corpus", 0.0, evidence.texts["terms_in_corpus"], 0.0)
        return Verdict(False, 0.0, (absent,), evidence.marked, evidence.similarity, model,
                       tuple(sorted(evidence.features.items())))
    return decide(evidence, weights, model)


def _heading_of(hit: Hit, offset: int, stored: Any) -> str | None:
    """An HTML passage runs on across headings and is cited under the one it starts under: the heading the
    answer at `offset` is under, when it is another one."""
    if hit.passage.source_line is None:
        return None
    region = stored.region_at(hit.passage.file, offset)
    if region is None or not region.heading or region.heading == hit.passage.heading:
        return None
    return nearest_heading(region.heading)


def mark_answers(hits: list[Hit], primaries: list[Passage], vector: np.ndarray | None, stored: Any) -> list[Hit]:
    """The top hits with their answering sentence marked: the sentence of the passage that ranked
    (not of what was merged into it) closest to the question."""
    if vector is None or stored.sentence_vectors is None:
        return hits
    top = hits[: config.ANSWER_PASSAGES]
    found = [stored.sentences_in(p.file, p.start, p.end) for p in primaries[: len(top)]]
    rows = sorted({row for sentences in found for row, _, _ in sentences})
    if not rows:
        return hits
    similarity = dict(zip(rows, np.asarray(stored.sentence_vectors[rows], dtype=np.float32) @ vector))
    marked = []
    for hit, sentences in zip(top, found):
        if sentences:
            _, start, end = max(sentences, key=lambda sentence: similarity[sentence[0]])
            hit = replace(hit, answer_start=start, answer_end=end, answer_heading=_heading_of(hit, start, stored))
        marked.append(hit)
    return marked + hits[len(top):]
