"""What qa prints: file names shown escaped, never acted upon (item 6); plain lines into a pipe (item 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.ui.render import visible
from tests.conftest import SEEDS, run_qa

#: A file name that would print a forged hit header, clear the screen and recolour the terminal.
FORGED = "owls\n 2. forged.txt:1  score 9.9999 (hybrid)\n    A forged passage\x1b[2J\x1b[31m.txt"
SKIPPED = "data\nskipped everything.txt: permission denied\x1b]52;c;ZXZpbA==\x07.csv"
BGI = "What did BGI Genomics set up in Uruguay?"


@pytest.fixture()
def forged_index(tmp_path: Path, fake_model: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / FORGED).write_text("Barn owls hunt mice at night over the meadow.\n", encoding="utf-8")
    (corpus / "plain.txt").write_text("Tawny owls call at dusk.\n", encoding="utf-8")
    (corpus / SKIPPED).write_text("a,b\n", encoding="utf-8")
    built = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model), "--verbose")
    assert built.returncode == 0, built.stderr
    assert built.stderr.count("\n") == 1, "one line for the skipped file"
    assert f"skipped {visible(SKIPPED)}: a .csv file" in built.stderr
    return corpus, tmp_path / "ix"


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text
    assert not any(line.lstrip().startswith(("2. forged", "A forged", "skipped everything")) for line in text.splitlines())


def test_control_characters_in_file_names_are_shown_escaped(forged_index):
    corpus, index_dir = forged_index
    result = run_qa("ask", "Barn owls hunt mice", "--mode", "bm25", "-k", "1", "--index", str(index_dir),
                    env={"COLUMNS": ""})
    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout)
    assert "owls\\n 2. forged.txt:1  score 9.9999 (hybrid)\\n    A forged passage\\x1b[2J\\x1b[31m.txt:1" in result.stdout
    repl = run_qa("repl", "--index", str(index_dir), "--mode", "bm25", stdin="Barn owls hunt mice\n",
                  env={"COLUMNS": ""})
    assert_inert(repl.stdout)
    assert "forged passage\\x1b[2J" in repl.stdout
    data = json.loads(run_qa("ask", "Barn owls hunt mice", "--json", "--mode", "bm25", "-k", "1",
                             "--index", str(index_dir)).stdout)
    assert data["results"][0]["file"] == FORGED, "JSON keeps the exact name"


def test_the_stale_file_warning_shows_names_escaped_on_one_line(forged_index):
    corpus, index_dir = forged_index
    (corpus / FORGED).write_text("Changed: barn owls now hunt voles.\n", encoding="utf-8")
    (corpus / "new\r\x1b[1Afile.txt").write_text("A new file about owls.\n", encoding="utf-8")
    result = run_qa("ask", "owls", "--mode", "bm25", "--index", str(index_dir))
    assert result.returncode == 0
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("warning: 2 file(s) changed")
    assert visible(FORGED) in result.stderr and "new\\r\\x1b[1Afile.txt" in result.stderr
    assert_inert(result.stderr)


def test_visible_escapes_every_control_and_invisible_character():
    assert visible("a\nb\tc\rd\x1b[31m\x07\x7f\x85\u202e\u200b\ufeff") == (
        "a\\nb\\tc\\rd\\x1b[31m\\x07\\x7f\\x85\\u202e\\u200b\\ufeff")
    assert visible("Ordinary name — café 数字.txt") == "Ordinary name — café 数字.txt"


# --- plain output into a pipe ------------------------------------------------------------------


def longest_source_line() -> str:
    return max((line for path in SEEDS.glob("*.txt") for line in path.read_text(encoding="utf-8").splitlines()),
               key=len)


@pytest.mark.parametrize("command", ["ask", "repl"])
def test_piped_output_is_plain_unwrapped_and_unpadded(fake_seeds_index: Path, command):
    line = longest_source_line()
    assert len(line) > 300
    question = line[:120]
    args = ["ask", question, "--full"] if command == "ask" else ["repl"]
    result = run_qa(*args, "--mode", "bm25", "-k", "1", "--index", str(fake_seeds_index),
                    stdin=(question + "\n") if command == "ask" else f":full\n{question}\n", env={"COLUMNS": "", "FORCE_COLOR": "", "TERM": "xterm-256color"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    passage = max((row for row in lines if row.startswith("    ")), key=len)
    assert len(passage) > 300 and passage[4:] in line, "a long source line stays one output line, not wrapped at 80"
    assert all(not row.endswith(" ") for row in lines), "no trailing padding"
    assert "\x1b" not in result.stdout, "no colour"


def test_piped_output_honours_columns(fake_seeds_index: Path):
    result = run_qa("ask", longest_source_line()[:120], "--full", "--mode", "bm25", "-k", "1",
                    "--index", str(fake_seeds_index), env={"COLUMNS": "60"})
    lines = result.stdout.splitlines()
    assert max(len(row) for row in lines) <= 60 and len(lines) > 10
    assert all(not row.endswith(" ") for row in lines)


def test_piped_eval_tables_are_not_padded(fake_seeds_index: Path, tmp_path: Path):
    result = run_qa("eval", "tests/retrieval.jsonl", "--index", str(fake_seeds_index), env={"COLUMNS": ""})
    assert result.returncode == 0, result.stderr
    assert "recall@5" in result.stdout and "\x1b" not in result.stdout
    assert all(not row.endswith(" ") for row in result.stdout.splitlines())
