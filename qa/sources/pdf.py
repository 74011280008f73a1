"""PDF, page by page, with pypdf (BSD): a broken page is skipped with a note and the rest is read.

The extracted text is the pages' text one after another (a blank line between pages); each page is
its own block, so a passage never runs across pages and cites one page, by the PDF's own page label
where it has them (`p. iv`), else by number. Line-break hyphens are removed (`exam-\\nple` ->
`example\\n`); a line that ends without terminal punctuation goes on on the next (one paragraph, so a
sentence is not cut at a line wrap: `qa.sources.text.join_wrapped`); lines repeated at the top or bottom
of most pages (running headers and footers, page numbers) are junk. An encrypted PDF that needs a
password, or one without a text layer (a scan), is skipped with a message saying so. pypdf is imported
here, so only when a PDF is read.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from qa.config import ReadLimits
from qa.sources.document import Extracted, Paragraph, Region, Unreadable, first_line, over_expanded
from qa.sources.junk import find_paragraphs
from qa.sources.text import join_wrapped

_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-\n(?=[^\W\d_]*[a-z])")
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"^[ivxlcdm]+$", re.IGNORECASE)
#: Lines looked at, at each end of a page, for running headers and footers.
EDGE_LINES = 2
#: Running headers and footers are short; a longer repeated line is content.
RUNNING_CHARS = 80
#: A page whose decompressed content passes this many MB is skipped: text pages hold far less (pypdf's
#: extraction time grows faster than linearly with it: a 12 MB page of 120,000 lines ran for minutes).
PAGE_CONTENT_MB = 8
_NO_CRYPTO = "encrypted with AES, which needs the cryptography package; reinstall qa (make setup)"


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    """The text of every readable page, with page numbers and labels."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    limits = limits or ReadLimits()
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted PDF that needs a password; skipped (save an unencrypted copy to index it)")
        pages = list(reader.pages)
    except Unreadable:
        raise
    except DependencyError:
        raise Unreadable(_NO_CRYPTO) from None
    except (RecursionError, MemoryError):
        raise
    except Exception as error:   # pypdf raises many kinds on broken files (PdfReadError, OverflowError...)
        raise Unreadable(f"not a PDF qa can read ({first_line(error)})") from None
    labels = _labels(reader, len(pages))
    notes: list[str] = []
    texts: list[str | None] = []
    budget = limits.expanded_mb * 1_000_000     # the pages' decompressed content, all together
    for number, page in enumerate(pages, start=1):
        name = labels[number - 1] or number
        try:
            contents = page.get_contents()
            size = len(contents.get_data()) if contents is not None else 0
            budget -= size
            if budget < 0:
                raise Unreadable(over_expanded(limits))
            if size > PAGE_CONTENT_MB * 1_000_000:
                notes.append(f"page {name}'s content is over {PAGE_CONTENT_MB} MB, more than a page of text holds; skipped")
                texts.append(None)
                continue
            texts.append(_dehyphenate(page.extract_text() or ""))
        except Unreadable:
            raise
        except DependencyError:
            raise Unreadable(_NO_CRYPTO) from None
        except (RecursionError, MemoryError):
            raise
        except Exception as error:  # a damaged page must not cost the rest of the document
            notes.append(f"page {name} could not be read ({first_line(error)}); skipped")
            texts.append(None)
    if not any(t and t.strip() for t in texts):
        if any(t is not None for t in texts):
            raise Unreadable("no text layer (a scanned PDF?); skipped. Run OCR on it (e.g. ocrmypdf) to index it")
        raise Unreadable(f"no page could be read ({notes[0].split(' ', 2)[2]})" if notes else "no page could be read")
    running = _running_lines(texts)
    parts: list[str] = []
    paragraphs: list[Paragraph] = []
    regions: list[Region] = []
    junk = 0
    length = 0
    empty_pages = 0
    for number, text in enumerate(texts, start=1):
        if text is None:
            continue
        if not text.strip():
            empty_pages += 1
            continue
        if parts:
            parts.append("\n\n")
            length += 2
        regions.append(Region(length, page=number, page_label=labels[number - 1]))
        found, dropped = _page_paragraphs(text, length, running, first_block=number * 10_000)
        parts.append(text)
        paragraphs += found
        junk += dropped
        length += len(text)
    if empty_pages:
        notes.append(f"{empty_pages} page(s) without text (scanned images?) left out")
    return Extracted("".join(parts), paragraphs, junk, "utf-8", _title(reader), regions, notes)


def _title(reader: object) -> str | None:
    """The title the PDF's metadata gives, if it gives one that can be read."""
    try:
        metadata = reader.metadata   # type: ignore[attr-defined]
        title = metadata.title if metadata else None
        return str(title).strip() or None if title else None
    except (RecursionError, MemoryError):
        raise
    except Exception:   # a broken /Info (an array, a 5,000-deep title...) costs the title only
        return None


def _labels(reader: object, count: int) -> list[str | None]:
    """Each page's own label when the PDF defines labels (None where it does not)."""
    try:
        if "/PageLabels" not in reader.trailer["/Root"]:   # type: ignore[attr-defined]
            return [None] * count
        labels = list(reader.page_labels)   # type: ignore[attr-defined]
    except (RecursionError, MemoryError):
        raise
    except Exception:   # broken labels cost the labels only: pages are cited by number
        return [None] * count
    return [str(label) if label else None for label in labels[:count]] + [None] * (count - len(labels))


def _dehyphenate(text: str) -> str:
    """Join words hyphenated across a line break: `exam-\\nple text` -> `example\\ntext`."""
    out = []
    position = 0
    for match in _HYPHEN_BREAK.finditer(text):
        # move the rest of the word before the line break so lines stay lines
        rest = re.match(r"[^\W\d_]*", text[match.end():]).group()   # type: ignore[union-attr]
        out.append(text[position : match.start()] + rest + "\n")
        position = match.end() + len(rest)
        position += text[position : position + 1] == " "
    out.append(text[position:])
    return "".join(out)


def _signature(line: str) -> str:
    """A line with its numbers blanked, so "Page 3 of 9" and "Page 4 of 9" match."""
    stripped = line.strip()
    if _ROMAN.match(stripped):
        return "#"
    return _DIGITS.sub("#", stripped).lower()


def _edges(text: str) -> list[str]:
    lines = [line for line in text.split("\n") if line.strip()]
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:] if len(lines) > EDGE_LINES else lines


def _running_lines(texts: list[str | None]) -> set[str]:
    """Signatures of lines at the top or bottom of at least half the pages (three or more): headers, footers."""
    pages = [t for t in texts if t and t.strip()]
    if len(pages) < 3:
        return set()
    counts = Counter(sig for text in pages for sig in {_signature(line) for line in _edges(text)})
    return {sig for sig, n in counts.items() if n >= max(3, len(pages) // 2) and 0 < len(sig) <= RUNNING_CHARS}


def _page_paragraphs(text: str, offset: int, running: set[str], first_block: int) -> tuple[list[Paragraph], int]:
    """Content paragraphs of one page (offsets into the whole text), without its running headers/footers."""
    edges = set(_edges(text))
    masked = "\n".join(" " * len(line) if line in edges and _signature(line) in running else line
                       for line in text.split("\n"))
    dropped = sum(1 for line in text.split("\n") if line in edges and _signature(line) in running)
    found, junk = find_paragraphs(masked, first_block=first_block)
    found = join_wrapped(masked, found)   # a sentence wrapped over two lines is one paragraph, not two
    return [Paragraph(p.start + offset, p.end + offset, p.block) for p in found], junk + dropped


