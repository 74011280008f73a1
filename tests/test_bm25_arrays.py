"""BM25's ranking and its plain files (qa/search/bm25.py): `top` cuts and orders, `save`/`load` round-trip, and
`load` refuses arrays that do not fit together or point past the passages.

Written for the mutation run (tests/README.md, "Mutation testing"): the rank-bm25 comparisons check
`scores` only, so `top`'s cut and tie order, and every check in `load`, could change unseen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa.errors import IndexFormatError
from qa.search.bm25 import BM25, identifiers, tokenize

TEXTS = [
    "owls hunt mice at night",
    "owls owls owls everywhere",
    "the barn is red",
    "mice live in the barn",
    "hawks hunt by day",
    "owls and hawks",
]


def test_top_is_the_best_rows_best_first_cut_to_depth():
    bm25 = BM25.build(TEXTS)
    rows, scores = bm25.scores("owls hunt mice")
    expected = sorted(zip(rows.tolist(), scores.tolist()), key=lambda rs: (-rs[1], rs[0]))
    for depth in (1, 2, 3, len(expected), len(expected) + 5):
        top = bm25.top("owls hunt mice", depth)
        assert [row for row, _ in top] == [row for row, _ in expected[:depth]], depth
        assert [score for _, score in top] == pytest.approx([score for _, score in expected[:depth]])
    assert bm25.top("owls hunt mice", 1)[0][0] == 0, "the passage holding all three words"
    assert all(isinstance(row, int) and isinstance(score, float) for row, score in bm25.top("owls", 3))


def test_equal_scores_are_ordered_by_row():
    bm25 = BM25.build(["cat dog", "dog cat", "bird", "cat dog", "fish"])
    top = bm25.top("cat", 10)
    assert [row for row, _ in top] == [0, 1, 3]
    assert top[0][1] == top[1][1] == top[2][1]
    assert [row for row, _ in bm25.top("cat", 2)] == [0, 1], "the cut keeps the lower rows of a tie"


def test_a_question_with_no_known_word_matches_nothing():
    bm25 = BM25.build(TEXTS)
    rows, scores = bm25.scores("zebra quantum")
    assert len(rows) == 0 and len(scores) == 0
    assert bm25.top("zebra quantum", 5) == []


def test_parameters_reach_the_weights():
    """k1, b and epsilon are rank-bm25's; other values give rank-bm25's scores for those values."""
    texts = TEXTS + ["owls"] * 4       # owls in over half the passages: a negative idf, floored by epsilon
    for k1, b, epsilon in ((1.5, 0.75, 0.25), (0.9, 0.4, 0.5), (2.0, 1.0, 0.1)):
        reference = BM25Okapi([tokenize(t) for t in texts], k1=k1, b=b, epsilon=epsilon).get_scores(
            tokenize("owls hunt barn"))
        ours = np.zeros(len(texts))
        rows, scores = BM25.build(texts, k1=k1, b=b, epsilon=epsilon).scores("owls hunt barn")
        ours[rows] = scores
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


def test_empty_texts_and_no_texts():
    bm25 = BM25.build(["", "owls", ""])
    assert bm25.top("owls", 3) == [(1, pytest.approx(bm25.top("owls", 3)[0][1]))]
    assert BM25.build([]).top("owls", 3) == []
    assert BM25.build(["", ""]).size == 2


def test_many_passages_are_built_in_chunks_with_the_same_scores():
    """The build reads 20,000 passages at a time: rows past the first chunk keep their own numbers."""
    texts = ["filler words here"] * 20_003 + ["owls hunt mice"]
    bm25 = BM25.build(texts)
    assert bm25.size == 20_004
    assert bm25.top("owls", 3) == [(20_003, pytest.approx(bm25.top("owls", 1)[0][1]))]
    assert len(bm25.top("filler", 50)) == 50


def test_save_and_load_round_trip(tmp_path: Path):
    built = BM25.build(TEXTS + ["大熊猫 os.environ"], "code")
    built.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bm25.indptr.npy", "bm25.rows.npy", "bm25.terms.json", "bm25.weights.npy"]
    assert "大熊" in (tmp_path / "bm25.terms.json").read_text(encoding="utf-8"), "terms are written as they are"
    loaded = BM25.load(tmp_path, len(TEXTS) + 1, "code")
    assert loaded.vocabulary == built.vocabulary and loaded.scheme == "code" and loaded.size == built.size
    for question in ("owls hunt mice", "os.environ", "熊猫", "barn"):
        assert loaded.top(question, 10) == built.top(question, 10)


def broken(folder: Path, **arrays: np.ndarray) -> Path:
    BM25.build(TEXTS).save(folder)
    for name, array in arrays.items():
        np.save(folder / f"bm25.{name}.npy", array)
    return folder


def test_load_refuses_arrays_that_do_not_fit_together(tmp_path: Path):
    good = BM25.build(TEXTS)
    cases = {
        "indptr-short": dict(indptr=good.indptr[:-1]),
        "rows-short": dict(rows=good.rows[:-1]),
        "weights-short": dict(weights=good.weights[:-1]),
        "indptr-end": dict(indptr=np.concatenate([good.indptr[:-1], [good.indptr[-1] - 1]])),
    }
    for name, arrays in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        with pytest.raises(ValueError, match="do not match each other"):
            BM25.load(broken(folder, **arrays), len(TEXTS))


def test_load_refuses_rows_past_the_passages(tmp_path: Path):
    good = BM25.build(TEXTS)
    (tmp_path / "fits").mkdir()
    assert BM25.load(broken(tmp_path / "fits"), len(TEXTS)).size == len(TEXTS)
    for name, rows in {"past": np.where(good.rows == good.rows.max(), len(TEXTS), good.rows),
                       "negative": np.where(good.rows == 0, -1, good.rows)}.items():
        folder = tmp_path / name
        folder.mkdir()
        with pytest.raises(ValueError, match="point past the passages"):
            BM25.load(broken(folder, rows=rows.astype(np.int32)), len(TEXTS))
    (tmp_path / "smaller").mkdir()
    with pytest.raises(ValueError, match="point past the passages"):
        BM25.load(broken(tmp_path / "smaller"), len(TEXTS) - 1)


def test_load_refuses_retired_and_unknown_schemes(tmp_path: Path):
    folder = tmp_path / "gen-1"
    folder.mkdir()
    BM25.build(TEXTS).save(folder)
    for scheme in ("stem", "stem-stop"):
        with pytest.raises(IndexFormatError, match=f"qa index --index {tmp_path}$"):
            BM25.load(folder, len(TEXTS), scheme)
    with pytest.raises(ValueError, match="unknown BM25 terms 'porter'"):
        BM25.load(folder, len(TEXTS), "porter")


@pytest.mark.parametrize(("text", "found"), [
    ("os.environ", ["os.environ"]),
    ("call zip(a) now", ["zip()"]),
    ("strict=True", ["strict=true"]),
    ("__init__ and _private and trailing_", ["__init__", "_private", "trailing_"]),
    ("version 3.11 and 1_000", []),                 # numbers are no names
    ("end of sentence. Next", []),                  # a full stop between words joins nothing
    ("a.b.c(", ["a.b.c", "a.b.c()"]),
    ("x.os.path", ["x.os.path"]),
    ("plain words only", []),
])
def test_identifiers_are_names_written_as_code(text: str, found: list[str]):
    assert identifiers(text) == found


def test_tokens_split_at_underscores_and_keep_digits():
    assert tokenize("snake_case 3.11 Ünïcode") == ["snake", "case", "3", "11", "ünïcode"]
    assert tokenize("a大熊猫b") == ["a", "大熊", "熊猫", "b"]
