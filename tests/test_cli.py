"""The real `qa` command, run as a user would (building with the fake model, answering from the real one)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


def test_index_builds_a_folder_and_reports_a_summary(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text((SEEDS / "004_bc3bbd6dfccf26ec.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "sub" / "b.md").write_text("# Notes\n\nThe llama herd grazes near the lake every morning.\n", encoding="utf-8")
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n")
    result = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert result.returncode == 0, result.stderr
    assert "Indexed 2 files" in result.stdout and "1 skipped" in result.stdout and "from the 2 read" in result.stdout
    assert "1 other file skipped: .png 1" in result.stderr      # one summary line; --verbose names them
    ask = run_qa("ask", "Where does the llama herd graze?", "--index", str(tmp_path / "ix"), "--json", "-k", "1")
    top = json.loads(ask.stdout)["results"][0]
    assert top["file"] == "sub/b.md" and top["line_end"] == 3 and "llama herd grazes" in top["text"]

    again = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert again.returncode == 0 and "2 unchanged" in again.stdout and "up to date" in again.stdout


def test_ask_prints_the_answering_passage_with_its_citation(seeds_index: Path):
    result = run_qa("ask", BGI, "--index", str(seeds_index))
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("\n 2. ")[0]
    assert "seeds/004_bc3bbd6dfccf26ec.txt:" in first
    assert "clinical laboratory in Uruguay" in " ".join(first.split())
    assert result.stdout.count("score") == 5


def test_ask_json_is_one_object_with_exact_spans(seeds_index: Path):
    result = run_qa("ask", BGI, "--index", str(seeds_index), "--json", "-k", "3", "--mode", "bm25")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == BGI and answer["mode"] == "bm25" and len(answer["results"]) == 3
    for hit in answer["results"]:
        source = (SEEDS / hit["file"]).read_text(encoding="utf-8")
        assert source[hit["start"] : hit["end"]] == hit["text"]
        assert source.count("\n", 0, hit["start"]) + 1 == hit["line_start"]
        assert set(hit) >= {"rank", "score", "file", "line_start", "line_end", "start", "end", "text"}


def test_batch_from_a_file_streams_one_json_line_per_question(seeds_index: Path, tmp_path: Path):
    questions = tmp_path / "questions.txt"
    questions.write_text(
        f"{BGI}\n\n"
        '{"id": "yu", "question": "Who is Yu Xiaohui?"}\n'
        "{not json\n"
        '{"id": 7}\n'
        "What will BYD's plant in Brazil make?\n",
        encoding="utf-8",
    )
    result = run_qa("batch", str(questions), "--index", str(seeds_index), "-k", "2")
    assert result.returncode == 1, "a malformed line makes the exit code 1"
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("id") for line in lines] == [1, "yu", 4, 7, 6]
    assert "error" in lines[2] and "error" in lines[3]
    assert lines[0]["results"][0]["file"] == "004_bc3bbd6dfccf26ec.txt"
    assert lines[1]["mode"] == "hybrid" and len(lines[1]["results"]) == 2
    assert result.stderr == "", "progress goes to stderr only on a terminal"


def test_batch_from_stdin(seeds_index: Path):
    result = run_qa("batch", "-", "--index", str(seeds_index), "--mode", "bm25",
                    stdin="Who is Yu Xiaohui?\nWhat is the Digital Silk Road?\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [1, 2]
    assert all(line["results"] for line in lines)


def test_repl_through_a_pipe_answers_and_obeys_commands(seeds_index: Path):
    result = run_qa("repl", "--index", str(seeds_index),
                    stdin=f":k 1\n:mode bm25\n{BGI}\n:bogus\n:help\n:quit\nWho is Yu Xiaohui?\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "k = 1" in out and "mode = bm25" in out
    assert out.count("score") == 1 and "(bm25)" in out
    assert "004_bc3bbd6dfccf26ec.txt" in out
    assert "unknown command :bogus" in out and ":quit" in out
    assert "Xiaohui" not in out.split(":quit")[-1], "nothing is answered after :quit"


def test_qa_with_no_command_is_the_repl(seeds_index: Path):
    result = run_qa("--index", str(seeds_index), "--mode", "bm25", stdin=f"{BGI}\n")
    assert result.returncode == 0 and "004_bc3bbd6dfccf26ec.txt" in result.stdout


def test_misuse_exits_2_with_one_line(seeds_index: Path):
    for args in (["ask"], ["ask", "q", "-k", "0"], ["ask", "q", "--mode", "fuzzy"], ["frobnicate"]):
        result = run_qa(*args, "--index", str(seeds_index))
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and "qa --help" in result.stderr.replace("qa ask", "qa")
    empty = run_qa("ask", "   ", "--index", str(seeds_index))
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_missing_index_exits_1_naming_qa_index(tmp_path: Path):
    for args in (["ask", BGI], ["batch", "-"], ["repl"]):
        result = run_qa(*args, "--index", str(tmp_path / "nowhere"), stdin="")
        assert result.returncode == 1
        assert result.stderr.startswith("error: No index at") and "qa index" in result.stderr
        assert "Traceback" not in result.stderr


def test_index_of_a_missing_path_is_misuse(tmp_path: Path):
    result = run_qa("index", str(tmp_path / "missing"), "--index", str(tmp_path / "ix"))
    assert result.returncode == 2 and "does not exist" in result.stderr
