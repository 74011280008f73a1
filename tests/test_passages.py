"""The splitter: exact spans, line numbers, the token limit, and nothing real left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.sources import Document, find_paragraphs, is_junk
from qa.model.embedder import model_folder
from qa.ingest.split import WordPieceCounter, sentence_spans, split_document

COUNTER = WordPieceCounter(model_folder("all-MiniLM-L6-v2") / "tokenizer.json")

WORDS = st.sampled_from(
    "china colombia forum digital cooperation investment satellite laboratory minister trade 5G "
    "avocado renewable Uruguay Chongqing 13.4 percent $22.64 billion e-commerce Xi’s “quoted” "
    "supercalifragilisticexpialidocious 数字经济 Ñandú naïve café".split()
)
JUNK = st.sampled_from([
    "Share", "MorePhoto", "Back to top About Us | Jobs | Contact Us | Privacy Policy",
    "Copyright ©1999-2024 Example.com. All rights reserved.", "Leave a Reply",
    "See also\xa0 Something else | A newspaper", "[京ICP證040655號]",
    "Home | News | Sports | Weather | Contact",
])


@st.composite
def sentences(draw) -> str:
    words = draw(st.lists(WORDS, min_size=3, max_size=90))
    words[0] = words[0].capitalize()
    return " ".join(words) + draw(st.sampled_from([".", "!", "?", "."]))


@st.composite
def documents(draw) -> tuple[str, list[str]]:
    """Text made of paragraphs and junk lines, and the real sentences in it."""
    lines: list[str] = []
    real: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()) and lines:
            lines.append(draw(JUNK))
        paragraph = draw(st.lists(sentences(), min_size=1, max_size=6))
        real += paragraph
        indent = draw(st.sampled_from(["", "  ", "\t"]))
        lines.append(indent + " ".join(paragraph) + draw(st.sampled_from(["", " ", "\xa0"])))
        lines += [""] * draw(st.integers(0, 2))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines), real


def _document(text: str) -> Document:
    paragraphs, junk = find_paragraphs(text)
    return Document(Path("doc.txt"), "doc.txt", text, "0" * 64, len(text), paragraphs, junk)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(24, 254), st.integers(0, 2))
def test_passages_are_exact_spans_within_the_limit_covering_every_sentence(generated, max_tokens, overlap):
    text, real = generated
    passages = split_document(_document(text), COUNTER, max_tokens, overlap)
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert p.text == p.text.strip()
        assert p.line_start == text.count("\n", 0, p.start) + 1
        assert p.line_end == text.count("\n", 0, p.end) + 1
        assert COUNTER.count([p.text])[0] <= max_tokens
        spanned = text.split("\n")[p.line_start - 1 : p.line_end]       # whole source lines, not fragments
        assert not any(is_junk(line) for line in spanned if line.strip())
    covered = set()
    for p in passages:
        covered.update(range(p.start, p.end))
    cursor = 0
    for sentence in real:
        start = text.index(sentence, cursor)
        cursor = start + len(sentence)
        visible = {i for i in range(start, cursor) if not text[i].isspace()}
        assert visible <= covered, f"sentence left out: {sentence[:60]!r}"


def test_sentences_split_at_boundaries_but_not_after_abbreviations():
    text = "Mr. Xi met Dr. Lula on Nov. 13. The U.S. was absent! Was it? “Yes.” Then 5G came."
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == ["Mr. Xi met Dr. Lula on Nov. 13.", "The U.S. was absent!", "Was it?", "“Yes.”", "Then 5G came."]


def test_a_list_items_number_is_not_a_sentence_of_its_own():
    """"1." was once a sentence, and the one marked as the answer (its similarity to a question was the
    highest of a numbered declaration's sentences)."""
    text = "1. We are deeply concerned. 2. We affirm the role of the WHO. IV. The end came. (3) In 2021. It rained."
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == ["1. We are deeply concerned.", "2. We affirm the role of the WHO.", "IV. The end came.",
                     "(3) In 2021.", "It rained."]


def test_a_sentence_longer_than_the_limit_is_cut_at_word_boundaries():
    text = " ".join(["cooperation"] * 400) + "."
    passages = split_document(_document(text), COUNTER, 100, 1)
    assert len(passages) >= 4
    assert all(COUNTER.count([p.text])[0] <= 100 for p in passages)
    assert all(not p.text.startswith("##") and p.text.startswith("cooperation") for p in passages)


def test_consecutive_passages_share_an_overlapping_sentence():
    sentence_list = [f"Sentence number {i} talks about digital cooperation between regions." for i in range(30)]
    text = " ".join(sentence_list)
    passages = split_document(_document(text), COUNTER, 60, 1)
    assert len(passages) > 2
    for before, after in zip(passages, passages[1:]):
        assert after.start < before.end, "no overlap"


def test_html_code_and_tables_are_cut_between_lines(tmp_path: Path):
    """A code block or table of a web page is read a line at a time, as the text reader reads the same lines:
    held as one piece, a long example was cut inside a line ("v\n([1, 2, 3]..." without its ">>> ") and a
    shorter one ended passages early, leaving short scraps."""
    from qa.sources import read

    code = "\n".join(f"&gt;&gt;&gt; total_{i} = sum(values[{i}:]) + offset_{i}" for i in range(40))
    rows = "".join(f"<tr><td>option_{i}</td><td>sets the {i}th limit of the archive</td></tr>" for i in range(30))
    prose = "<p>" + "The archive module writes files in a portable format for later use. " * 3 + "</p>"
    page = (f"<html><head><title>archive</title></head><body><main><h1>archive</h1>{prose}<pre>{code}</pre>{prose}"
            f"<table>{rows}</table>{prose}</main></body></html>")
    (tmp_path / "archive.html").write_text(page, encoding="utf-8")
    document = read(tmp_path / "archive.html", tmp_path)
    lines = {line for line in document.text.split("\n") if line.startswith((">>> total_", "option_"))}
    assert len(lines) == 70
    paragraphs = {document.text[p.start : p.end] for p in document.paragraphs}
    assert lines <= paragraphs
    passages = split_document(document, COUNTER, 60, 1)
    assert len(passages) > 8
    text = document.text
    for passage in passages:
        for edge in (passage.start, passage.end):
            line_start = text.rfind("\n", 0, edge) + 1
            line_end = text.find("\n", edge) if "\n" in text[edge:] else len(text)
            if text[line_start:line_end] in lines:
                assert edge in (line_start, line_end), passage.text


def test_html_passages_run_on_across_headings_and_cite_where_they_start(tmp_path: Path):
    """As in the page's text form: held to one section, a reference's many short sections made short
    passages, and the HTML form of the Python docs answered less well than the same pages as text."""
    from qa.sources import read

    sections = "".join(f"<h2>Option {i}</h2>\n<p>The option number {i} sets how many owls the survey counts "
                       f"in field {i}. It is off unless the survey asks for it.</p>\n" for i in range(12))
    page = f"<html><head><title>survey</title></head><body><main>\n<h1>Survey options</h1>\n{sections}</main></body></html>"
    (tmp_path / "survey.html").write_text(page, encoding="utf-8")
    passages = split_document(read(tmp_path / "survey.html", tmp_path), COUNTER, 120, 1)
    assert 1 < len(passages) < 12
    assert all(p.text.count("Option ") >= 2 for p in passages[:-1])
    source = page.split("\n")
    for passage in passages:   # the line where its first words are, and the heading above that line
        first_words = passage.text.split("\n")[0][:25]
        line = next(n for n, text in enumerate(source, 1) if first_words in re.sub(r"<[^>]+>", "", text))
        heading = next(re.sub(r"<[^>]+>", "", text) for text in reversed(source[:line]) if text.startswith(("<h1>", "<h2>")))
        assert passage.citation == f"survey.html:{line} § {heading}"


@pytest.mark.parametrize("line", [
    "Read more about the forum in the joint statement.",
    "The copyright law was amended in 2020.",
    "China and Colombia signed a deal on the LINE app.",
    "Economy",
    "China, Colombia to strengthen cooperation in industry and information technology fields",
    "| Country | Trade |",
])
def test_real_lines_with_junk_words_are_kept(line):
    assert not is_junk(line)


def test_a_sentence_of_megabytes_is_cut_before_it_is_counted():
    """A 10 MB line without a full stop was tokenized whole (gigabytes of memory): it is cut at spaces into
    pieces of at most LONG_SENTENCE_CHARS before counting, and still covered exactly by the passages."""
    from qa.ingest import split

    text = " ".join(f"word{i % 97}" for i in range(12_000))            # ~80,000 characters, one "sentence"
    counted: list[int] = []

    class Counting:
        def count(self, texts: list[str]) -> list[int]:
            counted.extend(len(t) for t in texts)
            return COUNTER.count(texts)

        def offsets(self, text: str) -> list[tuple[int, int]]:
            return COUNTER.offsets(text)

    passages = split_document(_document(text), Counting(), 60, 0)
    assert counted and max(counted) <= split.LONG_SENTENCE_CHARS
    assert all(p.text == text[p.start:p.end] for p in passages)
    covered = "".join(text[p.start:p.end] for p in passages).replace(" ", "")
    assert covered == text.replace(" ", "")
