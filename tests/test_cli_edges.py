"""Edges a script hits: `python -m qa`, a reader that stops early, BOM and CRLF input (issue 11, 10/11/14)."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path

from qa.evaluate import load_questions
from tests.conftest import REPO, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


def test_python_dash_m_qa_is_the_qa_command(fake_seeds_index: Path):
    environment = dict(os.environ, HF_HUB_OFFLINE="1")
    helped = subprocess.run([sys.executable, "-m", "qa", "--help"], capture_output=True, text=True, cwd=REPO,
                            env=environment)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: qa ")
    asked = subprocess.run([sys.executable, "-m", "qa", "ask", BGI, "--mode", "bm25", "--json", "-k", "1",
                            "--index", str(fake_seeds_index)], capture_output=True, text=True, cwd=REPO,
                           env=environment)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["results"][0]["file"] == "004_bc3bbd6dfccf26ec.txt"
    misused = subprocess.run([sys.executable, "-m", "qa", "frobnicate"], capture_output=True, text=True, cwd=REPO,
                             env=environment)
    assert misused.returncode == 2


def test_batch_into_a_reader_that_stops_early_exits_quietly(fake_seeds_index: Path, tmp_path: Path):
    """`qa batch FILE | head -1`: far more output than a pipe holds, and the reader leaves after one line."""
    questions = tmp_path / "questions.txt"
    questions.write_text(f"{BGI}\n" * 3000, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "qa", "batch", str(questions), "--mode", "bm25", "--index", str(fake_seeds_index)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=120)
    assert json.loads(first)["id"] == 1
    assert stderr == b"", "no error message, no traceback"
    assert process.returncode == 1, "not every answer was delivered"


def test_a_batch_file_with_a_bom_and_crlf_lines(fake_seeds_index: Path, tmp_path: Path):
    questions = tmp_path / "questions.jsonl"
    lines = [json.dumps({"id": "bgi", "question": BGI}), "Who is Yu Xiaohui?", json.dumps({"id": "last", "question": BGI})]
    questions.write_bytes(codecs.BOM_UTF8 + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    result = run_qa("batch", str(questions), "--mode", "bm25", "-k", "1", "--index", str(fake_seeds_index))
    assert result.returncode == 0, result.stdout + result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["bgi", 2, "last"]
    assert [a["question"] for a in answers] == [BGI, "Who is Yu Xiaohui?", BGI], "no BOM or CR left in a question"


def test_an_eval_file_with_a_bom_and_crlf_lines(fake_seeds_index: Path, tmp_path: Path):
    path = tmp_path / "questions.jsonl"
    items = [{"id": "bgi", "question": BGI, "gold": [{"file": "004_bc3bbd6dfccf26ec.txt", "contains": "Uruguay"}]},
             {"id": "mars", "question": "What is the population of Mars?"}]
    path.write_bytes(codecs.BOM_UTF8 + "\r\n".join(json.dumps(i) for i in items).encode("utf-8") + b"\r\n")
    questions = load_questions(path)
    assert [(q.id, q.question) for q in questions] == [("bgi", BGI), ("mars", "What is the population of Mars?")]
    result = run_qa("eval", str(path), "--json", "--index", str(fake_seeds_index))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["questions"] == 2
