"""Hits for people (rich text, inert) and for machines (JSON-ready dicts, exact)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.text import Text

from qa.bm25 import tokenize
from qa.search import Hit

# Whole escape sequences first (CSI, OSC up to BEL or ST, other two-byte ESC forms), then
# any control or bidirectional-override character left over.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

_STOP_WORDS = frozenset(
    """a an and are as at be by did do does for from has have how in is it its of on or
    the their there these this to was were what when where which who whom whose why will
    with""".split()
)


def terminal_safe(text: str) -> str:
    """`text` with escape sequences and control characters removed (newlines kept, tabs as spaces)."""
    text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n").replace("\t", "    "))
    return _CONTROL.sub("", text)


def highlight_terms(question: str) -> list[str]:
    """The question's words worth highlighting (no stop words)."""
    return sorted({t for t in tokenize(question) if t not in _STOP_WORDS}, key=len, reverse=True)


def hit_text(hit: Hit, question: str) -> Group:
    """A hit as rich renderables: a header line (rank, score, citation) and the passage."""
    header = Text()
    header.append(f"{hit.rank:>2}. ", style="bold")
    header.append(terminal_safe(hit.citation), style="bold cyan")
    header.append(f"  score {hit.score:.4f} ({hit.mode})", style="dim")
    body = Text(terminal_safe(hit.passage.text))
    terms = highlight_terms(question)
    if terms:
        pattern = r"(?<![^\W_])(?:" + "|".join(re.escape(t) for t in terms) + r")(?![^\W_])"
        body.highlight_regex(re.compile(pattern, re.IGNORECASE), style="bold yellow")
    return Group(header, Padding(body, (0, 0, 1, 4), expand=False))


def hits_renderable(hits: list[Hit], question: str) -> Group:
    """All hits for a question, or a line saying there were none."""
    if not hits:
        return Group(Text("No passage matches that question.", style="yellow"))
    return Group(*(hit_text(hit, question) for hit in hits))


def hit_json(hit: Hit) -> dict[str, Any]:
    """A hit as plain data; the text is exactly the source span."""
    p = hit.passage
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "file": p.file,
        "path": hit.path,
        "line_start": p.line_start,
        "line_end": p.line_end,
        "start": p.start,
        "end": p.end,
        "text": p.text,
    }


def answer_json(question: str, mode: str, hits: list[Hit], **extra: Any) -> dict[str, Any]:
    """One question's answer as plain data (the `qa ask --json` object and a `qa batch` line)."""
    used = hits[0].mode if hits else mode
    return {**extra, "question": question, "mode": used, "results": [hit_json(h) for h in hits]}
