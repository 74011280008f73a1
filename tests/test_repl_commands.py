"""REPL commands a person reaches for: `:show N` opens a hit of the last answer, and `exit` or `quit` leave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_qa


def test_show_n_opens_that_hit_of_the_last_answer(fake_seeds_index: Path):
    question = "Who is Yu Xiaohui?"
    asked = json.loads(run_qa("ask", question, "--index", str(fake_seeds_index), "--json").stdout)   # k 5, as in the REPL
    second = asked["results"][1]
    shown = run_qa("show", second["citation"], "--index", str(fake_seeds_index))
    repl = run_qa("repl", "--index", str(fake_seeds_index), stdin=f":show 1\n{question}\n:show 2\n:show 9\n:show x\n")
    assert repl.returncode == 0
    out = repl.stdout
    assert "usage: :show N after an answer with hits" in out          # before any answer
    assert shown.stdout.strip() and shown.stdout in out                # :show 2 prints what qa show prints
    assert out.count("usage: :show N, N from 1 to 5") == 2             # out of range, not a number


@pytest.mark.parametrize("word", ["exit", "quit", "EXIT", ":quit", ":q"])
def test_exit_and_quit_leave(fake_seeds_index: Path, word: str):
    repl = run_qa("repl", "--index", str(fake_seeds_index), stdin=f"{word}\nWho is Yu Xiaohui?\n")
    assert repl.returncode == 0 and "Yu Xiaohui" not in repl.stdout


def test_a_question_that_merely_contains_exit_is_asked(fake_seeds_index: Path):
    repl = run_qa("repl", "--index", str(fake_seeds_index), stdin="exit polls in Uruguay\n")
    assert "? exit polls in Uruguay" in repl.stdout


def test_min_confidence_withholds_weak_answers_in_ask_batch_and_the_repl(fake_seeds_index: Path):
    ix = str(fake_seeds_index)
    asked = json.loads(run_qa("ask", "Who is Yu Xiaohui?", "--index", ix, "--json").stdout)
    assert asked["results"]
    strict = json.loads(run_qa("ask", "Who is Yu Xiaohui?", "--index", ix, "--json", "--min-confidence", "1").stdout)
    assert strict["answered"] is False and strict["results"] == [] and strict["why"][0]["signal"] == "min_confidence"
    batch = run_qa("batch", "-", "--index", ix, "--min-confidence", "1", stdin="Who is Yu Xiaohui?\n")
    assert json.loads(batch.stdout)["results"] == []
    repl = run_qa("repl", "--index", ix, "--min-confidence", "1", stdin="Who is Yu Xiaohui?\n")
    assert "Passages withheld below --min-confidence" in repl.stdout
    bad = run_qa("ask", "x", "--index", ix, "--min-confidence", "2")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
