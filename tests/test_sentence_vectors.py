"""Sentence vectors stored as int8 with a scale per row (qa.store.sentences): close to what was embedded,
stable when a rebuild carries them over, and an index of the format before (float16) still read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa import Index
from qa.store.layout import SENTENCE_SCALES, SENTENCE_VECTORS
from qa.store.sentences import SentenceVectors, quantize


def _unit_rows(count: int, dimension: int = 384, seed: int = 7) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_cosine_moves_by_at_most_a_few_thousandths(tmp_path: Path):
    sentences, questions = _unit_rows(2000), _unit_rows(50, seed=8)
    codes, scales = quantize(sentences)
    np.save(tmp_path / SENTENCE_VECTORS, codes)
    np.save(tmp_path / SENTENCE_SCALES, scales)
    stored = SentenceVectors.load(tmp_path, 2000)
    assert stored is not None and codes.dtype == np.int8 and stored.shape == (2000, 384)
    error = np.abs(stored[:] @ questions.T - sentences @ questions.T)
    assert error.max() < 0.003
    assert np.median(error) < 0.0005
    rows = np.array([5, 1999, 0])
    np.testing.assert_array_equal(stored[rows], stored[:][rows])
    np.testing.assert_array_equal(stored[3], stored[:][3])


def test_a_zero_row_stays_zero_and_a_row_keeps_its_largest_component():
    rows = np.zeros((2, 4), np.float32)
    rows[1] = [0.5, -0.25, 0.0, 0.125]
    codes, scales = quantize(rows)
    assert codes[0].tolist() == [0, 0, 0, 0] and scales[0] == 0
    assert codes[1].tolist() == [127, -64, 0, 32]
    assert np.allclose(codes[1] * scales[1], rows[1], atol=0.5 * scales[1])


def test_carrying_a_row_over_through_half_precision_gives_the_same_codes():
    """A rebuild reads unchanged files' rows back (float16 in memory) and writes them again: no drift."""
    codes, scales = quantize(_unit_rows(3000))
    again = quantize((codes.astype(np.float32) * scales[:, None]).astype(np.float16))
    np.testing.assert_array_equal(again[0], codes)
    np.testing.assert_allclose(again[1], scales, rtol=1e-3)


def test_an_index_of_the_format_before_is_read_as_float16(tmp_path: Path):
    old = _unit_rows(10).astype(np.float16)
    np.save(tmp_path / SENTENCE_VECTORS, old)
    stored = SentenceVectors.load(tmp_path, 10)
    assert stored is not None
    np.testing.assert_array_equal(stored[:], old.astype(np.float32))
    assert SentenceVectors.load(tmp_path / "none", 10) is None


def test_a_build_stores_int8_rows_and_a_rebuild_keeps_unchanged_files_rows(fake_model: Path, tmp_path: Path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"note{n}.md").write_text(f"# Note {n}\n\nThe kettle number {n} boils water. It whistles.\n\n"
                                            f"Another paragraph about teapot {n}, cups and saucers.\n")
    path = tmp_path / "index"
    Index.build([corpus], path, model=str(fake_model))
    first = Index.open(path).stored
    assert np.load(first.folder / SENTENCE_VECTORS).dtype == np.int8
    before = {(p.file, p.start): first.sentence_vectors[first.sentences_in(p.file, p.start, p.end)[0][0]]
              for p in first.all_passages()}
    (corpus / "note2.md").write_text("# Note 2\n\nSomething else entirely: a bicycle with a bell.\n")
    Index.build([corpus], path, model=str(fake_model))
    second = Index.open(path).stored
    assert second.folder != first.folder
    for passage in second.all_passages():
        if passage.file != "note2.md":
            row = second.sentences_in(passage.file, passage.start, passage.end)[0][0]
            np.testing.assert_array_equal(second.sentence_vectors[row], before[passage.file, passage.start])
