"""Answer marking (qa/answer/marking.py): the answering sentence of each shown hit, in every mode, whole.

BM25 mode and the BM25 fallback mark the sentence holding the most of the question's term weight; a
sentence wrapped over two lines (PDF text, hard-wrapped plain text) is one sentence, so its mark is whole;
and `qa ask` prints the marks of the moved function. The fake model: only the marking is the subject.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import Index
from qa.answer.marking import continues_subject, line_sentences
from qa.sources import pdf, text
from qa.sources.document import Paragraph
from qa.sources.text import continues, join_wrapped, wrap_width
from tests.conftest import run_qa

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

#: A sentence wrapped over two lines, as a PDF's text layer gives it (the issue's own example).
WRAPPED = ["Scale settings", "The scale accepts weights between 1 and 100.", "The default weight value is",
           "50, and the maximum is 100.", "Heavier loads need the steel frame described on the next page."]

GARDEN = {
    "tomatoes.txt": "Growing tomatoes\n\nTomatoes need a sunny bed and regular water. Pinch out the side shoots "
                    "every week. The fruit ripens from July in a warm summer. Feed the plants with comfrey "
                    "tea once the first truss has set.\n",
    "beans.txt": "Runner beans\n\nRunner beans climb poles or strings. Sow them outdoors after the last frost. "
                 "Pick the pods young, before the beans inside swell.\n",
    "compost.txt": "Compost\n\nA compost heap turns kitchen scraps into soil. Keep it moist and turn it each month.\n",
}


def _pdf(lines: list[str]) -> bytes:
    """One page holding `lines`, each its own line of the page (the wrap is where the line ends)."""
    from fpdf import FPDF

    document = FPDF()
    document.set_font("Helvetica", size=11)
    document.add_page()
    for line in lines:
        document.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def _marked(index: Index, question: str, mode: str) -> str | None:
    hit = index.answer(question, k=3, mode=mode).hits[0]
    if hit.answer_start is None:
        return None
    return index.stored.document_text(hit.passage.file)[hit.answer_start : hit.answer_end]


@pytest.fixture(scope="module")
def garden(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Index:
    root = tmp_path_factory.mktemp("garden")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, content in GARDEN.items():
        (corpus / name).write_text(content, encoding="utf-8")
    (corpus / "scale.pdf").write_bytes(_pdf(WRAPPED))
    (corpus / "wrapped.txt").write_text(
        "Watering\n\nWater the beds in the evening so that the\nleaves dry before the night is cold.\n\n"
        "Rain water from the butt is better than tap water.\n", encoding="utf-8")   # two lines: not hard-wrapped
    Index.build([corpus], root / "ix", model=str(fake_model))
    return Index.open(root / "ix")


# --- BM25 mode marks --------------------------------------------------------------------


def test_bm25_mode_marks_the_sentence_holding_the_question_s_terms(garden):
    assert _marked(garden, "When does the tomato fruit ripen?", "bm25") == "The fruit ripens from July in a warm summer."
    assert _marked(garden, "What do I feed tomato plants with after the first truss?", "bm25") == (
        "Feed the plants with comfrey tea once the first truss has set.")
    assert _marked(garden, "When should bean pods be picked?", "bm25") == (
        "Pick the pods young, before the beans inside swell.")


def test_the_rarest_terms_weigh_most_and_question_words_not_at_all(garden):
    """"How many" and "what" are no subject: the sentence about the comfrey tea is the one marked, though
    another sentence of the passage holds "the" and "plants" too."""
    assert _marked(garden, "How many times do you feed the plants with comfrey?", "bm25") == (
        "Feed the plants with comfrey tea once the first truss has set.")


def test_every_shown_hit_of_bm25_mode_gets_a_mark(garden):
    answer = garden.answer("How often should the compost heap be turned?", k=3, mode="bm25")
    assert answer.hits[0].answer_start is not None
    assert all(h.answer_start is None or h.passage.start <= h.answer_start < h.answer_end <= h.passage.end
               for h in answer.hits)


# --- line wraps -------------------------------------------------------------------------


def test_a_pdf_line_wrap_does_not_cut_a_sentence():
    extracted = pdf.read(_pdf(WRAPPED))
    spans = [extracted.text[p.start : p.end] for p in extracted.paragraphs]
    assert "The default weight value is\n50, and the maximum is 100." in spans
    assert "Scale settings" in spans, "a heading is not joined to the sentence under it"


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_the_marked_sentence_of_a_wrapped_pdf_line_is_whole(garden, mode):
    marked = _marked(garden, "What is the default weight value of the scale?", mode)
    assert marked is not None and "The default weight value is" in marked and "50, and the maximum is 100." in marked


def test_a_hard_wrapped_text_paragraph_is_one_sentence(garden):
    assert _marked(garden, "Why water the beds in the evening?", "bm25") == (
        "Water the beds in the evening so that the\nleaves dry before the night is cold.")


@pytest.mark.parametrize("line, following, expected", [
    ("The default weight value is", "50, and the maximum is 100.", True),      # a digit goes on
    ("so that the", "Leaves dry.", True),                                        # a line ends in "the"
    ("were signed in Beijing by the ministers of both countries and", "Brazil.", True),
    ("The forum ended with a joint statement,", "Which both sides signed.", True),   # a comma
    ("The forum ended.", "the next day", False),                                 # a sentence ended
    ("Scale settings", "The scale accepts weights.", False),                     # a heading
    ("Summary of the talks", "The talks lasted two days.", False),               # a short line: a heading
    (">>> import csv", ">>> csv.reader(f)", False),                              # code
    ("x = compute(a)", "y = x + 1", False),
    ("- first item", "- second item", False),                                    # a list
    ("Options", "  indented definition", False),                                 # other indentation
    ("中国和拉丁美洲的合作", "不断加深。", True),                                      # CJK goes on at a wrap
])
def test_which_lines_go_on(line, following, expected):
    assert continues(line, following) is expected


def test_join_wrapped_joins_only_across_one_line_break_in_one_block():
    content = "The default weight value is\n50, and more.\n\nThe next is\nthe last.\nEnd of the\n"
    paragraphs = [Paragraph(0, 27, 0), Paragraph(28, 41, 0), Paragraph(43, 54, 0), Paragraph(55, 64, 1),
                  Paragraph(65, 75, 1)]
    joined = join_wrapped(content, paragraphs)
    assert [content[p.start : p.end] for p in joined] == [
        "The default weight value is\n50, and more.", "The next is", "the last.", "End of the"]


def test_the_text_reader_joins_a_two_line_wrap_and_keeps_code_lines_apart():
    read = text.read(b"Intro\n\nThe default weight value is\n50, and the maximum is 100.\n\n>>> import csv\n"
                     b">>> csv.reader(f)\n")
    assert [read.text[p.start : p.end] for p in read.paragraphs] == [
        "Intro", "The default weight value is\n50, and the maximum is 100.", ">>> import csv", ">>> csv.reader(f)"]


def test_an_index_without_stored_sentences_splits_lines_the_same_way():
    content = "Scale settings\nThe default weight value is\n50, and the maximum is 100. Heavier loads need more."
    assert [content[s:e] for s, e in line_sentences(content)] == [
        "Scale settings", "The default weight value is\n50, and the maximum is 100.", "Heavier loads need more."]


# --- through qa ask ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_qa_ask_prints_the_marked_sentence(garden, mode):
    result = run_qa("ask", "When does the tomato fruit ripen?", "--json", "--mode", mode, "-k", "3",
                    "--index", str(garden.path))
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout)["results"][0]
    assert first["answer_start"] is not None, f"{mode}: no sentence marked"
    assert first["start"] <= first["answer_start"] < first["answer_end"] <= first["end"]
    if mode == "bm25":   # the fake model's similarities say little; BM25's terms say which sentence
        marked = first["text"][first["answer_start"] - first["start"] : first["answer_end"] - first["start"]]
        assert marked == "The fruit ripens from July in a warm summer."


def test_a_hard_wrapped_markdown_paragraph_is_one_paragraph(tmp_path: Path):
    """Markdown joins a line wrap as text and PDF do: the wrapped sentence is one paragraph, a heading is not
    joined to what follows."""
    from qa.sources import read

    (tmp_path / "limits.md").write_text("# Limits\n\nThe default weight value is\n50, and the maximum is 100.\n\n"
                                        "Next one.\n", encoding="utf-8")
    document = read(tmp_path / "limits.md", tmp_path)
    assert [document.text[p.start : p.end] for p in document.paragraphs] == [
        "# Limits", "The default weight value is\n50, and the maximum is 100.", "Next one."]


# --- a sentence that goes on about the marked one ------------------------------------------


@pytest.mark.parametrize("sentence, following, expected", [
    ("The Food Innovation Center was set up in 2023.", "The center's goal is to promote food security.", True),
    ("During the forum, the Chongqing Initiative was released.", "The initiative called for 5G.", True),
    ("The trust was founded in 1988.", "Its aim is to conserve the barn owl.", True),
    ("“They met in Beijing.”", "“These talks went well,” he said.", True),
    ("The trust was founded in 1988.", "The river floods every spring.", False),
    ("The trust was founded in 1988.", "Italy has many owls.", False),
    ("The trust was founded in 1988.", "Owls hunt at night.", False),
])
def test_which_sentences_go_on_about_the_one_before(sentence, following, expected):
    assert continues_subject(sentence, following) is expected


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_the_mark_takes_in_the_next_sentence_when_it_goes_on_about_the_same_thing(tmp_path: Path, fake_model: Path,
                                                                                   mode: str):
    """"... the Trust was founded." "Its aim is ..." — the answer to what the Trust is for is the second."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "trust.txt").write_text(
        "Owl news\n\nThe Barn Owl Trust was founded in Devon in 1988. Its aim is to conserve the barn owl and its "
        "habitat. Tawny owls hunt at night over open fields.\n", encoding="utf-8")
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    index = Index.open(tmp_path / "ix")
    assert _marked(index, "What is the Barn Owl Trust for?", mode) == (
        "The Barn Owl Trust was founded in Devon in 1988. Its aim is to conserve the barn owl and its habitat.")
    assert _marked(index, "When do tawny owls hunt over the fields?", mode) == (
        "Tawny owls hunt at night over open fields.")


def test_a_line_that_fills_the_wrap_width_goes_on_even_after_a_capitalised_word():
    """A PDF line wrapped after "Cooperation" or "III" (the next line starts with a capital too) was cut into
    two sentences, and "Forum was held in Chongqing." marked alone; a short line (a title) still stands alone."""
    lines = ["On September 4, the 2023 China-Latin America and Caribbean Countries Digital Technology Cooperation",
             "Forum was held in Chongqing. Leaders from competent government departments, envoys stationed in",
             "China, and representatives from relevant international organizations from 16 countries in Latin",
             "Strengthening International Cooperation on Digital Governance"]
    text = "\n".join(lines * 4)
    width = wrap_width(text)
    assert width == len(lines[0])
    assert continues(lines[0], lines[1], width) and not continues(lines[0], lines[1])
    assert not continues(lines[3], lines[0], width), "a title is no wrapped line"
    assert not continues(lines[1][:-len(" stationed in")] + ".", lines[2], width), "a sentence ended there"
    assert wrap_width("one line\nand another") == 0, "too few lines to tell a wrap"
