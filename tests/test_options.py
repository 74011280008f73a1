"""Build options that had no test: `qa index --quantization int8` and `--dense-index ivf` build, answer, and are
recorded in the manifest (the fake model: the subject is the option, not the model's quality)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import Index
from qa.search.dense import APPROXIMATE_NPROBE, DenseIndex
from tests.conftest import SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


def manifest(index_dir: Path) -> dict:
    return json.loads((Index.open(index_dir).stored.folder / "manifest.json").read_text(encoding="utf-8"))


def onnx_operators(model: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(model), load_external_data=False).graph.node}


def test_int8_builds_answers_and_is_recorded(fake_model: Path, fake_seeds_index: Path, tmp_path: Path):
    index_dir = tmp_path / "int8"
    built = run_qa("index", str(SEEDS), "--index", str(index_dir), "--model", str(fake_model),
                   "--quantization", "int8")
    assert built.returncode == 0 and "Index written" in built.stdout, built.stderr
    assert manifest(index_dir)["model"]["quantization"] == "int8"
    int8, float32 = Index.open(index_dir), Index.open(fake_seeds_index)
    # the index carries the quantised export (integer matrix products), not a copy of the float one
    assert "MatMulInteger" in onnx_operators(int8.stored.folder / "model.onnx")
    assert "MatMulInteger" not in onnx_operators(float32.stored.folder / "model.onnx")
    assert int8.stored.all_passages() == float32.stored.all_passages()
    # passages and questions are embedded by the int8 model: close to the float vectors, not equal to them
    a, b = np.asarray(int8.stored.vectors), np.asarray(float32.stored.vectors)
    assert not np.allclose(a, b, atol=1e-6) and np.min(np.sum(a * b, axis=1)) > 0.9
    q8, q32 = int8.embed([BGI])[0], float32.embed([BGI])[0]
    assert not np.allclose(q8, q32, atol=1e-6) and float(q8 @ q32) > 0.9
    answered = run_qa("ask", BGI, "--json", "--mode", "dense", "--index", str(index_dir))
    assert answered.returncode == 0, answered.stderr
    assert [r["file"] for r in json.loads(answered.stdout)["results"]][:1] == \
        [h.passage.file for h in float32.search(BGI, k=1, mode="dense")]
    again = run_qa("index", str(SEEDS), "--index", str(index_dir), "--model", str(fake_model), "--quantization", "int8")
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout
    # switching back to float re-embeds every passage: an int8 vector is never reused for a float index
    back = run_qa("index", str(SEEDS), "--index", str(index_dir), "--model", str(fake_model))
    assert back.returncode == 0 and manifest(index_dir)["model"]["quantization"] == "none", back.stderr
    assert np.allclose(np.asarray(Index.open(index_dir).stored.vectors), b, atol=1e-6)


def many_documents(folder: Path, files: int = 30, paragraphs: int = 40) -> list[str]:
    """`files` text files of `paragraphs` paragraphs of made-up words (two paragraphs to a passage: about 600
    passages in all); returns one paragraph of each file, to ask."""
    rng = random.Random(27)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = sorted({"".join(rng.sample(syllables, 3)) for _ in range(5000)})
    folder.mkdir()
    asked = []
    for number in range(files):
        texts = []
        for _ in range(paragraphs):
            chosen = rng.sample(words, 40)
            texts.append(" ".join(chosen[:20]).capitalize() + ". " + " ".join(chosen[20:]).capitalize() + ".")
        (folder / f"doc{number:03d}.txt").write_text(f"Document {number}\n\n" + "\n\n".join(texts) + "\n",
                                                     encoding="utf-8")
        asked.append(texts[paragraphs // 2])
    return asked


def test_ivf_builds_an_approximate_index_and_answers(fake_model: Path, tmp_path: Path):
    questions = many_documents(tmp_path / "docs")
    index_dir = tmp_path / "ivf"
    built = run_qa("index", str(tmp_path / "docs"), "--index", str(index_dir), "--model", str(fake_model),
                   "--dense-index", "ivf")
    assert built.returncode == 0 and "Index written" in built.stdout, built.stderr
    index = Index.open(index_dir)
    entry = manifest(index_dir)["dense"]
    assert entry["kind"] == "ivf" and entry["nprobe"] == APPROXIMATE_NPROBE
    # big enough that the IVF is approximate: a question's probes visit only some of the lists
    assert index.size >= 500 and entry["lists"] > 2 * entry["nprobe"], (index.size, entry)
    import faiss

    ivf = faiss.read_index(str(index.stored.folder / "faiss.ivf"))
    assert ivf.ntotal == index.size and ivf.nlist == entry["lists"]
    # the dense hits are the IVF's, and they agree with an exact scan of the stored vectors on the top file
    exact = DenseIndex.exact(np.asarray(index.stored.vectors, dtype=np.float32))
    vectors = index.embed(questions)
    found = [rows[0][0] for rows in exact.top(vectors, 1)]
    agree = [index.search(question, k=1, mode="dense")[0].passage.file == index.stored.passages([row])[0].file
             for question, row in zip(questions, found)]
    assert sum(agree) >= 0.9 * len(agree), agree   # approximate: measured 30 of 30
    answered = run_qa("ask", questions[0], "--json", "--mode", "dense", "--index", str(index_dir))
    assert answered.returncode == 0 and json.loads(answered.stdout)["results"][0]["file"] == "doc000.txt"


def test_ivf_on_a_small_corpus_prints_nothing_from_faiss(fake_model: Path, tmp_path: Path):
    many_documents(tmp_path / "docs", files=10)
    built = run_qa("index", str(tmp_path / "docs"), "--index", str(tmp_path / "ivf"), "--model", str(fake_model),
                   "--dense-index", "ivf")
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr and "centroids" not in built.stderr, built.stderr


def test_unknown_values_are_misuse(fake_seeds_index: Path, tmp_path: Path):
    index_dir = tmp_path / "ix"
    shutil.copytree(fake_seeds_index, index_dir)
    for option, value in (("--quantization", "int4"), ("--dense-index", "hnsw")):
        result = run_qa("index", str(SEEDS), "--index", str(index_dir), option, value)
        assert result.returncode == 2 and "invalid choice" in result.stderr and "Traceback" not in result.stderr


def test_ivf_on_a_tiny_corpus_builds_or_says_why_in_one_line(fake_model: Path, tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Tiny\n\nOne short paragraph about zebras.\n", encoding="utf-8")
    built = run_qa("index", str(tmp_path / "docs"), "--index", str(tmp_path / "ivf"), "--model", str(fake_model),
                   "--dense-index", "ivf")
    assert "Traceback" not in built.stderr, built.stderr
    assert built.returncode == 0 or (built.returncode == 2 and len(built.stderr.strip().splitlines()) == 1)
