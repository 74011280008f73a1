"""An index's export names the model's own weights file instead of copying it (qa.model.weights): the
same vectors bit for bit, a graph of kilobytes in the index, and a plain message when the weights changed."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from qa import Index
from qa.errors import ModelUnavailableError
from qa.model.embedder import SHIPPED_EXPORT, onnx_embedder
from qa.model.weights import refer_to_weights
from qa.model.onnx import OnnxEmbedder
from qa.model.weights import WEIGHTS_FILE, read_safetensors
from tests.conftest import run_qa

TEXTS = ["What did BGI Genomics set up in Uruguay?", "", "数字经济合作 🚀", "word " * 400,
         "Barn owls hunt mice at night."]


def test_the_seeds_index_holds_a_graph_of_kilobytes_and_names_the_bundled_model(seeds_index: Path):
    folder = Index.open(seeds_index).stored.folder
    config = json.loads((folder / "embedder.json").read_text())
    assert config["weights"]["model"] == "all-MiniLM-L6-v2"
    assert len(config["weights"]["tensors"]) >= 100
    assert (folder / "model.onnx").stat().st_size < 1_000_000
    assert not (folder / WEIGHTS_FILE).exists()


def test_referred_weights_give_the_vectors_of_the_full_graph_bit_for_bit(fake_model: Path, tmp_path: Path):
    full = tmp_path / "full"
    shutil.copytree(fake_model / SHIPPED_EXPORT, full)
    referred = tmp_path / "referred"
    shutil.copytree(full, referred)
    refer_to_weights(referred, str(fake_model))
    assert (referred / "model.onnx").stat().st_size < (full / "model.onnx").stat().st_size / 5
    spans = [[(0, 4)] for _ in TEXTS]
    ours, our_spans = OnnxEmbedder(referred).encode_spans(TEXTS, spans)
    theirs, their_spans = OnnxEmbedder(full).encode_spans(TEXTS, spans)
    np.testing.assert_array_equal(ours, theirs)
    for a, b in zip(our_spans, their_spans):
        np.testing.assert_array_equal(a, b)


def test_transposed_tensors_are_found_too(fake_model: Path, tmp_path: Path):
    """The exporter folds a linear layer's weight into its transpose: those are the graph's largest tensors."""
    folder = tmp_path / "export"
    shutil.copytree(fake_model / SHIPPED_EXPORT, folder)
    refer_to_weights(folder, str(fake_model))
    tensors = json.loads((folder / "embedder.json").read_text())["weights"]["tensors"]
    assert any(transposed for _, transposed in tensors.values())
    assert any(not transposed for _, transposed in tensors.values())


def test_changed_weights_are_refused_with_what_to_do(fake_model: Path, tmp_path: Path):
    model = tmp_path / "model"
    shutil.copytree(fake_model, model)
    index_dir = tmp_path / "index"
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "owls.md").write_text("Barn owls hunt mice at night in the old barn.\n")
    Index.build([corpus], index_dir, model=str(model))
    folder = Index.open(index_dir).stored.folder
    onnx_embedder(folder)   # loads while the weights are as they were
    weights = model / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailableError, match="changed since the index was built; rebuild the index"):
        onnx_embedder(folder)
    result = run_qa("ask", "What do owls hunt?", "--index", str(index_dir), "--mode", "dense")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "changed since the index was built" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    weights.unlink()
    with pytest.raises(ModelUnavailableError, match="weights are gone"):
        onnx_embedder(folder)


def _safetensors(path: Path, header: dict, data: bytes) -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def test_a_hostile_weights_file_is_a_value_error(tmp_path: Path):
    good = _safetensors(tmp_path / "good.safetensors", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                        np.array([1.5, -2], "<f4").tobytes())
    assert read_safetensors(good)["a"].tolist() == [1.5, -2.0]
    bad = [
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},          # past the end
        {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},           # length disagrees with shape
        {"a": {"dtype": "OBJECT", "shape": [2], "data_offsets": [0, 8]}},        # no such type
        {"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
        {"a": "F32"},
        ["not", "a", "header"],
    ]
    for n, header in enumerate(bad):
        with pytest.raises(ValueError):
            read_safetensors(_safetensors(tmp_path / f"bad{n}.safetensors", header, b"\0" * 8))   # type: ignore[arg-type]
    (tmp_path / "short").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(ValueError):
        read_safetensors(tmp_path / "short")
