"""Word documents (.docx) with python-docx (MIT): paragraphs and tables in document order.

The extracted text is the blocks (paragraphs, headings, tables as rows of `cell | cell`) separated
by blank lines. A heading starts a new block of passages and a new section; the citation is the
heading path and the block's number in its section, `report.docx § Methods > Night walks ¶ 2`
(¶ 1 is the heading with what follows it; blocks before the first heading count from the start). A
heading met again under the same parents is named with its position (`§ Warning (2nd) ¶ 1`), so every
citation names one place. The "Title" paragraph is the document's title, not part of heading paths. python-docx is imported
here, so only when a .docx file is read.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

from qa.config import ReadLimits
from qa.sources.document import Blocks, Extracted, HeadingPath, Unreadable, first_line, over_expanded

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    """The paragraphs and tables of a .docx file, with heading paths and paragraph numbers."""
    import docx
    from docx.table import Table
    from lxml.etree import XMLSyntaxError

    _check_archive(data, limits or ReadLimits())
    try:
        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
    except XMLSyntaxError:
        raise Unreadable("not a Word document qa can read (malformed XML)") from None
    except (RecursionError, MemoryError):
        raise
    except Exception as error:   # python-docx raises many kinds on files that are not what they claim
        raise Unreadable(f"not a Word document qa can read ({first_line(error, 100)})") from None
    builder = _Builder()
    title = (document.core_properties.title or "").strip() or None
    for item in items:
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:            # merged cells repeat: show each once
                    text = " ".join(cell.text.split())
                    if not cells or cells[-1] != text:
                        cells.append(text)
                rows.append(" | ".join(cells))
            builder.add("\n".join(r for r in rows if r.strip(" |")))
            continue
        text = _lines(item.text)
        style = (item.style.name if item.style is not None else "") or ""
        level = _HEADING_STYLE.match(style)
        if style.lower() == "title":
            title = title or text
            builder.add(text)
        elif level and text:
            builder.heading(int(level.group(1)), " ".join(text.split()))
        else:
            builder.add(text, lines="\n" in text)
    if title is None and builder.path_seen:
        title = builder.path_seen[0]
    return builder.out.extracted(title)


def _lines(text: str) -> str:
    """A paragraph's text with its line breaks (`<w:br/>`, which python-docx reads as "\n") kept as lines, and
    the spaces inside each line made single: a code example in a Word file stays a line per line of code."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _check_archive(data: bytes, limits: ReadLimits) -> None:
    """Refuse an archive whose parts declare more than the limit, before anything is inflated, and one whose
    parts are damaged or hold more than they declare."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise Unreadable("not a Word document qa can read (not a zip archive)") from None
    if sum(p.file_size for p in parts) > limits.expanded_mb * 1_000_000:
        raise Unreadable(over_expanded(limits))
    # A part that lies about its size: zipfile cuts it at the declared size, but only after inflating up to
    # 2 GB in one step. Inflated a megabyte at a time, it stops there and fails its CRC check.
    try:
        for part in parts:
            with archive.open(part) as member:
                while member.read(1 << 20):
                    pass
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise Unreadable(f"not a Word document qa can read ({first_line(error, 100)})") from None


class _Builder:
    def __init__(self) -> None:
        self.out = Blocks()
        self.block = 0
        self.path = HeadingPath()
        self.path_seen: list[str] = []
        self.number = 0           # blocks in the current section
        self.pending_heading = False

    def heading(self, level: int, text: str) -> None:
        self.path.enter(level, text)
        self.path_seen.append(text)
        self.block += 1
        self.number = 0
        self.add(text)
        self.pending_heading = True

    def add(self, text: str, lines: bool = False) -> None:
        """Add a block (`lines`: each of its lines is a paragraph, so passages are cut between lines)."""
        if not text.strip():
            return
        if self.pending_heading:     # the heading and its first block are ¶ 1 together
            self.pending_heading = False
        else:
            self.number += 1
        self.out.append(text, self.block, lines=lines, heading=self.path.current, paragraph=max(self.number, 1))
