"""The records every reader produces: a Document, its content paragraphs, and where each part came from."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from qa.errors import Unreadable  # noqa: F401 - defined with the other errors

if TYPE_CHECKING:
    from qa.config import ReadLimits

#: A line ends at CR LF, LF, or a lone CR (old Mac files): each is one line break.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Paragraph:
    """A run of content text: `text[start:end]`, in block `block`: passages never run across blocks (junk
    lines, pages, and Markdown and DOCX headings separate them; HTML is one block)."""

    start: int
    end: int
    block: int


@dataclass(frozen=True)
class Region:
    """Where the extracted text from `start` on came from (until the next region starts).

    Every field but `start` is optional: a reader fills what its format has.
    """

    start: int
    page: int | None = None            # PDF: 1-based page number
    page_label: str | None = None      # PDF: the page's own label ("iv", "12"), when it has one
    heading: str | None = None         # HTML, DOCX, Markdown: heading path, "Built-in Functions > zip"
    source_line: int | None = None     # HTML: line of the source file where the block starts
    paragraph: int | None = None       # DOCX: 1-based block number under its heading; HTML: the same, for a
    #                                    block its source line and heading do not tell apart from others


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why. `other`: only because qa does not read its type."""

    path: str
    reason: str
    other: bool = False


def first_line(error: BaseException, limit: int = 120) -> str:
    """An exception's message, one line of at most `limit` characters (its type's name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__


def over_expanded(limits: ReadLimits) -> str:
    """The reason given for a file whose text or decompressed parts pass the limit."""
    return f"expands past the {limits.expanded_mb:g} MB limit (QA_MAX_EXPANDED_MB sets it)"


@dataclass
class Document:
    """One source file: the text qa extracted from it, where the content is, and where each part came from.

    For text and Markdown, `text` is the file itself (decoded, BOM removed, newlines untranslated).
    """

    path: Path                 # on disk
    name: str                  # relative to the corpus root, with "/" separators
    text: str
    sha256: str
    size: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    junk_lines: int = 0
    encoding: str = "utf-8"
    title: str | None = None
    kind: str = "text"         # the reader's name: text, markdown, html, pdf, docx
    regions: list[Region] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mtime_ns: int = 0          # when it was read (0: unknown); a later change makes the index stale

    def __post_init__(self) -> None:
        self._line_starts: list[int] | None = None
        self._region_starts = [r.start for r in self.regions]

    def line_of(self, offset: int) -> int:
        """The 1-based line of the text holding `offset` (CR LF, LF and lone CR end lines)."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in LINE_BREAK.finditer(self.text)]
        return bisect.bisect_right(self._line_starts, offset)

    def region_at(self, offset: int) -> Region:
        """Where the text at `offset` came from (an empty Region when the reader records nothing)."""
        if len(self._region_starts) != len(self.regions):
            self._region_starts = [r.start for r in self.regions]
        position = bisect.bisect_right(self._region_starts, offset) - 1
        return self.regions[position] if position >= 0 else Region(0)


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class HeadingPath:
    """The heading path in force while a reader walks a document's headings, each one unique: a heading
    met again under the same parents (a Word file's third "Warning") is named with its position,
    "Warning (3rd)", so a citation that names it (`§ Warning (3rd) ¶ 2`) leads to one place."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, str]] = []
        self._seen: set[tuple[str, ...]] = set()

    def enter(self, level: int, text: str) -> None:
        """A heading of `level` (1 is the highest) with `text` starts here."""
        while self.parts and self.parts[-1][0] >= level:
            self.parts.pop()
        parents = tuple(name for _, name in self.parts)
        name, count = text, 1
        while parents + (name,) in self._seen:
            count += 1
            name = f"{text} ({ordinal(count)})"
        self._seen.add(parents + (name,))
        self.parts.append((level, name))

    @property
    def current(self) -> str | None:
        """The path, "Methods > Night walks" (None before the first heading)."""
        return " > ".join(name for _, name in self.parts) or None


class Blocks:
    """Extracted text assembled piece by piece (HTML, DOCX): pieces joined by a blank line, each one a
    Paragraph (its surrounding whitespace left out; a Paragraph per line with `lines`) and a Region
    saying where it came from."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.paragraphs: list[Paragraph] = []
        self.regions: list[Region] = []

    def append(self, text: str, block: int, lines: bool = False, *, heading: str | None = None,
               source_line: int | None = None, paragraph: int | None = None) -> None:
        """Add `text` as one paragraph numbered `block` (`lines`: a paragraph per line, as the text reader
        reads code); `heading`, `source_line` and `paragraph` fill its Region."""
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        pieces = [m.span() for m in re.finditer(r"[^\n]+", text)] if lines else [(0, len(text))]
        for first, last in pieces:
            piece = text[first:last]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                self.paragraphs.append(Paragraph(start + first + lead, start + first + len(piece.rstrip()), block))
        self.regions.append(Region(start, heading=heading, source_line=source_line, paragraph=paragraph))

    def extracted(self, title: str | None) -> Extracted:
        return Extracted("".join(self.parts), self.paragraphs, 0, "utf-8", title, self.regions)


@dataclass
class Extracted:
    """What a reader returns: the text it extracted and where its content is."""

    text: str
    paragraphs: list[Paragraph]
    junk_lines: int = 0
    encoding: str = "utf-8"
    title: str | None = None
    regions: list[Region] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
