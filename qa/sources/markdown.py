"""Markdown: the file itself is the extracted text, as for plain text, read with Markdown's structure.

Front matter (`---` ... `---` at the top) is metadata: its `title:` is the document's title and it
never becomes a passage. A heading starts a new block (passages do not run across it) and gives the
heading path of what follows. A table stays one paragraph with its header row; fenced code is one
paragraph, never judged as junk, its indentation kept.
"""

from __future__ import annotations

import re

from qa.config import ReadLimits
from qa.sources.document import Extracted, Paragraph, Region, Unreadable
from qa.sources.junk import find_paragraphs, lines
from qa.sources.text import decode, join_wrapped

_FRONT_MATTER_END = re.compile(r"^(---|\.\.\.)\s*$")
_TITLE = re.compile(r"^title\s*:\s*(.+?)\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    """A Markdown file's content paragraphs, title and heading paths."""
    text, encoding = decode(data)
    if not text.strip():
        raise Unreadable("empty")
    spans = lines(text)
    title, first = _front_matter(text, spans)
    reader = _Reader(text)
    index = first
    while index < len(spans):
        start, end = spans[index]
        line = text[start:end]
        heading, fence = _HEADING.match(line), _FENCE.match(line)
        if heading:
            reader.heading(start, end, len(heading.group(1)), heading.group(2))
        elif fence:
            close = next((j for j in range(index + 1, len(spans))
                          if text[spans[j][0]:spans[j][1]].strip().startswith(fence.group(1))), len(spans))
            reader.atomic(spans[index + 1 : close])
            index = close
        elif line.lstrip().startswith("|"):
            last = index
            while last + 1 < len(spans) and text[spans[last + 1][0]:spans[last + 1][1]].lstrip().startswith("|"):
                last += 1
            reader.atomic(spans[index : last + 1])
            index = last
        else:
            reader.ordinary(start, end)
        index += 1
    reader.flush()
    if title is None:
        title = next((r.heading for r in reader.regions if r.heading and " > " not in r.heading), None)
    return Extracted(text, reader.paragraphs, reader.junk, encoding, title, reader.regions)


def _front_matter(text: str, spans: list[tuple[int, int]]) -> tuple[str | None, int]:
    """The front matter's title and the index of the first line after it (0 without front matter)."""
    if not spans or text[spans[0][0]:spans[0][1]].rstrip() != "---":
        return None, 0
    for index in range(1, min(len(spans), 200)):
        line = text[spans[index][0]:spans[index][1]]
        if _FRONT_MATTER_END.match(line):
            fields = [_TITLE.match(text[s:e]) for s, e in spans[1:index]]
            title = next((m.group(1).strip("\"'") for m in fields if m), None)
            return title, index + 1
    return None, 0


class _Reader:
    """Collects paragraphs line by line: ordinary lines go through the junk rules in stretches."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.paragraphs: list[Paragraph] = []
        self.regions: list[Region] = []
        self.junk = 0
        self.block = 0
        self.stretch: tuple[int, int] | None = None
        self.path: list[tuple[int, str]] = []

    def ordinary(self, start: int, end: int) -> None:
        self.stretch = (self.stretch[0] if self.stretch else start, end)

    def flush(self) -> None:
        if self.stretch:
            found, junk = find_paragraphs(self.text, *self.stretch, first_block=self.block)
            found = join_wrapped(self.text, found)   # a hard-wrapped sentence is one sentence
            self.paragraphs += found
            self.junk += junk
            self.block += junk
            self.stretch = None

    def atomic(self, spans: list[tuple[int, int]]) -> None:
        """Lines kept together as one paragraph, never judged as junk (a table, fenced code)."""
        self.flush()
        spans = [(s, e) for s, e in spans if self.text[s:e].strip()]
        if spans:
            start, end = spans[0][0], spans[-1][1]
            start += len(self.text[start:end]) - len(self.text[start:end].lstrip())
            end -= len(self.text[start:end]) - len(self.text[start:end].rstrip())
            self.paragraphs.append(Paragraph(start, end, self.block))

    def heading(self, start: int, end: int, level: int, title: str) -> None:
        self.flush()
        self.block += 1
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, title))
        self.regions.append(Region(start, heading=" > ".join(t for _, t in self.path)))
        line = self.text[start:end]
        lead = len(line) - len(line.lstrip())
        self.paragraphs.append(Paragraph(start + lead, end - (len(line) - len(line.rstrip())), self.block))
