"""Our precomputed BM25 gives exactly rank-bm25's BM25Okapi scores."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa.search.bm25 import BM25, tokenize

QUESTIONS = [
    "What did BGI Genomics set up in Uruguay?",
    "digital digital economy",          # a repeated word counts twice, as in rank-bm25
    "China",                            # in nearly every passage: floored idf
    "Who is Yu Xiaohui?",
    "zebra quantum",                    # no known word
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_scores_equal_rank_bm25_on_the_seeds(index, question):
    texts = [p.text for p in index.stored.all_passages()]
    reference = BM25Okapi([tokenize(t) for t in texts]).get_scores(tokenize(question))
    ours = np.zeros(len(texts))
    rows, scores = BM25.build(texts).scores(question)
    ours[rows] = scores
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


def test_the_saved_index_scores_like_a_fresh_build(index):
    """BM25 counts each passage's own text (the title context is for the embedder only)."""
    texts = [p.text for p in index.stored.all_passages()]
    fresh = BM25.build(texts).top("clinical laboratory in Uruguay", 5)
    saved = index.stored.bm25.top("clinical laboratory in Uruguay", 5)
    assert [row for row, _ in saved] == [row for row, _ in fresh]
    assert saved[0][1] == pytest.approx(fresh[0][1])
    for question in QUESTIONS:
        rows, scores = index.stored.bm25.scores(question)
        fresh_rows, fresh_scores = BM25.build(texts).scores(question)
        np.testing.assert_array_equal(rows, fresh_rows)
        np.testing.assert_allclose(scores, fresh_scores, rtol=1e-6)


@pytest.mark.parametrize("question", QUESTIONS + ["How do I read os.environ?", "zip() with strict=True"])
def test_code_terms_score_as_rank_bm25_over_the_same_terms(index, question):
    texts = [p.text for p in index.stored.all_passages()] + [
        "os.environ is a mapping; os.getenv(key) reads one variable.", "zip(*iterables, strict=False) pairs items."]
    reference = BM25Okapi([tokenize(t, "code") for t in texts]).get_scores(tokenize(question, "code"))
    ours = np.zeros(len(texts))
    rows, scores = BM25.build(texts, "code").scores(question)
    ours[rows] = scores
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("text", "words", "extra"), [
    ("Read os.environ and call zip(a, b, strict=True).", {"os", "environ", "zip", "strict", "true"},
     ["os.environ", "zip()", "strict=true"]),
    ("hashlib.sha256() and snake_case_names and __init__", {"hashlib", "sha256", "snake", "case", "names", "init"},
     ["hashlib.sha256", "hashlib.sha256()", "snake_case_names", "__init__"]),
    ("json.dumps(obj, indent=4)", {"json", "dumps", "obj", "indent", "4"}, ["json.dumps", "json.dumps()", "indent=4"]),
    ("Plain words (in brackets), version 3.11, the end.", {"plain", "brackets", "3", "11"}, []),
])
def test_code_terms_keep_names_whole_and_split(text, words, extra):
    assert tokenize(text, "code") == tokenize(text) + extra
    assert words <= set(tokenize(text))        # the split words are there too


def test_an_index_with_retired_stemmed_terms_asks_for_a_rebuild_and_rebuilds(fake_seeds_index, fake_model, tmp_path):
    """Stemmed BM25 terms were measured and dropped: an index that recorded them is refused with a rebuild
    command (not "damaged", not a traceback), and that command rebuilds it from its recorded paths."""
    import shutil
    from dataclasses import replace

    from qa import Index
    from qa.errors import IndexFormatError
    from qa.store.manifest import Manifest
    from tests.conftest import run_qa

    path = tmp_path / "old-index"
    shutil.copytree(fake_seeds_index, path)
    generation = path / (path / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = Manifest.read(generation)
    replace(manifest, settings=replace(manifest.settings, bm25_terms="stem")).write(generation)
    with pytest.raises(IndexFormatError, match=r"stemmed BM25 terms .* Rebuild it with: qa index --index "):
        Index.open(path)
    shown = run_qa("ask", "Uruguay", "--index", str(path))
    assert shown.returncode == 1 and "Rebuild it with" in shown.stderr and "Traceback" not in shown.stderr
    rebuilt = run_qa("index", "--index", str(path), "--model", str(fake_model))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert Index.open(path).settings.bm25_terms == "plain"


def test_unknown_schemes_are_refused():
    with pytest.raises(ValueError, match="unknown BM25 terms"):
        tokenize("some text", "stem")
    with pytest.raises(ValueError, match="unknown BM25 terms"):
        BM25.build(["some text"], "stem-stop")
