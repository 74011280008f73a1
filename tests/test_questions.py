"""Questions are untrusted input too: text no tokenizer takes is cleaned first, a batch line that cannot be
parsed costs that line only, and a question with no word to search for is answered "no" with that reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa import Index
from qa.query import Query, clean
from tests.conftest import REPO, run_qa

NO_WORDS = "the question has no words to search for"


def run_bytes(*args: bytes | str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The real command with arguments and input as raw bytes (not necessarily UTF-8)."""
    return subprocess.run([sys.executable, "-m", "qa.ui.cli", *args], input=stdin, capture_output=True, cwd=REPO,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "100"}, timeout=300)


def test_clean_makes_any_text_valid_unicode():
    assert clean("owls\ud800 in\x00 the\u200b barn\x1b[31m") == "owls\ufffd in the barn [31m"
    assert clean("  a \t\n b ") == "a b"
    assert clean("e\u0301") == "\u00e9"                          # composed, as the passages are
    assert Query.of("\u200b\u200c").searchable is False
    assert Query.of("大熊猫").terms == ("大熊", "熊猫")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("question", ["...", "?!", "\u200b\u200b", "\ud800", "— « » —"])
def test_a_question_without_words_is_answered_no_in_every_mode(fake_seeds_index: Path, question: str, mode: str):
    answer = Index.open(fake_seeds_index).answer(question, 3, mode)
    assert answer.answered is False and answer.hits == []
    assert answer.verdict is not None and answer.verdict.top_reason.text == NO_WORDS


def test_questions_without_words_do_not_disturb_the_others_in_a_batch(fake_seeds_index: Path):
    index = Index.open(fake_seeds_index)
    answers = index.answer_many(["Who is Yu Xiaohui?", "...", "Uruguay laboratory"], 2)
    assert [a.answered is False and a.hits == [] for a in answers] == [False, True, False]
    assert answers[0].hits == index.answer("Who is Yu Xiaohui?", 2).hits


def test_undecodable_bytes_in_a_command_line_question(fake_seeds_index: Path):
    result = run_bytes("ask", "--index", str(fake_seeds_index), b"Uruguay \xff\xfe laboratory", "--json")
    assert result.returncode == 0, result.stderr.decode()
    answer = json.loads(result.stdout)
    assert answer["question"] == "Uruguay \ufffd\ufffd laboratory" and answer["results"]


def test_a_piped_repl_reads_past_bytes_that_are_not_utf8(fake_seeds_index: Path):
    result = run_bytes("repl", "--index", str(fake_seeds_index), stdin=b"Uruguay \xff laboratory\n...\nYu Xiaohui\n")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "? Uruguay \ufffd laboratory" in out and "? Yu Xiaohui" in out
    assert f"No answer in these documents: {NO_WORDS}" in out
    assert b"Traceback" not in result.stderr


def test_every_batch_line_gets_an_answer_or_an_error_and_the_batch_goes_on(fake_seeds_index: Path):
    deep = '{"id": "deep", "question": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [b"Who is Yu Xiaohui?",
             json.dumps({"id": "s", "question": "Uruguay \ud800 laboratory"}).encode(),   # "\\ud800" escaped
             deep.encode(),
             '{"id": "\\udc80", "question": "Uruguay"}'.encode(),
             b"Uruguay \xff laboratory",
             b"?!",
             b"Yu Xiaohui"]
    result = run_bytes("batch", "--index", str(fake_seeds_index), "-", "-k", "1", stdin=b"\n".join(lines) + b"\n")
    assert b"Traceback" not in result.stderr
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    assert result.returncode == 1                     # one line failed
    assert out[2] == {"id": 3, "line": 3, "error": "line 3 is JSON nested too deeply to read"}
    assert [o.get("id") for o in out] == [1, "s", 3, "\ufffd", 5, 6, 7]
    assert out[1]["question"] == "Uruguay \ufffd laboratory" and out[1]["results"]
    assert out[4]["question"] == "Uruguay \ufffd laboratory" and out[4]["results"]
    assert out[5]["answered"] is False and out[5]["why"][0]["text"] == NO_WORDS
    assert out[0]["results"] and out[6]["results"]


def test_an_empty_question_is_still_misuse(fake_seeds_index: Path):
    result = run_qa("ask", "--index", str(fake_seeds_index), "   ")
    assert result.returncode == 2 and "The question is empty" in result.stderr


def test_the_question_is_analysed_once_into_what_every_step_reads():
    query = Query.of('How do I parse a date string like "30 Nov 00" with time.strptime() in Python?')
    assert query.literals == ("30 Nov 00",)
    assert query.identifiers[:2] == ("time.strptime", "time.strptime()")
    words = {w.text: w for w in query.words}
    assert words["30"].literal and words["Nov"].literal and not words["Python"].literal
    assert words["time.strptime"].identifier and words["Python"].capitalised and not words["How"].capitalised
    assert query.asked is None and query.unit is None, "a how-to question asks for a method"
    assert query.script == "latin" and Query.of("大熊猫吃什么？").script == "cjk"
    assert Query.of("iPhone手机").script == "mixed"
    assert Query.of("How many doses were sent?").unit == ("count", "doses")
    assert Query.of("Use a value such as 3.14 or <name>").literals == ("3.14", "<name>")
    assert Query.of("What is Murillo's job?").literals == (), "an apostrophe is no quote"
    cjk = Query.of("大熊猫吃什么？")
    assert cjk.words[0].terms == cjk.terms == ("大熊", "熊猫", "猫吃", "吃什", "什么"), "the verdict's terms are BM25's"
    assert query.terms_in("code")[-2:] == ("time.strptime", "time.strptime()")
