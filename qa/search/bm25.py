"""BM25 over passages, precomputed as a sparse term-by-passage matrix of plain arrays.

The scores are exactly rank-bm25's `BM25Okapi` (same idf with its epsilon floor,
same k1 and b), but the per-passage weights are computed once at index time and
saved, so a query only adds up a few rows instead of scoring every passage in
Python. A test checks the scores against rank-bm25 itself.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.config import BM25_B, BM25_EPSILON, BM25_K1
from qa.errors import IndexFormatError

#: Scripts written without spaces between words: Han ideographs (with extensions and compatibility forms),
#: Hiragana and Katakana (with half-width forms). Hangul is written with spaces and stays in words.
_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
#: A run of CJK characters, or a run of other letters and digits.
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+", re.UNICODE)

#: Common English function words: the verdict does not count them as the question's key terms.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves""".split()
)
#: How text becomes terms (see `tokenize`).
SCHEMES = ("plain", "code")
#: Schemes older builds could record (English stems, and stems without stop words): measured and rejected
#: (tests/bench/RESULTS.md); an index built with one must be rebuilt.
RETIRED_SCHEMES = ("stem", "stem-stop")

#: A name as code writes it: words joined by dots or underscores (`os.environ`, `hashlib.sha256`,
#: `snake_case_names`, `__init__`), a call (`zip(`), or an option (`strict=True`, `indent=4`).
_IDENTIFIER = re.compile(r"(?<![\w.])(\w+(?:\.\w+)*)(\(|=\w+)?")


def tokenize(text: str, scheme: str = "plain") -> list[str]:
    """BM25 terms of `text`: lower-cased runs of letters and digits ("plain"), and names written as code ("code").

    The "code" scheme adds, to the plain words, each name written as code kept whole: `os.environ`
    gives "os", "environ" and "os.environ"; `zip(` also "zip()"; `strict=True` also "strict=true".

    A run of CJK characters becomes its overlapping character pairs ("大熊猫" -> "大熊", "熊猫"), and a
    lone CJK character stays one term: the usual baseline for text without spaces (as Lucene's CJK
    bigram filter does), so a two-character word matches wherever it occurs inside a longer run.
    """
    words = _TOKEN.findall(text.lower())
    if _IS_CJK.search(text):     # most text has none: no per-word work then
        words = [piece for word in words for piece in _pieces(word)]
    if scheme == "plain":
        return words
    if scheme == "code":
        return words + identifiers(text)
    raise ValueError(f"unknown BM25 terms {scheme!r}; choose one of {', '.join(SCHEMES)}")


@lru_cache(maxsize=4096)
def passage_terms(text: str, scheme: str = "plain") -> tuple[str, ...]:
    """`tokenize` of a passage's text, remembered for the last few thousand texts: a question's candidates
    are read by the ranker, by collapsing and by the verdict, and a warm server sees them again."""
    return tuple(tokenize(text, scheme))


def identifiers(text: str) -> list[str]:
    """Names written as code in `text`, lower-cased and kept whole (a plain word only as a call, `zip()`)."""
    terms = []
    for match in _IDENTIFIER.finditer(text.lower()):
        name, suffix = match.group(1).strip("."), match.group(2)
        compound = "." in name or "_" in name.strip("_") or name != name.strip("_")
        if compound and re.search(r"[^\W\d_]", name):
            terms.append(name)
        if suffix == "(":
            terms.append(name + "()")
        elif suffix:
            terms.append(name + suffix)
    return terms


def _pieces(word: str) -> list[str]:
    """A CJK run as its character bigrams (a lone character as itself); any other word unchanged."""
    if len(word) < 2 or not _IS_CJK.match(word):
        return [word]
    return [word[i : i + 2] for i in range(len(word) - 1)]


_IS_CJK = re.compile(f"[{_CJK}]")


@dataclass
class BM25:
    """Term-major sparse weights: passages `rows[indptr[t]:indptr[t+1]]` contain term `t`."""

    vocabulary: dict[str, int]
    indptr: np.ndarray    # int64, len(vocabulary) + 1
    rows: np.ndarray      # int32, passage row numbers
    weights: np.ndarray   # float32, BM25 weight of the term in that passage
    size: int             # number of passages
    scheme: str = "plain"  # how text becomes terms (see `tokenize`)

    @classmethod
    def build(
        cls,
        texts: list[str],
        scheme: str = "plain",
        k1: float = BM25_K1,
        b: float = BM25_B,
        epsilon: float = BM25_EPSILON,
    ) -> BM25:
        """Weights for every (term, passage) pair of `texts` (ValueError for a scheme not in SCHEMES)."""
        if scheme not in SCHEMES:
            raise ValueError(f"unknown BM25 terms {scheme!r}; choose one of {', '.join(SCHEMES)}")
        vocabulary: dict[str, int] = {}
        chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # (terms, rows, frequencies)
        lengths = np.zeros(len(texts), dtype=np.float64)
        for first in range(0, len(texts), 20_000):   # in chunks: a million passages fit in memory
            term_ids: list[int] = []
            row_ids: list[int] = []
            freqs: list[int] = []
            for row, text in enumerate(texts[first : first + 20_000], start=first):
                tokens = tokenize(text, scheme)
                lengths[row] = len(tokens)
                for term, count in Counter(tokens).items():
                    term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
                    row_ids.append(row)
                    freqs.append(count)
            chunks.append((np.asarray(term_ids, dtype=np.int32), np.asarray(row_ids, dtype=np.int32),
                           np.asarray(freqs, dtype=np.float32)))
        terms = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int32)
        rows = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int32)
        tf = np.concatenate([c[2] for c in chunks]).astype(np.float64) if chunks else np.zeros(0)
        n = len(texts)
        document_freq = np.bincount(terms, minlength=len(vocabulary)).astype(np.float64)
        idf = np.log(n - document_freq + 0.5) - np.log(document_freq + 0.5)
        if len(idf):
            idf[idf < 0] = epsilon * idf.mean()
        average_length = lengths.sum() / n if n else 0.0
        norm = k1 * (1 - b + b * lengths[rows] / average_length) if average_length else np.full(len(rows), k1)
        weights = idf[terms] * tf * (k1 + 1) / (tf + norm)
        order = np.argsort(terms, kind="stable")
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(document_freq.astype(np.int64), out=indptr[1:])
        return cls(vocabulary, indptr, rows[order], weights[order].astype(np.float32), n, scheme)

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows that share a term with `query`, and their scores (a repeated word counts again)."""
        total = np.zeros(self.size, dtype=np.float32)
        touched = np.zeros(self.size, dtype=bool)
        for term in tokenize(query, self.scheme):
            t = self.vocabulary.get(term)
            if t is None:
                continue
            rows = self.rows[self.indptr[t] : self.indptr[t + 1]]
            total[rows] += self.weights[self.indptr[t] : self.indptr[t + 1]]
            touched[rows] = True
        matched = np.flatnonzero(touched)
        return matched, total[matched]

    def top(self, query: str, depth: int) -> list[tuple[int, float]]:
        """The best `depth` rows for `query` with their scores, best first."""
        rows, scores = self.scores(query)
        if len(rows) > depth:
            keep = np.argpartition(-scores, depth - 1)[:depth]
            rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))
        return [(int(rows[i]), float(scores[i])) for i in order]

    # --- plain files ------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write `bm25.terms.json` and three `.npy` arrays."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (folder / "bm25.terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        np.save(folder / "bm25.indptr.npy", self.indptr)
        np.save(folder / "bm25.rows.npy", self.rows)
        np.save(folder / "bm25.weights.npy", self.weights)

    @classmethod
    def load(cls, folder: Path, size: int, scheme: str = "plain") -> BM25:
        """Read what `save` wrote; never unpickles. Terms made by a retired scheme raise IndexFormatError
        asking for a rebuild (a question's terms could not match them any more)."""
        if scheme in RETIRED_SCHEMES:
            index_dir = folder.parent
            raise IndexFormatError(
                f"The index at {index_dir} was built with stemmed BM25 terms ({scheme!r}), which this qa no longer "
                f"reads. Rebuild it with: qa index --index {index_dir}")
        if scheme not in SCHEMES:
            raise ValueError(f"unknown BM25 terms {scheme!r}")
        terms = json.loads((folder / "bm25.terms.json").read_text(encoding="utf-8"))
        indptr = np.load(folder / "bm25.indptr.npy", allow_pickle=False)
        rows = np.load(folder / "bm25.rows.npy", allow_pickle=False)
        weights = np.load(folder / "bm25.weights.npy", allow_pickle=False)
        if len(indptr) != len(terms) + 1 or len(rows) != len(weights) or int(indptr[-1]) != len(rows):
            raise ValueError("BM25 arrays do not match each other")
        if len(rows) and (int(rows.max()) >= size or int(rows.min()) < 0):
            raise ValueError("BM25 arrays point past the passages")
        return cls({t: i for i, t in enumerate(terms)}, indptr, rows, weights, size, scheme)

