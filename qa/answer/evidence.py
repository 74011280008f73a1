"""Gathering the verdict's evidence: each signal's value (qa/answer/weights.py SIGNALS) for one question.

Read from a fixed depth of the dense and BM25 rankings (`Candidates`, never the k hits shown) and the
index: the best passages and their sentences, the sentences' vectors, the BM25 statistics. qa/answer/verdict.py
turns the values into the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa import config
from qa.answer.answer_type import holds, holds_unit
from qa.answer.marking import passage_sentences
from qa.answer.terms import (ACRONYM_PREFIX, Term, best_possible_bm25, has_cjk, question_terms, spelled_acronyms,
                             word_forms)
from qa.ingest.split import Passage
from qa.query import Query
from qa.search.bm25 import passage_terms, tokenize
from qa.search.fusion import fuse

if TYPE_CHECKING:
    from qa.store.stored import StoredIndex

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


@dataclass(frozen=True)
class Candidates:
    """The rankings the verdict reads, at a fixed depth (independent of how many hits are shown)."""

    mode: str
    dense: tuple[tuple[int, float], ...]
    sparse: tuple[tuple[int, float], ...]
    ranking: tuple[tuple[int, float], ...]   # the mode's own ranking: fused, dense or BM25

    @classmethod
    def of(cls, mode: str, dense: list[tuple[int, float]], sparse: list[tuple[int, float]],
           settings: config.SearchSettings, ranked: list[tuple[int, float]] | None = None) -> Candidates:
        """Cut both rankings to `settings.depth` and rank as `mode` does: in hybrid mode in the order `ranked`
        (the learned ranker's, made from rankings of that depth: the hits shown), else by fusion."""
        dense, sparse = list(dense[: settings.depth]), list(sparse[: settings.depth])
        if mode == "hybrid":
            ranking = ranked if ranked is not None else fuse(dense, sparse, settings)
        else:
            ranking = dense if mode == "dense" else sparse
        return cls(mode, tuple(dense), tuple(sparse), tuple(ranking))


@dataclass(frozen=True)
class Evidence:
    """The signals' values for one question, with a short text for each."""

    features: dict[str, float]
    texts: dict[str, str]
    similarity: float | None


def gather(query: Query, vector: np.ndarray | None, candidates: Candidates, stored: StoredIndex) -> Evidence:
    """Every signal's value for `query` from the candidates' best passages (see SIGNALS)."""
    bm25 = stored.bm25
    terms = question_terms(query, bm25)
    rows = [row for row, _ in candidates.ranking[:EVIDENCE_PASSAGES]]
    passages = stored.passages(rows)
    passage_words = [set(passage_terms(p.text, bm25.scheme)) for p in passages]
    features: dict[str, float] = {}
    texts: dict[str, str] = {}

    total = sum(t.rarity for t in terms)
    absent = [t.word for t in terms if not t.in_corpus]
    features["terms_in_corpus"] = sum(t.rarity for t in terms if t.in_corpus) / total if total else 1.0
    texts["terms_in_corpus"] = (f"{_listed(absent)} never occur{'s' if len(absent) == 1 else ''} in these documents"
                                if absent else "every word of the question occurs in the documents")
    shares = [sum(t.rarity for t in terms if t.forms & found) / total if total else 1.0 for found in passage_words]
    features["terms_in_best_passage"] = max(shares, default=0.0)
    texts["terms_in_best_passage"] = (f"the best passages hold at most {features['terms_in_best_passage']:.0%} "
                                      "of the question's words, weighted by rarity")
    names = [t for t in terms if t.named]
    unknown = [t.word for t in names if not t.in_corpus]
    features["names_unknown"] = len(unknown) / len(names) if names else 0.0
    texts["names_unknown"] = (f"{_listed(unknown, 'and')} never occur{'s' if len(unknown) == 1 else ''} in these "
                              "documents" if unknown else "the documents mention every name and number of the question"
                              if names else "the question names no name or number")
    acronyms = any(form.startswith(ACRONYM_PREFIX) for t in names for form in t.forms)
    around = _nearby_terms(rows, passages, stored, acronyms) if names else []
    lost_names = min(([t for t in names if not t.forms & found] for found in around),
                     key=lambda lost: sum(t.rarity for t in lost), default=names)
    names_weight = max(sum(t.rarity for t in names), NAMES_WEIGHT_FLOOR)
    features["names_missing"] = sum(t.rarity for t in lost_names) / names_weight if names else 0.0
    names_missing = [t.word for t in lost_names]
    texts["names_missing"] = (f"no best passage mentions {_listed(names_missing, 'and')} with the question's other "
                              "names" if names_missing and len(names_missing) < len(names) else
                              f"none of the best passages mentions {_listed(names_missing)}" if names_missing else
                              "one of the best passages mentions every name and number of the question" if names else
                              "the question names no name or number")

    sentences = _sentences(passages, stored)
    similarities = _sentence_similarities(sentences, vector, stored)
    if similarities is None:   # no model: rank sentences by the rarity of the question's words they hold
        rarity = {form: t.rarity for t in terms for form in t.forms}
        # Summed in sorted order: a set's order changes from one process to the next (string hashing),
        # and with it the last bits of the sum, which decide ties between sentences.
        scores = [sum(rarity.get(w, 0.0) for w in sorted(set(tokenize(text, bm25.scheme))))
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
    best_possible = best_possible_bm25(query, bm25)
    features["bm25_strength"] = min(1.0, sparse_scores[0] / best_possible) if sparse_scores and best_possible else 0.0
    texts["bm25_strength"] = (f"the best BM25 passage scores {features['bm25_strength']:.0%} of what "
                              "the question's words can score")
    features["bm25_margin"] = ((sparse_scores[0] - sparse_scores[1]) / sparse_scores[0]
                               if len(sparse_scores) > 1 and sparse_scores[0] > 0 else 1.0 if sparse_scores else 0.0)
    texts["bm25_margin"] = f"the best BM25 passage leads the next by {features['bm25_margin']:.0%}"
    if not terms and query.script != "latin" and not has_cjk(bm25):
        # A question in Chinese or Japanese over documents with no such text: none of its words can occur
        # in them (and the model reads English). Said so, rather than naming character pairs.
        features["terms_in_corpus"] = 0.0
        texts["terms_in_corpus"] = "the question is in Chinese or Japanese and these documents hold no text in either"
    return Evidence(features, texts, similarity)


def _answer_near_subject(kind: str | None, query: Query, sentences: list[tuple[str, int, int, str, int | None]],
                         terms: list[Term], scheme: str) -> tuple[float, str]:
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


def _nearby_terms(rows: list[int], passages: list[Passage], stored: StoredIndex, acronyms: bool) -> list[set[str]]:
    """For each evidence passage, the terms of it and of its NEARBY_PASSAGES neighbours on each side in
    its file: a name and a number in one paragraph may fall into two neighbouring passages. With `acronyms`
    (the question names one), also the acronyms its capitalised runs spell."""
    wanted = sorted({n for r in rows for n in range(r - NEARBY_PASSAGES, r + NEARBY_PASSAGES + 1) if 0 <= n < stored.size})
    found = dict(zip(wanted, stored.passages(wanted)))
    # "LAC" is found where "Latin American and Caribbean" is.
    terms = {row: set(passage_terms(p.text, stored.bm25.scheme)) | (spelled_acronyms(p.text) if acronyms else set())
             for row, p in found.items()}
    return [set().union(*(terms[n] for n in range(r - NEARBY_PASSAGES, r + NEARBY_PASSAGES + 1)
                           if n in found and found[n].file == p.file)) for r, p in zip(rows, passages)]


def _sentences(passages: list[Passage], stored: StoredIndex) -> list[tuple[str, int, int, str, int | None]]:
    """`(file, start, end, text, vector row)` of each distinct sentence in the passages."""
    seen: dict[tuple[str, int, int], tuple[str, int, int, str, int | None]] = {}
    for p in passages:
        for row, start, end in passage_sentences(p, stored):
            seen.setdefault((p.file, start, end), (p.file, start, end, p.text[start - p.start : end - p.start], row))
    return list(seen.values())


def _sentence_similarities(sentences: list[tuple[str, int, int, str, int | None]], vector: np.ndarray | None,
                           stored: StoredIndex) -> np.ndarray | None:
    rows = [s[4] for s in sentences]
    if vector is None or stored.sentence_vectors is None or None in rows:
        return None
    if not rows:
        return np.zeros(0, dtype=np.float32)
    order = np.argsort(np.asarray(rows, dtype=np.int64))   # read the memory-mapped rows in ascending order
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
