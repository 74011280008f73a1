"""The dense index kind is a build setting recorded in the manifest: flat, IVF, or IVF-PQ with exact re-scoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import Index
from qa.search.dense import DenseIndex, dense_kind
from tests.conftest import SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


def manifest(index_dir: Path) -> dict:
    return json.loads((Index.open(index_dir).stored.folder / "manifest.json").read_text())


def test_the_kind_is_chosen_by_size_unless_named():
    assert [dense_kind("auto", n) for n in (10, 199_999, 200_000, 1_999_999, 2_000_000)] == \
        ["flat", "flat", "ivf", "ivf", "ivfpq"]
    assert dense_kind("ivfpq", 10) == "ivfpq"


def test_qa_index_records_the_kind_and_switching_it_rebuilds_without_re_embedding(seeds_index: Path, tmp_path: Path):
    index_dir = tmp_path / "ix"
    shutil.copytree(seeds_index, index_dir)
    exact = Index.open(index_dir).search(BGI, k=5, mode="dense")
    built = run_qa("index", str(SEEDS), "--index", str(index_dir), "--dense-index", "ivfpq")
    assert built.returncode == 0 and "0 embedded" in built.stdout and "written" in built.stdout, built.stderr
    entry = manifest(index_dir)["dense"]
    assert entry["kind"] == "ivfpq" and entry["pq"][0] == 48 and entry["refine"] > 1
    assert (Index.open(index_dir).stored.folder / "faiss.ivf").is_file()
    compressed = Index.open(index_dir).search(BGI, k=5, mode="dense")
    assert compressed[0].passage == exact[0].passage
    # re-scored against the float vectors: the similarities are exact, not PQ estimates
    assert compressed[0].dense_score == pytest.approx(exact[0].dense_score, abs=1e-5)
    again = run_qa("index", str(SEEDS), "--index", str(index_dir), "--dense-index", "ivfpq")
    assert "up to date" in again.stdout
    back = run_qa("index", str(SEEDS), "--index", str(index_dir))   # auto: flat for 39 passages
    assert "written" in back.stdout and manifest(index_dir)["dense"] == {"kind": "flat"}
    assert not (Index.open(index_dir).stored.folder / "faiss.ivf").exists()
    bad = run_qa("index", str(SEEDS), "--index", str(index_dir), "--dense-index", "hnsw")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_ivfpq_with_re_scoring_finds_what_exact_search_finds(tmp_path: Path):
    """5,000 clustered vectors: recall@10 against exact search at the search depth Index uses (50)."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(100, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 100, 5_000)] + rng.normal(0, 0.6, (5_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.choice(5_000, 50, replace=False)] + rng.normal(0, 0.3, (50, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    entry = DenseIndex.build_approximate(vectors, tmp_path / "pq", "ivfpq")
    fixed = (int(entry["lists"]) + 256) * 384 * 4   # coarse centroids and PQ codebooks
    assert entry["pq"] == [48, 8] and (tmp_path / "pq").stat().st_size - fixed < 5_000 * (48 + 8) * 1.1
    compressed = DenseIndex.load(tmp_path / "pq", int(entry["nprobe"]), vectors, int(entry["refine"]))
    unrefined = DenseIndex.load(tmp_path / "pq", int(entry["nprobe"]))
    truth = [{row for row, _ in hits} for hits in DenseIndex.exact(vectors).top(queries, 10)]

    def recall(index: DenseIndex) -> float:
        found = [{row for row, _ in hits[:10]} for hits in index.top(queries, 50)]
        return float(np.mean([len(f & t) / 10 for f, t in zip(found, truth)]))

    assert recall(compressed) >= 0.95
    assert recall(unrefined) < recall(compressed)
