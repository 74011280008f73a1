"""Issue 29's "done when": over a folder of every format, `qa show` of each top-3 citation exactly as `qa ask`
prints it prints the hit's answering sentence, inside the lines it marks as cited.

The folder holds what made citations ambiguous before: an HTML page on one line without headings, a page of
paragraphs without headings, a minified page whose "Warning" heading repeats, a page with headings, a PDF
with page labels (i, ii, 1, 2, 3), a Word file whose "Warning" heading repeats and whose code example keeps
its line breaks, Markdown with a repeated heading, and plain text. The fake model is enough: the subject is
the citation, not the ranking.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_qa
from tests.fixtures.make import report_pdf

#: A paragraph per topic; the minified page holds them all on its one line.
FACTS = [
    "The lighthouse keeper lights seven lanterns every evening before the ferry arrives.",
    "Harbour seals rest on the sandbank at low tide and swim back at dusk.",
    "The fish market opens at four in the morning and closes before noon.",
    "Fishing boats are painted blue and yellow so that they are seen in fog.",
    "The old pier was rebuilt in 1987 after a winter storm broke its timbers.",
    "Gulls steal chips from tourists who eat on the promenade benches.",
]

PLAIN = [
    "Beekeepers wear pale clothes because dark colours make the bees defensive.",
    "A strong hive holds about fifty thousand worker bees in midsummer.",
    "Honey is taken from the supers in late August, leaving the brood box alone.",
    "Smoke calms the bees by masking the alarm scent the guards release.",
    "Varroa mites are counted on a sticky board slid under the mesh floor.",
]

GUIDE_SECTIONS = [
    ("Planting", ["Plant garlic cloves in October, pointed end up, a hand's width apart.",
                  "Cover the bed with straw so the frost does not lift the cloves."]),
    ("Watering", ["Water the garlic once a week in dry springs and stop in June.",
                  "Yellowing leaves in early summer tell you the bulbs are almost ready."]),
    ("Harvest", ["Lift the bulbs with a fork when half the leaves have turned brown.",
                 "Dry them in an airy shed for three weeks before storing them."]),
]

MINIFIED_WARNINGS = [
    ("Warning", "Never leave the kiln door open while the firing is above six hundred degrees."),
    ("Glazes", "Dip each pot in the glaze bucket for three seconds and wipe the foot clean."),
    ("Warning", "Wear a dust mask when you mix dry glaze powder, as silica harms the lungs."),
    ("Cleaning", "Sweep the studio floor wet so that the clay dust does not rise."),
    ("Warning", "Unplug the potter's wheel before you change its drive belt."),
]

DOCX_WARNINGS = [
    "Keep the chainsaw chain brake engaged whenever you carry the saw between trees.",
    "Refuel the chainsaw only when the engine has cooled for ten minutes.",
    "Never cut above shoulder height with a chainsaw, because kickback is hard to control.",
]
CODE_LINES = ["saw --fuel mix=50:1", "saw --chain tension=firm", "saw --start choke=on"]

MARKDOWN = """# Canoeing

## Warning

Canoeists must wear a buoyancy aid on every river, even on a calm day.

## Packing

Pack spare clothes in a dry bag tied to the centre thwart.

## Warning

Scout every weir from the bank before you paddle anywhere near it.
"""

TEXT = ("Night trains to the coast leave the central station at eleven and arrive at six.\n\n"
        "Sleeper cabins have two berths and a small washbasin beside the window.\n\n"
        "Bicycles travel in the luggage van and must be booked a day ahead.\n")

#: Questions and the phrase the answering passage holds (each in exactly one file).
QUESTIONS = [
    ("How many lanterns does the lighthouse keeper light every evening?", "lights seven lanterns", "harbour.html"),
    ("When did the old pier get rebuilt after the storm?", "rebuilt in 1987", "harbour.html"),
    ("Why do beekeepers wear pale clothes?", "dark colours make the bees defensive", "bees.html"),
    ("How are varroa mites counted?", "sticky board slid under the mesh floor", "bees.html"),
    ("When should garlic bulbs be lifted with a fork?", "half the leaves have turned brown", "garlic.html"),
    ("Why wear a dust mask when mixing dry glaze powder?", "silica harms the lungs", "pottery.html"),
    ("What must you unplug before changing the drive belt of the potter's wheel?", "Unplug the potter's wheel",
     "pottery.html"),
    ("How long should the chainsaw engine cool before refuelling?", "cooled for ten minutes", "forestry.docx"),
    ("What is the chain tension command for the saw?", "saw --chain tension=firm", "forestry.docx"),
    ("When do tawny owls stay in the beech woods?", "stay in the beech woods all year", "report.pdf"),
    ("How many nests did the barn owl survey count?", "counted twenty-three nests", "report.pdf"),
    ("What must canoeists wear on every river?", "buoyancy aid", "canoe.md"),
    ("What should you scout from the bank before paddling near it?", "Scout every weir", "canoe.md"),
    ("How many berths do the sleeper cabins have?", "two berths", "trains.txt"),
]


#: Words of the filler sentences (none of them in a question).
WORDS = """amber basin cedar dune ember fable garnet hollow ivory juniper kestrel meadow nettle
orchard pebble quarry russet saffron thistle umber velvet willow yarrow zephyr acorn bramble copper dapple
elm fennel gravel heather iris jasper kelp lichen marble nutmeg ochre pewter quill reed sorrel tansy
ultramarine verdigris wicker yew almond birch clover dahlia""".split()


def logbook(subject: str, count: int, first: int = 0) -> list[str]:
    """`count` filler sentences, different from each other and from other files' (a seeded shuffle of
    WORDS), that answer none of the questions: pages long enough to be cut into several passages, so
    citations point into them."""
    import random

    chooser = random.Random(f"{subject}-{first}")
    return [" ".join(chooser.sample(WORDS, 12)).capitalize() + f" ({subject} {n})." for n in range(first, first + count)]
def padded(texts: list[str], subject: str, between: int = 12) -> list[str]:
    """`texts` with `between` logbook sentences after each one."""
    out: list[str] = []
    for i, text in enumerate(texts):
        out += [text, *logbook(subject, between, i * between)]
    return out


def forestry_docx() -> bytes:
    """"Warning" three times under one parent, and a paragraph of commands separated by line breaks (<w:br/>)."""
    import docx

    document = docx.Document()
    document.add_heading("Forestry handbook", level=0)
    document.add_heading("Chainsaws", level=1)
    document.add_paragraph("A chainsaw is the forester's main tool for felling and cross-cutting.")
    for i, warning in enumerate(DOCX_WARNINGS):
        document.add_heading("Warning", level=2)
        for text in padded([warning], f"saw {i}", 16):
            document.add_paragraph(text)
    document.add_heading("Commands", level=1)
    document.add_paragraph("The saw's controller takes one command a line:")
    run = document.add_paragraph().add_run(CODE_LINES[0])
    for line in CODE_LINES[1:]:
        run.add_break()
        run.add_text(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write_folder(folder: Path) -> None:
    folder.mkdir(parents=True)
    paragraphs = "".join(f"<p>{text}</p>" for text in padded(FACTS, "harbour"))
    (folder / "harbour.html").write_text(
        f"<!DOCTYPE html><html><head><title>Harbour life</title></head><body><main>{paragraphs}</main></body></html>",
        encoding="utf-8")
    (folder / "bees.html").write_text(
        "<!DOCTYPE html>\n<html>\n<head><title>Keeping bees</title></head>\n<body>\n"
        "<nav><a href=\"/\">Home</a> <a href=\"/shop\">Shop</a></nav>\n<main>\n"
        + "".join(f"<p>{text}</p>\n" for text in padded(PLAIN, "apiary"))
        + "</main>\n<footer><p>Copyright 2024 Bee Club. All rights reserved.</p></footer>\n</body>\n</html>\n",
        encoding="utf-8")
    sections = "".join(f"<h2>{title}</h2>\n" + "".join(f"<p>{text}</p>\n" for text in padded(texts, title.lower()))
                       for title, texts in GUIDE_SECTIONS)
    (folder / "garlic.html").write_text(
        f"<!DOCTYPE html>\n<html>\n<head><title>Growing garlic</title></head>\n<body>\n<main>\n<h1>Growing garlic</h1>\n"
        f"{sections}</main>\n</body>\n</html>\n", encoding="utf-8")
    studio = "".join(f"<h2>{title}</h2>" + "".join(f"<p>{t}</p>" for t in padded([text], f"kiln {i}", 16))
                     for i, (title, text) in enumerate(MINIFIED_WARNINGS))
    (folder / "pottery.html").write_text(
        f"<!DOCTYPE html><html><head><title>Pottery studio rules</title></head><body><main><h1>Studio rules</h1>"
        f"{studio}</main></body></html>", encoding="utf-8")
    (folder / "report.pdf").write_bytes(report_pdf())
    (folder / "forestry.docx").write_bytes(forestry_docx())
    sections = iter(range(10))
    markdown = re.sub(r"^(\w.*)$", lambda m: m.group(1) + "\n\n" + "\n\n".join(logbook(f"river {next(sections)}", 16)),
                      MARKDOWN, flags=re.MULTILINE)
    (folder / "canoe.md").write_text(markdown, encoding="utf-8")
    text = "\n\n".join(padded(TEXT.strip().split("\n\n"), "railway", 20)) + "\n"
    (folder / "trains.txt").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Path:
    """The working folder: docs/ (the documents) and ix/ (their index). qa runs from here, so it prints
    paths as docs/harbour.html."""
    work = tmp_path_factory.mktemp("every-hit")
    write_folder(work / "docs")
    result = run_qa("index", "docs", "--index", "ix", "--model", str(fake_model), cwd=work)
    assert result.returncode == 0, result.stderr
    return work


#: Output that is not a terminal is not wrapped (no COLUMNS): each printed or shown line is one line.
UNWRAPPED: dict[str, str | None] = {"COLUMNS": None}
PRINTED = re.compile(r"^ ?\d+\. (.+?)  score ", re.MULTILINE)


def cited_lines(stdout: str) -> list[str]:
    """The lines `qa show` marks as cited (`>`), without their numbers."""
    return [line.partition(" |")[2][1:] for line in stdout.splitlines() if line.startswith(">")]


def test_show_of_every_printed_citation_marks_the_hit_and_its_answering_sentence(folder: Path):
    """For every top-3 hit: `qa show` of the citation as `qa ask` printed it (", answer under § ..." and
    all) marks the hit's lines, and at most two lines more, and they hold its answering sentence."""
    questions = "".join(json.dumps({"id": str(i), "question": q}) + "\n" for i, (q, _, _) in enumerate(QUESTIONS))
    batch = run_qa("batch", "-", "--index", "ix", "-k", "3", stdin=questions, cwd=folder)
    assert batch.returncode == 0, batch.stderr
    answers = [json.loads(line) for line in batch.stdout.splitlines()]
    forms, files, gold_shown, shown_for = set(), set(), 0, {}
    for (question, gold, gold_file), answer in zip(QUESTIONS, answers):
        printed = run_qa("ask", question, "--index", "ix", "-k", "3", cwd=folder, env=UNWRAPPED)
        assert printed.returncode == 0, printed.stderr
        citations = PRINTED.findall(printed.stdout)
        hits = answer["results"]
        assert len(citations) == len(hits) == 3, printed.stdout
        for citation, hit in zip(citations, hits):
            assert citation.startswith(hit["citation"]), (citation, hit["citation"])   # the same hit
            files.add(hit["file"])
            forms.add(citation)
            if citation not in shown_for:
                shown = run_qa("show", citation, "--index", "ix", "--context", "0", cwd=folder, env=UNWRAPPED)
                assert shown.returncode == 0, (question, citation, shown.stderr)
                shown_for[citation] = cited_lines(shown.stdout)
            marked = shown_for[citation]
            text = "\n".join(marked)
            # The whole hit is inside the marked lines, and little else: its own lines and at most two more
            # (the heading of the block it starts in; the start of that block).
            hit_lines = [line.strip() for line in hit["text"].replace("\r", "\n").split("\n")]
            assert all(line in text for line in hit_lines), (question, citation)
            assert len(marked) <= len(hit_lines) + 2, (question, citation, len(marked), len(hit_lines))
            assert hit["answer_start"] is not None, (question, citation)
            sentence = hit["text"][hit["answer_start"] - hit["start"] : hit["answer_end"] - hit["start"]]
            assert sentence.strip() and all(line.strip() in text for line in sentence.split("\n")), (question, citation)
            if hit["file"] == gold_file and gold in hit["text"]:
                assert gold in text, (question, citation)
                gold_shown += 1
    assert files == {"harbour.html", "bees.html", "garlic.html", "pottery.html", "report.pdf", "forestry.docx",
                     "canoe.md", "trains.txt"}
    assert gold_shown >= len(QUESTIONS) // 2, gold_shown
    # The forms the folder is there for: a block of a page without headings on one line, repeated headings.
    assert any(c.startswith("docs/harbour.html ¶ ") for c in forms), forms
    assert any(c.startswith("docs/pottery.html § Studio rules > ") and " ¶ " in c for c in forms), forms
    assert any("Warning (2nd)" in c or "Warning (3rd)" in c for c in forms), forms
