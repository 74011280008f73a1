"""Document text reaches the terminal as inert text: no markup, no escape sequences."""

from __future__ import annotations

import io
import json

from rich.console import Console

from qa.ingest.split import Passage
from qa.ui.render import answer_json, answer_renderable, terminal_safe
from qa.search.hits import Answer, Hit

HOSTILE = (
    "[bold red]alarm[/] [link=https://evil.example]click[/link] "
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x1b]52;c;ZXZpbA==\x07clipboard "
    "\x1b[2J\x1b[Hcleared \x1b[31mred\x1b[0m \x9b31m \x07bell \u202eevil\u202c "
    "digital cooperation"
)


def render(hits, question: str, terminal: bool) -> str:
    buffer = io.StringIO()
    console = Console(width=100, file=buffer, force_terminal=terminal, color_system="truecolor" if terminal else None)
    console.print(answer_renderable(Answer(question, "hybrid", hits)))
    return buffer.getvalue()


def hostile_hit() -> Hit:
    passage = Passage("evil[bold].txt", 0, len(HOSTILE), 3, 4, HOSTILE)
    return Hit(1, 0.5, "hybrid", passage, "docs/evil[bold].txt")


def test_markup_and_escape_sequences_from_a_document_are_inert():
    for terminal in (False, True):
        out = render([hostile_hit()], "digital cooperation", terminal)
        assert "[bold red]alarm[/]" in out and "[link=https://evil.example]" in out
        assert "docs/evil[bold].txt:3-4" in out
        for sequence in ("\x1b]8;;https", "\x1b]52", "\x1b[2J", "\x1b[H", "\x9b", "\x07", "\u202e", "\x1b[31m"):
            assert sequence not in out, repr(sequence)
        if not terminal:
            assert "\x1b" not in out


def test_question_words_are_highlighted_on_a_terminal():
    out = render([hostile_hit()], "digital cooperation", terminal=True)
    assert "\x1b[33mdigital\x1b[0m" in out


def test_json_keeps_the_exact_text():
    data = json.loads(json.dumps(answer_json(Answer("q", "hybrid", [hostile_hit()]))))
    assert data["results"][0]["text"] == HOSTILE


def test_terminal_safe_keeps_ordinary_text():
    text = "Línea uno\n数字经济 — “quoted” 50%\ttab"
    assert terminal_safe(text) == "Línea uno\n数字经济 — “quoted” 50%    tab"


def test_the_printed_citation_parses_back_as_the_hit_s_own():
    """What the terminal prints after the rank, ", answer under § ..." included, is the hit's citation:
    `qa show` parses it back to the same record, even with a label and headings that need quoting."""
    from qa.citation import Citation

    cases = [
        (Passage("a § b.pdf", 0, 9, 1, 1, "Owls hunt", page=3, page_label="A 1"), None),
        (Passage("p.html", 0, 9, 1, 1, "Owls hunt", heading="Top > Fees ¶ 2", source_line=40), "Costs \x1b[2J"),
        (Passage("s.docx", 0, 9, 1, 1, "Owls hunt", heading="Methods", paragraph=5, last_heading="Results",
                 last_paragraph=1), None),
    ]
    for passage, answer_heading in cases:
        hit = Hit(1, 0.5, "hybrid", passage, "docs/" + passage.file, answer_start=0, answer_end=9,
                  answer_heading=answer_heading)
        out = render([hit], "owls", terminal=False)
        printed = out.splitlines()[0].split("1. ", 1)[1].rsplit("  score", 1)[0]
        assert printed == hit.answer_citation
        assert Citation.parse(printed, [hit.path]) == passage.cite(hit.path, answer_heading)
