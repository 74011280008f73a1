"""A mixed folder end to end: every format indexed, cited, and every citation opens with `qa show`."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from qa import Index
from qa.citation import Citation
from qa.search.collapse import collapse
from qa.ui.show import show
from tests.conftest import SEEDS, run_qa
from tests.fixtures.make import report_docx, report_pdf, scanned_pdf

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed") / "docs"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(FIXTURES / "article.html", folder / "article.html")
    shutil.copy(FIXTURES / "cp1252.html", folder / "cafe.html")
    (folder / "report.pdf").write_bytes(report_pdf(broken_page=1))
    (folder / "scan.pdf").write_bytes(scanned_pdf())
    (folder / "survey.docx").write_bytes(report_docx())
    (folder / "notes.md").write_text("---\ntitle: Owl notes\n---\n# Owls\n\nLong-eared owls roost in dense conifers.\n")
    (folder / "mac.txt").write_bytes(b"Little owls perch on fence posts.\rThey bob their heads when alarmed.\r")
    shutil.copy(SEEDS / "004_bc3bbd6dfccf26ec.txt", folder / "sub" / "news.txt")
    for name in ("a.png", "b.png", "c.png", "d.zip", "e"):
        (folder / "sub" / name).write_bytes(b"\x00")
    return folder


@pytest.fixture(scope="module")
def built(corpus: Path, tmp_path_factory: pytest.TempPathFactory, fake_model: Path):
    index_dir = tmp_path_factory.mktemp("mixed-index") / "ix"
    result = run_qa("index", str(corpus), "--index", str(index_dir), "--model", str(fake_model))
    assert result.returncode == 0, result.stderr
    return index_dir, result


def test_mixed_folder_summary(built):
    _, result = built
    assert "Indexed 7 files" in result.stdout
    lines = result.stderr.splitlines()
    assert "5 other files skipped: .png 3, .zip 1, (no suffix) 1 (qa index --verbose lists them)" in lines
    assert not any(line.startswith("skipped sub/a.png") for line in lines)
    assert any(line.startswith("skipped scan.pdf: no text layer") for line in lines)
    assert any(line.startswith("note: report.pdf: page ii could not be read") for line in lines)


def test_verbose_lists_the_other_files(built, corpus: Path, fake_model: Path):
    index_dir, _ = built
    result = run_qa("index", str(corpus), "--index", str(index_dir), "--verbose", "--model", str(fake_model))
    assert result.returncode == 0, result.stderr
    assert "skipped sub/a.png: a .png file" in result.stderr and "other files skipped" not in result.stderr


@pytest.fixture(scope="module")
def index(built):
    return Index.open(built[0])


def test_every_format_is_cited_in_its_own_terms(index):
    citations = {p.file: [] for p in index.stored.all_passages()}
    for p in index.stored.all_passages():
        citations[p.file].append(p.citation)
    assert set(citations) == {"article.html", "cafe.html", "report.pdf", "survey.docx", "notes.md", "mac.txt",
                              "sub/news.txt"}
    assert "report.pdf p. i" in citations["report.pdf"] and "report.pdf p. 2" in citations["report.pdf"]
    # The whole short article is one passage (passages run on across headings): cited where it starts.
    assert citations["article.html"] == ["article.html:39 § Barn owls return to the valley"]
    assert "survey.docx § Methods > Night walks ¶ 1" in citations["survey.docx"]
    assert citations["mac.txt"] == ["mac.txt:1-2"]
    assert all(c.startswith("notes.md:") for c in citations["notes.md"])


def test_every_citation_opens_to_text_containing_the_passage(index):
    for passage in index.stored.all_passages():
        citation = index.source_path(passage.file) + passage.locator
        shown = show(index, citation, context=1)
        lines = "\n".join(line for _, _, line in shown.lines())
        for line in passage.text.replace("\r", "\n").split("\n"):
            assert line in lines, (citation, line)
        assert shown.start <= passage.start and passage.end <= shown.end, citation


@pytest.mark.parametrize("question, citation", [
    ("Where do tawny owls stay all year?", "report.pdf p. 2"),
    ("How long did each night walk last?", "survey.docx § Methods > Night walks ¶ 1"),
    ("Why do farmers keep wide margins of tall grass?", "article.html:39 § Barn owls return to the valley"),
])
def test_ask_json_carries_the_locator_and_show_opens_it(built, question: str, citation: str):
    index_dir, _ = built
    result = run_qa("ask", question, "--index", str(index_dir), "--json", "-k", "1", "--mode", "bm25")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["results"]
    hit = next(h for h in hits if h["citation"].endswith(citation))
    assert {"page", "page_label", "heading", "source_line", "paragraph", "line_start", "line_end"} <= set(hit)
    shown = run_qa("show", hit["citation"], "--index", str(index_dir))
    assert shown.returncode == 0, shown.stderr
    assert hit["text"].split("\n")[0] in shown.stdout


def test_show_refuses_what_is_not_a_citation_and_what_is_not_indexed(built):
    index_dir, _ = built
    malformed = run_qa("show", "just some words", "--index", str(index_dir))
    assert malformed.returncode == 2 and malformed.stderr.count("\n") == 1 and "not a citation" in malformed.stderr
    unknown = run_qa("show", "nothere.txt:3", "--index", str(index_dir))
    assert unknown.returncode == 1 and "not in the index" in unknown.stderr
    no_page = run_qa("show", "report.pdf p. ii", "--index", str(index_dir))      # the broken page
    assert no_page.returncode == 1 and no_page.stderr.count("\n") == 1


#: Questions over the mixed folder whose top three hits reach every format.
QUESTIONS = [
    "Where do tawny owls stay all year?",
    "How long did each night walk last?",
    "Why do farmers keep wide margins of tall grass?",
    "Where do long-eared owls roost?",
    "What do little owls do when alarmed?",
    "How many barn owl nests did the survey count?",
    "À quelle heure ouvre le café Chez Hibou à Montréal ?",
]


#: No COLUMNS: output that is not a terminal is not wrapped, so each shown line is one line.
UNWRAPPED: dict[str, str | None] = {"COLUMNS": None}


def _cited_lines(stdout: str) -> str:
    """The lines `qa show` marks as cited (`>`), without their numbers."""
    return "\n".join(line.partition(" |")[2][1:] for line in stdout.splitlines() if line.startswith(">"))


def test_every_top3_citation_opens_with_show_and_shows_its_answer(built):
    """Each citation `qa ask --json` prints (as JSON has it, and with ", answer under § ..." as the terminal
    prints it) opens with `qa show`, and the lines show marks hold the hit's answering sentence."""
    index_dir, _ = built
    files, answered = set(), 0
    for question in QUESTIONS:
        result = run_qa("ask", question, "--index", str(index_dir), "--json", "-k", "3")
        assert result.returncode == 0, result.stderr
        for hit in json.loads(result.stdout)["results"]:
            files.add(hit["file"])
            citations = [hit["citation"]]
            if hit["answer_heading"]:
                citations.append(str(replace(Citation.parse(hit["citation"]), answer_heading=hit["answer_heading"])))
            for citation in citations:
                shown = run_qa("show", citation, "--index", str(index_dir), "--context", "0", env=UNWRAPPED)
                assert shown.returncode == 0, (citation, shown.stderr)
                cited = _cited_lines(shown.stdout)
                if hit["answer_start"] is not None:
                    answer = hit["text"][hit["answer_start"] - hit["start"] : hit["answer_end"] - hit["start"]]
                    for line in answer.replace("\r", "\n").split("\n"):
                        assert line.strip() in cited, (question, citation, line)
                    answered += 1
                else:
                    assert hit["text"].replace("\r", "\n").split("\n")[0].strip() in cited, (question, citation)
    assert files == {"article.html", "cafe.html", "report.pdf", "survey.docx", "notes.md", "mac.txt", "sub/news.txt"}
    assert answered >= 15


def test_show_of_a_huge_line_number_is_one_line(built):
    index_dir, _ = built
    for citation in ("mac.txt:" + "9" * 5000, "mac.txt:1-" + "9" * 5000, "survey.docx ¶ " + "7" * 5000):
        result = run_qa("show", citation, "--index", str(index_dir))
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr[-300:]
        assert "in the index" in result.stderr and len(result.stderr) < 400


def two_page_pdf(texts: list[str], prefix: str = "A ") -> bytes:
    """A PDF of one paragraph a page, no running header, pages labelled `prefix`1, `prefix`2..."""
    import io

    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in texts:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    writer.set_page_label(0, len(texts) - 1, style="/D", prefix=prefix, start=1)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


KESTRELS = ["Kestrels hover over the verge before they drop onto a vole.",
            "The vole season peaks in late summer when kestrels feed their young."]


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Path:
    """Files whose names hold the citations' own separators, and page labels with a space."""
    docs = tmp_path_factory.mktemp("awkward") / "docs"
    docs.mkdir()
    (docs / "kestrel p. 2.pdf").write_bytes(two_page_pdf(KESTRELS))
    (docs / "minutes § 4.docx").write_bytes(report_docx())
    (docs / "notes p. 3.txt").write_text("Merlins chase pipits low over the moor.\nThey nest on the ground.\n",
                                         encoding="utf-8")
    shutil.copy(FIXTURES / "article.html", docs / "owls § 2:39.html")
    sections = "".join(f"<h2>Falcon {i}</h2>\n<p>" + f"Falcons of kind {i} stoop on pigeons above the cliffs. " * 12
                       + "</p>\n" for i in range(4))
    (docs / "falcons.html").write_text(f"<html><head><title>Falcons</title></head><body><main>\n<h1>Falcons</h1>\n"
                                       f"{sections}</main></body></html>\n", encoding="utf-8")
    index_dir = docs.parent / "ix"
    result = run_qa("index", str(docs), "--index", str(index_dir), "--model", str(fake_model))
    assert result.returncode == 0, result.stderr
    return index_dir


def test_a_file_name_holding_p_or_section_sign_is_cited_and_opens(awkward: Path):
    index = Index.open(awkward)
    passages = index.stored.all_passages()
    assert {p.file for p in passages} == {"kestrel p. 2.pdf", "minutes § 4.docx", "notes p. 3.txt", "owls § 2:39.html",
                                          "falcons.html"}
    for passage in passages:
        for citation in (passage.citation, index.source_path(passage.file) + passage.locator):
            shown = show(index, citation, context=0)
            assert shown.file == passage.file
            assert shown.start <= passage.start and passage.end <= shown.end, citation
    cited = {p.citation for p in passages}
    assert {'kestrel p. 2.pdf p. "A 1"', "notes p. 3.txt:1-2", "minutes § 4.docx § Methods > Night walks ¶ 1",
            "owls § 2:39.html:39 § Barn owls return to the valley"} <= cited
    for citation in ("notes p. 3.txt:1-2", "minutes § 4.docx § Methods > Night walks ¶ 1"):
        result = run_qa("show", citation, "--index", str(awkward), "--context", "0", env=UNWRAPPED)
        assert result.returncode == 0, result.stderr
    assert "Merlins chase pipits" in run_qa("show", "notes p. 3.txt:1", "--index", str(awkward)).stdout
    assert "Each walk lasted two hours." in _cited_lines(
        run_qa("show", "minutes § 4.docx § Methods > Night walks ¶ 1", "--index", str(awkward), env=UNWRAPPED).stdout)


def test_a_hit_over_two_pages_is_cited_by_both_and_show_opens_them(awkward: Path):
    """Two passages on pages "A 1" and "A 2" that touch are one hit: cited by the range, not its first page."""
    index = Index.open(awkward)
    rows = [row for row, p in enumerate(index.stored.all_passages()) if p.file == "kestrel p. 2.pdf"]
    assert len(rows) == 2
    hit = collapse([(rows[1], 1.0), (rows[0], 0.5)], 3, None, index.stored)[0].passage
    assert hit.citation == 'kestrel p. 2.pdf p. "A 1"-"A 2"'
    shown = show(index, hit.citation, context=0)
    assert KESTRELS[1] in shown.text[shown.start : shown.end] and KESTRELS[0] in shown.text[shown.start : shown.end]
    # Through the command line: a question both pages answer is one hit, and its citation opens both.
    result = run_qa("ask", "kestrels vole", "--index", str(awkward), "--json", "--mode", "bm25", "-k", "3")
    top = json.loads(result.stdout)["results"][0]
    assert top["citation"].endswith('/kestrel p. 2.pdf p. "A 1"-"A 2"')
    printed = run_qa("show", top["citation"], "--index", str(awkward), "--context", "0", env=UNWRAPPED)
    assert printed.returncode == 0, printed.stderr
    assert KESTRELS[0] in _cited_lines(printed.stdout) and KESTRELS[1] in _cited_lines(printed.stdout)


def test_a_hit_over_two_docx_sections_is_cited_by_both_and_show_opens_them(awkward: Path):
    """Methods ¶ 1 and Methods > Night walks ¶ 1 touch: one hit, cited from the first to the second section."""
    index = Index.open(awkward)
    rows = {p.heading: row for row, p in enumerate(index.stored.all_passages()) if p.file == "minutes § 4.docx"}
    ranking = [(rows["Methods > Night walks"], 1.0), (rows["Methods"], 0.5)]
    hit = collapse(ranking, 3, None, index.stored)[0].passage
    assert hit.citation == "minutes § 4.docx § Methods ¶ 1 to § Methods > Night walks ¶ 1"
    shown = show(index, hit.citation, context=0)
    cited = shown.text[shown.start : shown.end]
    assert "Volunteers walked fixed routes at dusk." in cited and "Calls were logged with the time" in cited
    assert "The counts per species" not in cited


def test_a_hit_over_later_html_blocks_is_cited_by_their_source_lines_and_show_opens_them(awkward: Path):
    index = Index.open(awkward)
    found = [(row, p) for row, p in enumerate(index.stored.all_passages()) if p.file == "falcons.html"]
    (one, first), (two, second) = next(
        (a, b) for a, b in zip(found, found[1:]) if a[1].source_line != b[1].source_line)
    hit = collapse([(two, 1.0), (one, 0.5)], 3, None, index.stored)[0].passage
    assert hit.citation == f"falcons.html:{first.source_line}-{second.source_line} § {first.heading.split(' > ')[-1]}"
    shown = show(index, hit.citation, context=0)
    assert shown.start <= first.start and second.end <= shown.end
    alone = show(index, first.citation, context=0)          # its first passage alone does not reach the second
    assert alone.end < second.end


def test_show_tells_apart_sections_on_one_line_of_a_minified_page(tmp_path: Path, fake_model: Path):
    """Every block of a minified page is on line 1: a block is cited by its number under its heading path."""
    sections = "".join(f"<h2>Part {i}</h2><p>" + f"Owls of kind {i} nest in old barns and hunt voles at night. " * 8
                       + "</p>" for i in range(6))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "owls.html").write_text(f"<html><head><title>Owls</title></head><body><main><h1>Owls</h1>{sections}"
                                    "</main></body></html>", encoding="utf-8")
    Index.build([docs], tmp_path / "ix", model=str(fake_model))
    index = Index.open(tmp_path / "ix")
    later = [p for p in index.stored.all_passages() if p.heading and p.heading.endswith("Part 4")]
    assert later and all(p.citation == "owls.html § Owls > Part 4 ¶ 1" for p in later)
    shown = show(index, index.source_path(later[0].file) + later[0].locator, context=0)
    assert shown.start <= later[0].start and later[0].end <= shown.end
    assert "Owls of kind 1" not in shown.text[shown.start : shown.end]
    printed = "\n".join(line for _, _, line in shown.lines())
    assert "Owls of kind 4" in printed and "Owls of kind 3" not in printed and "Owls of kind 1" not in printed


def test_a_hit_names_the_section_of_its_answer_when_the_passage_starts_in_another(tmp_path: Path):
    """An HTML passage runs on across headings and is cited where it starts; the terminal and JSON also
    say which section the answering sentence is in (the real model picks that sentence)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(FIXTURES / "article.html", docs / "article.html")
    index_dir = tmp_path / "ix"
    Index.build([docs], index_dir)
    question = "Why do farmers keep wide margins of tall grass?"
    hit = json.loads(run_qa("ask", question, "--index", str(index_dir), "--json", "-k", "1").stdout)["results"][0]
    assert hit["citation"].endswith("article.html:39 § Barn owls return to the valley")
    assert hit["answer_heading"] == "Why the owls came back"
    assert "farmers to keep wide margins" in hit["text"][hit["answer_start"] - hit["start"] : hit["answer_end"] - hit["start"]]
    shown = run_qa("ask", question, "--index", str(index_dir), "-k", "1")
    assert "§ Barn owls return to the valley, answer under § Why the owls came back" in " ".join(shown.stdout.split())


def test_one_file_is_counted_as_one_file(tmp_path: Path, fake_model: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "owls.txt").write_text("Barn owls hunt voles over rough grassland at night.\n", encoding="utf-8")
    result = run_qa("index", str(docs), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Indexed 1 file (0 unchanged, 0 changed, 1 added")


def test_a_repeated_heading_is_cited_with_its_position_and_show_opens_that_one(tmp_path: Path, fake_model: Path):
    """"Warning" three times in a Word file and on a minified page, twice in Markdown: each passage's citation
    opens with `show` to a span holding the passage and none of the other warnings' text."""
    import docx

    warnings = ["Keep the chain brake on between trees.", "Refuel only when the engine is cool.",
                "Never cut above shoulder height."]
    document = docx.Document()
    document.add_heading("Chainsaws", level=1)
    for text in warnings:
        document.add_heading("Warning", level=2)
        document.add_paragraph(text)
    docs = tmp_path / "docs"
    docs.mkdir()
    document.save(str(docs / "saws.docx"))
    (docs / "kiln.html").write_text("<html><head><title>Kiln</title></head><body><main><h1>Kiln rules</h1>"
                                    + "".join(f"<h2>Warning</h2><p>{text}</p>" for text in warnings)
                                    + "</main></body></html>", encoding="utf-8")
    (docs / "canoe.md").write_text("".join(f"# Canoes\n\n## Warning\n\n{text}\n\n" for text in warnings[:2]),
                                   encoding="utf-8")
    Index.build([docs], tmp_path / "ix", model=str(fake_model))
    index = Index.open(tmp_path / "ix")
    cited = {}
    for passage in index.stored.all_passages():
        shown = show(index, passage.citation, context=0)
        span = shown.text[shown.start : shown.end]
        assert shown.start <= passage.start and passage.end <= shown.end, passage.citation
        own = [text for text in warnings if text in passage.text]
        assert not [text for text in warnings if text in span and text not in own], passage.citation
        cited[passage.citation] = own
    assert {"saws.docx § Chainsaws > Warning ¶ 1", "saws.docx § Chainsaws > Warning (2nd) ¶ 1",
            "saws.docx § Chainsaws > Warning (3rd) ¶ 1"} <= set(cited)
