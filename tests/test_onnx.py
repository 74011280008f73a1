"""The query path runs the index's own ONNX export: same vectors as sentence-transformers, no torch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import Index
from qa.model.embedder import SHIPPED_EXPORT, SentenceTransformerEmbedder, onnx_embedder
from qa.evaluate import load_questions
from tests.conftest import REPO, SEEDS, run_qa


@pytest.fixture(scope="module")
def texts(index) -> list[str]:
    questions = [q.question for path in (REPO / "tests").glob("*.jsonl") for q in load_questions(path)]
    passages = [p.text for p in index.stored.all_passages()]
    odd = ["", " ", "¿Qué laboratorio estableció BGI en Uruguay?", "数字经济合作", "🚀 emoji 🌎", "[CLS] [SEP] [PAD]",
           " ".join(passages) * 2]                       # far over the 256-token limit: truncated alike
    return questions + passages + odd


def test_onnx_vectors_match_sentence_transformers(seeds_index: Path, texts):
    folder = Index.open(seeds_index).stored.folder
    ours = onnx_embedder(folder).encode(texts)
    reference = SentenceTransformerEmbedder("all-MiniLM-L6-v2").encode(texts)
    assert len(texts) >= 100
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() >= 0.9999, texts[int(cosines.argmin())][:80]
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_the_index_carries_its_export_and_reuses_it(seeds_index: Path, tmp_path: Path):
    manifest = json.loads((Index.open(seeds_index).stored.folder / "manifest.json").read_text())
    assert manifest["model"]["onnx"] is True and len(manifest["model"]["fingerprint"]) == 16
    index_dir = tmp_path / "ix"
    shutil.copytree(seeds_index, index_dir)
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "extra.txt").write_text("Barn owls hunt mice at night in the old barn.\n")
    before = Index.open(index_dir).stored.folder / "model.onnx"
    inode = before.stat().st_ino
    report = Index.build([corpus], index_dir)
    after = Index.open(index_dir).stored.folder / "model.onnx"
    assert report.embedded >= 1 and after.parent != before.parent
    assert after.stat().st_ino == inode, "the export is linked from the previous generation, not redone"


def test_a_model_that_cannot_be_exported_falls_back_to_sentence_transformers(tmp_path: Path, fake_model: Path):
    model = tmp_path / "max-pooling-model"
    shutil.copytree(fake_model, model, ignore=shutil.ignore_patterns(SHIPPED_EXPORT))
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    if "pooling_mode" in config:
        config["pooling_mode"] = "max"
    pooling.write_text(json.dumps(config))
    built = run_qa("index", str(SEEDS), "--index", str(tmp_path / "ix"), "--model", str(model))
    assert built.returncode == 0, built.stderr
    assert "ONNX export failed" in built.stderr and "sentence-transformers" in built.stderr
    index = Index.open(tmp_path / "ix")
    assert not (index.stored.folder / "model.onnx").exists()
    question = "What did BGI Genomics set up in Uruguay?"
    top = index.search(question, k=1, mode="dense")[0]     # in process: torch is loaded here already
    assert index.dense_error() is None and type(index._embedder).__name__ == "SentenceTransformerEmbedder"
    # The question is embedded by sentence-transformers with the same max-pooling model as the passages.
    vectors = SentenceTransformerEmbedder(str(model)).encode([question])
    best = int(np.argmax(np.asarray(index.stored.vectors) @ vectors[0]))
    passage = index.stored.passages([best])[0]      # the hit is that passage, with the neighbours merged into it
    assert top.passage.file == passage.file and top.passage.start <= passage.start < passage.end <= top.passage.end
