"""Hybrid ranking by a learned scorer over the candidates of both searches.

    ranking = Ranker.load().rank(query, vector, dense, sparse, stored)

The candidates are the union of the dense and BM25 top `depth`. Each gets a few features that take
microseconds (FEATURES): how close its closest sentence is to the question, its rank on the dense side and
that side's lead, its BM25 score (scored exactly for candidates only the dense side found), how much of the
question's rarer words it holds, the question's names written as code (in it, and opening one of its lines as
a reference's definition does) and its adjacent word pairs found in it, its file's name, and its similarity to the
question moved towards the passages dense search is surest of (pseudo-relevance feedback). A linear scorer
whose weights live in qa/search/ranker.json (plain JSON, written by `python -m qa.search.fit`) orders them.
Reciprocal-rank fusion (qa/search/fusion.py, `fusion="rrf"`) sees ranks only: a passage one side is sure of
counts like any other first place, and the scores are lost.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.errors import IndexFormatError
from qa.ingest.split import Passage
from qa.query import Query
from qa.search.bm25 import BM25, STOP_WORDS, passage_terms

if TYPE_CHECKING:
    from qa.store.sentences import SentenceVectors

RANKER_FILE = Path(__file__).with_name("ranker.json")
RANKER_FORMAT = 1

#: The features of one candidate, in the order of the weight vector. Chosen by backward elimination on the
#: fit sets (`python -m qa.search.fit --report`, cross-validated MRR@10): the passage's own similarity, BM25's
#: ranks and margin, reciprocal-rank fusion's score and "holds every word" added nothing beside these.
FEATURES = (
    "best_sentence",       # cosine of the question and the passage's closest sentence (late-chunked vectors)
    "dense_first",         # 1 / dense rank (0 outside the dense top `depth`)
    "dense_margin",        # for the dense first: its lead in similarity over the second (else 0)
    "bm25_relative",       # BM25 score / the best BM25 score of the question (scored for every candidate)
    "coverage",            # share of the question's words (weighted by rarity) the passage holds
    "names",               # share of the question's names written as code the passage holds (0 without any)
    "defines",             # share of those names that open a line of the passage (where a reference defines one)
    "pairs",               # share of the question's adjacent word pairs found adjacent in the passage
    "title",               # share of the question's words in the file's name
    "names_bm25",          # bm25_relative, for a question that names something as code (else 0)
    "length",              # log of the passage's length in characters
    "feedback",            # cosine to the question moved towards the dense top 3 (pseudo-relevance feedback)
)
#: The feedback feature's question: the question's vector plus FEEDBACK_WEIGHT times the mean of the dense
#: side's first FEEDBACK_PASSAGES passages, normalised (chosen by the fit's cross-validation: 3 and 0.7 over
#: 3 or 10 passages and 0.3 or 0.7).
FEEDBACK_PASSAGES = 3
FEEDBACK_WEIGHT = 0.7


class PassageRows(Protocol):
    """What ranking reads from an index."""

    bm25: BM25
    vectors: np.ndarray | None
    sentence_vectors: SentenceVectors | None

    def passages(self, rows: list[int]) -> list[Passage]: ...

    def sentence_spans(self) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class Ranker:
    """A linear scorer: score = sum(weight * (feature - mean) / scale)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    depth: int = 50

    @classmethod
    def load(cls, path: Path = RANKER_FILE) -> Ranker:
        return _load(str(path))

    def rank(self, query: Query, vector: np.ndarray | None, dense: list[tuple[int, float]],
             sparse: list[tuple[int, float]], stored: PassageRows) -> Ranking:
        """The candidates of both rankings, best first, with their scores and what made them."""
        rows, matrix = features(query, vector, dense[: self.depth], sparse[: self.depth], stored)
        added = (matrix - np.asarray(self.means)) / np.asarray(self.scales) * np.asarray(self.weights)
        scores = added.sum(axis=1)
        order = sorted(range(len(rows)), key=lambda i: (-scores[i], rows[i]))
        return Ranking([(rows[i], float(scores[i])) for i in order], dict(zip(rows, added)))


@dataclass(frozen=True)
class Ranking:
    """A ranker's order of the candidates, and what each feature added to each candidate's score."""

    order: list[tuple[int, float]]
    added: dict[int, np.ndarray]

    def ranked_by(self, row: int | None) -> tuple[tuple[str, float], ...]:
        """What each feature added to `row`'s score, largest effect first (empty for a row not ranked)."""
        if row not in self.added:
            return ()
        pairs = [(name, round(float(v), 4)) for name, v in zip(FEATURES, self.added[row])]
        return tuple(sorted(pairs, key=lambda pair: -abs(pair[1])))


@lru_cache(maxsize=4)
def _load(path: str) -> Ranker:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != RANKER_FORMAT or tuple(data["features"]) != FEATURES:
            raise ValueError("the features differ from this version's")
        weights = tuple(float(w) for w in data["weights"])
        means = tuple(float(m) for m in data["means"])
        scales = tuple(float(s) if float(s) > 0 else 1.0 for s in data["scales"])
        if not len(weights) == len(means) == len(scales) == len(FEATURES):
            raise ValueError("one number per feature is needed")
        if not all(math.isfinite(x) for x in weights + means + scales):
            raise ValueError("a weight is not a finite number")
        return Ranker(weights, means, scales, int(data.get("depth", 50)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise IndexFormatError(f"The ranker's weights ({path}) cannot be read: {error}. Reinstall qa.") from None


def _content(terms: tuple[str, ...] | list[str]) -> list[str]:
    """Terms that are not English function words, each once, in order."""
    return list(dict.fromkeys(t for t in terms if t not in STOP_WORDS))


_STEM_SPLIT = re.compile(r"[\W_]+")


@lru_cache(maxsize=4096)
def _name_words(file: str) -> frozenset[str]:
    """The words of a file's name without its folder and extension (`library/os.path.txt`: os, path)."""
    return frozenset(_STEM_SPLIT.split(Path(file).stem.lower()))


#: What may come before a name that a line defines: markup (`#`, `*`, `>`, backquotes, a list's dash, a
#: decorator's `@`), and the words API references put there (Python's "class", "exception"...; C's types).
_DEFINING = (r"(?m)^[ \t>#*`@-]*(?:(?:class|exception|def|function|method|attribute|data|decorator|coroutine|"
             r"awaitable|abstractmethod|classmethod|staticmethod|struct|enum|union|static|inline|extern|const|void|"
             r"int|long|unsigned|char|bool|u8|u16|u32|u64|size_t)\s+\**)*")


@lru_cache(maxsize=1024)
def _definition_pattern(name: str) -> re.Pattern[str]:
    """A line of lower-cased text that opens with `name` (a name written as code): `shutil.make_archive(`, `class
    json.JSONDecoder`, `void *kmalloc(`, `### zip()`, as a reference defines it."""
    bare = name[:-2] if name.endswith("()") else name
    return re.compile(_DEFINING + re.escape(bare) + r"(?![\w]|\.\w)")


@lru_cache(maxsize=1024)
def _name_pattern(name: str) -> re.Pattern[str]:
    """Where a name written as code (qa.search.bm25.identifiers: `json.dumps`, `zip()`, `indent=4`) occurs in
    lower-cased text, as a whole name: `zip()` as `zip(` with any arguments, never inside a longer name."""
    if name.endswith("()"):
        return re.compile(r"(?<![\w.])" + re.escape(name[:-1]))
    return re.compile(r"(?<![\w.])" + re.escape(name) + r"(?![\w]|\.\w)")


def _best_sentences(candidates: np.ndarray, similarity: np.ndarray, vector: np.ndarray | None,
                    stored: PassageRows) -> np.ndarray:
    """Each candidate's closest sentence to the question (its passage's similarity when it has no sentence
    vectors, or the index has none)."""
    best = similarity.copy()
    if vector is None or stored.sentence_vectors is None:
        return best
    first, count = stored.sentence_spans()
    starts, counts = first[candidates], count[candidates]
    has = counts > 0
    if not has.any():
        return best
    owner = np.repeat(np.flatnonzero(has), counts[has])
    offsets = np.arange(len(owner)) - np.repeat(np.cumsum(counts[has]) - counts[has], counts[has])
    rows = np.repeat(starts[has], counts[has]) + offsets
    sims = np.asarray(stored.sentence_vectors[rows], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    top = np.full(len(candidates), -np.inf)
    np.maximum.at(top, owner, sims)
    best[has] = top[has]
    return best


def features(query: Query, vector: np.ndarray | None, dense: list[tuple[int, float]],
             sparse: list[tuple[int, float]], stored: PassageRows) -> tuple[list[int], np.ndarray]:
    """The candidate rows (dense first, then BM25's new ones) and their FEATURES, one row each."""
    rows = list(dict.fromkeys([row for row, _ in dense] + [row for row, _ in sparse]))
    matrix = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    if not rows:
        return rows, matrix
    column = {name: i for i, name in enumerate(FEATURES)}
    position = {row: i for i, row in enumerate(rows)}
    candidates = np.asarray(rows, dtype=np.int64)

    # Dense side: each candidate's closest sentence (its passage's similarity from the stored vectors when BM25
    # found it alone), the dense ranks, and how far the dense first leads.
    similarity = np.zeros(len(rows))
    if vector is not None and stored.vectors is not None:
        vectors = np.asarray(stored.vectors[candidates], dtype=np.float32)
        asked = np.asarray(vector, dtype=np.float32)
        similarity = np.asarray(vectors @ asked, dtype=np.float64)
        if dense:
            # A paraphrase's words miss the page's; the passages dense search is surest of say it in the page's.
            moved = asked + FEEDBACK_WEIGHT * vectors[[position[row] for row, _ in dense[:FEEDBACK_PASSAGES]]].mean(axis=0)
            matrix[:, column["feedback"]] = vectors @ (moved / max(float(np.linalg.norm(moved)), 1e-12))
    else:
        similarity[:] = min((cosine for _, cosine in dense), default=0.0)
        for row, cosine in dense:
            similarity[position[row]] = cosine
    matrix[:, column["best_sentence"]] = _best_sentences(candidates, similarity, vector, stored)
    if len(dense) > 1:
        matrix[position[dense[0][0]], column["dense_margin"]] = dense[0][1] - dense[1][1]
    for rank, (row, _) in enumerate(dense, start=1):
        matrix[position[row], column["dense_first"]] = 1.0 / rank

    # BM25 side: exact scores of every candidate, and the question's words each one holds.
    bm25 = stored.bm25
    words = _content(query.terms)
    score = np.zeros(len(rows))
    held = np.zeros((len(rows), len(words)), dtype=bool)
    rarity = np.zeros(len(words))
    for term in query.terms_in(bm25.scheme):
        t = bm25.vocabulary.get(term)
        if t is None:
            continue
        postings = bm25.rows[bm25.indptr[t] : bm25.indptr[t + 1]]     # ascending rows
        found = np.minimum(np.searchsorted(postings, candidates), len(postings) - 1)
        hit = postings[found] == candidates
        score[hit] += bm25.weights[bm25.indptr[t] : bm25.indptr[t + 1]][found[hit]]
        if term in words:
            w = words.index(term)
            held[:, w] = hit
            documents = len(postings)
            rarity[w] = math.log(1 + (bm25.size - documents + 0.5) / (documents + 0.5))
    best = score.max()
    matrix[:, column["bm25_relative"]] = score / best if best > 0 else 0.0
    if words and rarity.sum() > 0:
        matrix[:, column["coverage"]] = held @ rarity / rarity.sum()

    # Text: names written as code, adjacent word pairs, the file's name, the length.
    named = list(dict.fromkeys(query.identifiers))
    names, definitions = [_name_pattern(n) for n in named], [_definition_pattern(n) for n in named]
    pairs = set(zip(query.terms, query.terms[1:]))
    pairs = {pair for pair in pairs if not (pair[0] in STOP_WORDS and pair[1] in STOP_WORDS)}
    # Only a passage holding both words of a pair (function words aside) can hold the pair: the others are
    # not tokenized.
    possible = np.zeros(len(rows), dtype=bool)
    for pair in pairs:
        needed = [words.index(w) for w in pair if w in words]
        possible |= held[:, needed].all(axis=1) if needed else True
    content = set(words)
    for i, passage in enumerate(stored.passages(rows)):
        if names:
            lowered = passage.text.lower()
            matrix[i, column["names"]] = sum(1 for name in names if name.search(lowered)) / len(names)
            matrix[i, column["defines"]] = sum(1 for name in definitions if name.search(lowered)) / len(names)
        if pairs and possible[i]:
            tokens = passage_terms(passage.text)
            matrix[i, column["pairs"]] = len(pairs & set(zip(tokens, tokens[1:]))) / len(pairs)
        if content:
            matrix[i, column["title"]] = len(content & _name_words(passage.file)) / len(content)
        matrix[i, column["length"]] = math.log(1 + len(passage.text))
    if names:
        matrix[:, column["names_bm25"]] = matrix[:, column["bm25_relative"]]
    return rows, matrix
