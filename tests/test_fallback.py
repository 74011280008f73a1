"""Without a usable model, answers still come from BM25, with one warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


@pytest.fixture()
def no_model(tmp_path: Path) -> dict[str, str]:
    """An environment in which neither sentence-transformers nor onnxruntime imports, as on a machine without them."""
    for name in ("sentence_transformers", "onnxruntime"):
        shim = tmp_path / "shim" / name
        shim.mkdir(parents=True)
        (shim / "__init__.py").write_text(f"raise ImportError('No module named {name}')\n")
    return {"PYTHONPATH": str(tmp_path / "shim")}


def test_ask_falls_back_to_bm25_with_one_warning(seeds_index: Path, no_model):
    result = run_qa("ask", BGI, "--index", str(seeds_index), "--json", env=no_model)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["mode"] == "bm25"
    assert answer["results"][0]["file"] == "004_bc3bbd6dfccf26ec.txt"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "BM25" in warnings[0]


def test_batch_and_repl_warn_once(seeds_index: Path, no_model):
    batch = run_qa("batch", "-", "--index", str(seeds_index), env=no_model, stdin=f"{BGI}\nWho is Yu Xiaohui?\n" * 40)
    assert batch.returncode == 0
    assert len(batch.stdout.splitlines()) == 80
    assert batch.stderr.count("warning:") == 1
    repl = run_qa("repl", "--index", str(seeds_index), env=no_model, stdin=f"{BGI}\n{BGI}\n")
    assert repl.returncode == 0 and repl.stderr.count("warning:") == 1
    assert repl.stdout.count("(bm25)") == 10


def test_dense_mode_fails_clearly(seeds_index: Path, no_model):
    result = run_qa("ask", BGI, "--index", str(seeds_index), "--mode", "dense", env=no_model)
    assert result.returncode == 1
    assert "Dense search is unavailable" in result.stderr and "--mode bm25" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_index_built_without_the_model_answers_with_bm25(tmp_path: Path, no_model):
    built = run_qa("index", str(SEEDS), "--index", str(tmp_path / "ix"), env=no_model)
    assert built.returncode == 0, built.stderr
    assert "BM25 only" in built.stderr
    assert not list((tmp_path / "ix").glob("gen-*/vectors.npy"))
    result = run_qa("ask", BGI, "--index", str(tmp_path / "ix"), "--json")   # model available again
    assert result.returncode == 0
    assert json.loads(result.stdout)["mode"] == "bm25"
    assert "without vectors" in result.stderr
    evaluated = run_qa("eval", "tests/retrieval.jsonl", "--json", "--index", str(tmp_path / "ix"))
    assert evaluated.returncode == 0 and list(json.loads(evaluated.stdout)["modes"]) == ["bm25"]
