"""The learned hybrid ranker (qa/search/rank.py): its features, its scoring, and its weights file.

The features are checked against what they stand for (BM25's own scores, the stored vectors, the question's
names written as code); the scorer against hand-made weights. Retrieval quality with the shipped weights is
measured at size (`python -m qa.search.fit --report`, tests/bench/questions/README.md), not here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.config import SearchSettings
from qa.errors import IndexFormatError
from qa.index import Index
from qa.ingest.split import Passage
from qa.query import Query
from qa.search.bm25 import BM25
from qa.search.fusion import fuse
from qa.search.rank import FEATURES, RANKER_FILE, Ranker, _load, features


@pytest.fixture(scope="module")
def fake_index(fake_seeds_index: Path) -> Index:
    return Index.open(fake_seeds_index)


def candidates(index: Index, question: str, depth: int = 8):
    query = Query.of(question)
    [(vector, dense, sparse)] = index.rankings([query], "hybrid", depth)
    return query, vector, dense, sparse


def only(name: str, weight: float = 1.0) -> Ranker:
    """A ranker that reads one feature."""
    weights = tuple(weight if f == name else 0.0 for f in FEATURES)
    return Ranker(weights, (0.0,) * len(FEATURES), (1.0,) * len(FEATURES), depth=8)


def test_candidates_are_both_sides_and_bm25_scores_are_exact_for_rows_only_dense_found(fake_index: Index):
    query, vector, dense, sparse = candidates(fake_index, "How many pandas were born at the breeding centre?")
    rows, matrix = features(query, vector, dense, sparse, fake_index.stored)
    assert set(rows) == {r for r, _ in dense} | {r for r, _ in sparse}
    scored_rows, scores = fake_index.stored.bm25.scores(query.text)
    exact = dict(zip(scored_rows.tolist(), scores.tolist()))
    best = max(exact.values())
    column = FEATURES.index("bm25_relative")
    only_dense = [r for r in rows if r not in dict(sparse)]
    assert only_dense, "the check needs a candidate BM25 did not rank"
    for row, values in zip(rows, matrix):
        assert values[column] == pytest.approx(exact.get(row, 0.0) / best, rel=1e-5)


def test_dense_ranks_and_the_first_ones_lead(fake_index: Index):
    query, vector, dense, sparse = candidates(fake_index, "What did the council decide about the bridge?")
    rows, matrix = features(query, vector, dense, sparse, fake_index.stored)
    margin = matrix[:, FEATURES.index("dense_margin")]
    assert margin[rows.index(dense[0][0])] == pytest.approx(dense[0][1] - dense[1][1]) and margin.sum() == margin.max()
    for rank, (row, score) in enumerate(dense, start=1):
        assert matrix[rows.index(row), FEATURES.index("dense_first")] == pytest.approx(1 / rank)


def test_a_line_that_opens_with_the_name_defines_it():
    texts = ["shutil.make_archive(base_name, format[, root_dir])\n\nCreate an archive file and return its name.",
             "Archives are made by shutil.make_archive, see below.",
             "class json.JSONDecoder(*, object_hook=None)\n\nSimple JSON decoder.",
             "   void *kmalloc(size_t size, gfp_t flags)\nallocate memory",
             "### `zip()`\nIterate over several iterables in parallel.",
             "shutil.make_archives_extra(x)\nAnother function, whose name only begins the same."]

    class Rows:
        bm25 = BM25.build(texts)
        vectors = sentence_vectors = None

        def passages(self, rows):
            return [Passage("library/x.txt", 0, len(texts[r]), 1, 1, texts[r]) for r in rows]

    def defines(question: str) -> list[float]:
        rows, matrix = features(Query.of(question), None, [(r, 0.5) for r in range(len(texts))], [], Rows())
        return [matrix[rows.index(r), FEATURES.index("defines")] for r in range(len(texts))]

    assert defines("shutil.make_archive") == [1.0, 0, 0, 0, 0, 0]
    assert defines("What does json.JSONDecoder do?")[2] == 1.0
    assert defines("kmalloc() flags")[3] == 1.0
    assert defines("zip() strict")[4] == 1.0
    assert defines("How do I make an archive?") == [0.0] * len(texts)


def test_a_confident_side_can_put_its_first_row_on_top(fake_index: Index):
    query, vector, dense, sparse = candidates(fake_index, "panda cubs born in captivity")
    assert only("bm25_relative").rank(query, vector, dense, sparse, fake_index.stored).order[0][0] == sparse[0][0]
    assert only("dense_first").rank(query, vector, dense, sparse, fake_index.stored).order[0][0] == dense[0][0]


def test_names_written_as_code_pairs_and_the_file_name(fake_index: Index):
    texts = ["Call json.dumps with sort_keys to get stable output.",
             "Output that is stable comes from sorting, then dumping."]

    class Rows:
        """Two passages: one holds `json.dumps` and the question's word pair, in a file named after them."""
        bm25 = BM25.build(texts)
        vectors = sentence_vectors = None

        def passages(self, rows):
            files = ["library/json.txt", "library/pickle.txt"]
            return [Passage(files[r], 0, len(texts[r]), 1, 1, texts[r]) for r in rows]

    query = Query.of("How do I get stable output from json.dumps?")
    rows, matrix = features(query, None, [(0, 0.5), (1, 0.4)], [], Rows())
    names, pairs, title = (matrix[:, FEATURES.index(f)] for f in ("names", "pairs", "title"))
    assert names.tolist() == [1.0, 0.0]
    assert pairs[0] > pairs[1] and title[0] > 0 == title[1]
    assert matrix[:, FEATURES.index("names_bm25")].tolist() == matrix[:, FEATURES.index("bm25_relative")].tolist()
    plain = Query.of("How do I get stable output?")
    _, matrix = features(plain, None, [(0, 0.5), (1, 0.4)], [], Rows())
    assert not matrix[:, FEATURES.index("names")].any() and not matrix[:, FEATURES.index("names_bm25")].any()


def test_feedback_favours_a_passage_like_the_ones_dense_search_is_surest_of():
    """Two candidates equally close to the question: the one that says it as the dense top 3 passages do (the
    page's words, where a paraphrase uses its own) gets the higher feedback value, and ranks first on it."""
    texts = ["sorted copy", "sort in place", "list sorting", "near the top ones", "away from them"]
    e = np.eye(4, dtype=np.float32)
    question = (e[0] + e[1]) / np.sqrt(2)
    top = [(e[0] * 0.9 + e[2] * 0.436), (e[0] * 0.9 + e[2] * 0.436), (e[0] * 0.95 + e[3] * 0.312)]
    near, away = e[0] * 0.5 + e[1] * 0.5 + e[2] * 0.7071, e[0] * 0.5 + e[1] * 0.5 - e[2] * 0.7071

    class Rows:
        bm25 = BM25.build(texts)
        vectors = np.vstack([*top, near, away]).astype(np.float32)
        sentence_vectors = None

        def passages(self, rows):
            return [Passage(f"f{r}.txt", 0, len(texts[r]), 1, 1, texts[r]) for r in rows]

    rows = Rows()
    dense = [(r, float(rows.vectors[r] @ question)) for r in (0, 1, 2, 3, 4)]
    assert dense[3][1] == pytest.approx(dense[4][1])   # the question cannot tell the two apart
    found, matrix = features(Query.of("how do I sort"), question, dense, [], rows)
    feedback = matrix[:, FEATURES.index("feedback")]
    assert feedback[found.index(3)] > feedback[found.index(4)] + 0.1
    order = [row for row, _ in only("feedback").rank(Query.of("how do I sort"), question, dense, [], rows).order]
    assert order.index(3) < order.index(4)


def test_each_hit_says_what_each_feature_added(fake_index: Index):
    learned = Index(fake_index.stored, search=replace(SearchSettings(), fusion="learned"))
    hits = learned.search("panda cubs born", k=3, mode="hybrid")
    for hit in hits:
        assert {name for name, _ in hit.ranked_by} == set(FEATURES)
        assert sum(value for _, value in hit.ranked_by) == pytest.approx(hit.score, abs=1e-3)
        effects = [abs(value) for _, value in hit.ranked_by]
        assert effects == sorted(effects, reverse=True)
    rrf = Index(fake_index.stored, search=replace(SearchSettings(), fusion="rrf"))
    assert all(hit.ranked_by == () for hit in rrf.search("panda cubs born", k=3, mode="hybrid"))


def test_the_shipped_weights_are_plain_json_for_these_features():
    data = json.loads(RANKER_FILE.read_text())
    assert data["features"] == list(FEATURES)
    assert len(data["weights"]) == len(FEATURES)
    assert Ranker.load().weights == tuple(data["weights"])


@pytest.mark.parametrize("change", [
    {"features": ["dense_similarity"]},
    {"weights": "__import__('os').system('touch pwned')"},
    {"weights": [float("nan")] * len(FEATURES)},
    {"format": 99},
])
def test_a_broken_weights_file_is_refused_with_one_line(tmp_path: Path, change: dict):
    data = json.loads(RANKER_FILE.read_text()) | change
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data))
    _load.cache_clear()
    with pytest.raises(IndexFormatError, match="cannot be read") as raised:
        Ranker.load(path)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "pwned").exists()


def test_hybrid_search_uses_the_ranker_unless_told_rrf(fake_index: Index):
    question = "panda cubs born in captivity"
    query, vector, dense, sparse = candidates(fake_index, question, depth=SearchSettings().depth)
    assert dense[0][0] != sparse[0][0], "the check needs sides that disagree on their first row"
    learned = Index(fake_index.stored, search=replace(SearchSettings(), fusion="learned"))
    for side, first in (("bm25_relative", sparse[0][0]), ("dense_first", dense[0][0])):
        learned.ranker = only(side)
        assert learned.ranked(query, vector, dense, sparse).order[0][0] == first
        [hit] = learned.search(question, k=1, mode="hybrid")
        primary = fake_index.stored.passages([first])[0]
        assert hit.passage.file == primary.file and hit.passage.start <= primary.start < primary.end <= hit.passage.end
    rrf = Index(fake_index.stored, search=replace(SearchSettings(), fusion="rrf"))
    rrf.ranker = only("bm25_relative")
    assert rrf.ranked(query, vector, dense, sparse) is None
    assert rrf.search(question, k=1, mode="hybrid")[0].row == fuse(dense, sparse, rrf.search_settings)[0][0]


def test_best_sentence_is_the_closest_of_the_passages_own_sentence_vectors(fake_index: Index):
    query, vector, dense, sparse = candidates(fake_index, "How many pandas were born at the breeding centre?")
    rows, matrix = features(query, vector, dense, sparse, fake_index.stored)
    _, slices = fake_index.stored.input_keys()
    sentences = np.asarray(fake_index.stored.sentence_vectors, dtype=np.float32)
    column = matrix[:, FEATURES.index("best_sentence")]
    for row, value in zip(rows, column):
        assert slices[row].stop > slices[row].start
        assert value == pytest.approx(float((sentences[slices[row]] @ vector).max()), abs=1e-4)
    passage = np.asarray(fake_index.stored.vectors)[rows] @ vector
    assert not np.allclose(column, passage)
