"""The query path runs the index's own ONNX export: same vectors as sentence-transformers, no torch."""

from __future__ import annotations

import json
import os
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


def test_int8_export_is_complete_runs_and_leaves_the_root_logger_alone(tmp_path: Path, fake_model: Path):
    """`--quantization int8`: the export is quantised, marked complete for int8 only, and embeds; onnxruntime's
    advice (logged with logging.warning, which also installs a root handler) is not shown, and the root logger
    keeps its level, handlers and filters. In a fresh process: pytest puts its own handlers on the root logger."""
    import subprocess
    import sys

    from qa.model.export import export_is_complete
    from qa.model.onnx import OnnxEmbedder

    folder = tmp_path / "onnx"
    probe = ("import logging, sys\nfrom pathlib import Path\nfrom qa.model.export import write_export\n"
             "root = logging.getLogger()\nbefore = (root.level, list(root.handlers), list(root.filters))\n"
             "write_export(sys.argv[1], Path(sys.argv[2]), 'int8')\n"
             "print('root unchanged:', (root.level, list(root.handlers), list(root.filters)) == before)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(fake_model), str(folder)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "root unchanged: True" in done.stdout and "pre-processing" not in done.stderr, done.stderr
    assert export_is_complete(folder, "int8") and not export_is_complete(folder, "none")
    assert json.loads((folder / "embedder.json").read_text())["quantization"] == "int8"
    assert (folder / "model.onnx").read_bytes() != (fake_model / SHIPPED_EXPORT / "model.onnx").read_bytes()
    texts = ["Barn owls hunt mice at night.", "What did BGI Genomics set up in Uruguay?"]
    quantised, exact = OnnxEmbedder(folder).encode(texts), OnnxEmbedder(fake_model / SHIPPED_EXPORT).encode(texts)
    np.testing.assert_allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-5)
    assert np.sum(quantised * exact, axis=1).min() > 0.9
    (folder / "model.onnx").write_bytes(b"damaged")
    assert not export_is_complete(folder, "int8")


def test_loading_and_exporting_the_model_leave_the_environment_as_it_was(tmp_path: Path, fake_model: Path):
    """No variable of the process environment is set or changed by loading a model with sentence-transformers,
    embedding with onnxruntime, or exporting a model with torch (it is the program's, not the library's)."""
    import subprocess
    import sys

    model = tmp_path / "model"
    shutil.copytree(fake_model, model, ignore=shutil.ignore_patterns(SHIPPED_EXPORT))   # export with torch
    probe = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "before = dict(os.environ)\n"
        "from qa.model.embedder import SentenceTransformerEmbedder, onnx_embedder\n"
        "from qa.model.export import write_export\n"
        "model, out = sys.argv[1], Path(sys.argv[2])\n"
        "SentenceTransformerEmbedder(model).encode(['owls'])\n"
        "write_export(model, out)\n"
        "onnx_embedder(out).encode(['owls'])\n"
        "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))\n"
        "print('changed:', changed)\n"
    )
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM", "TRANSFORMERS_VERBOSITY",
                                "HF_HUB_DISABLE_PROGRESS_BARS", "ORT_DISABLE_TELEMETRY", "TORCHINDUCTOR_CACHE_DIR")}
    done = subprocess.run([sys.executable, "-c", probe, str(model), str(tmp_path / "onnx")], capture_output=True,
                          text=True, cwd=REPO, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "changed: []" in done.stdout, done.stdout
