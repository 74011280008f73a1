"""The test model and the export a model folder may ship (qa.model.embedder.SHIPPED_EXPORT)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from qa.model.embedder import SHIPPED_EXPORT, SentenceTransformerEmbedder, fingerprint, onnx_embedder
from tests.test_imports import heavy_modules

TEXTS = ["What did BGI Genomics set up in Uruguay?", "", "数字经济合作 🚀", "The llama herd grazes by the lake. " * 80]


def test_a_shipped_export_is_copied_and_no_torch_is_imported(fake_model: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Barn owls hunt mice at night.\n", encoding="utf-8")
    code, heavy = heavy_modules("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert (code, heavy) == (0, "")
    generation = tmp_path / "ix" / (tmp_path / "ix" / "CURRENT").read_text().strip()
    assert json.loads((generation / "manifest.json").read_text())["model"]["onnx"] is True
    import onnx

    # the shipped graph, its weights named in the model's own weights file (qa.model.weights), not copied
    ours, shipped = (onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
                     for folder in (generation, fake_model / SHIPPED_EXPORT))
    assert ours.node == shipped.node and [i.name for i in ours.initializer] == [i.name for i in shipped.initializer]
    assert json.loads((generation / "embedder.json").read_text())["weights"]["model"] == str(fake_model.resolve())


def test_the_fake_models_export_matches_its_sentence_transformers_vectors(fake_model: Path):
    ours = onnx_embedder(fake_model / SHIPPED_EXPORT).encode(TEXTS)
    reference = SentenceTransformerEmbedder(str(fake_model)).encode(TEXTS)
    assert ours.shape == (len(TEXTS), 32)
    assert np.sum(ours * reference, axis=1).min() >= 0.9999


def test_the_fake_model_tells_texts_apart(fake_model: Path):
    """Vectors that all look alike would fold every passage into one 'copy' (DUPLICATE_SIMILARITY)."""
    vectors = onnx_embedder(fake_model / SHIPPED_EXPORT).encode(
        ["Barn owls hunt mice at night.", "The central bank raised interest rates.", "Barn owls hunt mice."])
    assert vectors[0] @ vectors[1] < 0.9 and vectors[0] @ vectors[2] > vectors[0] @ vectors[1]


def test_the_fingerprint_covers_a_shipped_export(fake_model: Path, tmp_path: Path):
    copy = tmp_path / "model"
    shutil.copytree(fake_model, copy)
    before = fingerprint(str(copy))
    onnx = copy / SHIPPED_EXPORT / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 1
    onnx.write_bytes(bytes(data))
    assert fingerprint(str(copy)) != before, "another export would be reused as if it were the same model"
