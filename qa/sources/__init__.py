"""Readers: files of every supported format -> Document (text, paragraphs, title, locator).

`discover` finds the files under the paths given; `read` turns one into a Document with the
reader its suffix names in `registry.READERS`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.sources.discovery import discover, read_bytes
from qa.sources.document import Document, Extracted, Paragraph, Region, Skipped, Unreadable
from qa.sources.junk import find_paragraphs, is_junk
from qa.sources.registry import READERS, reader, supported


def read(path: Path, root: Path) -> Document:
    """Read a file and mark its content paragraphs (raises Unreadable or OSError)."""
    data = read_bytes(path)
    module = reader(path.suffix)
    extracted: Extracted = module.read(data)
    if not extracted.paragraphs:
        raise Unreadable("nothing but junk lines" if extracted.text.strip() else "no text")
    return Document(
        path=path,
        name=path.relative_to(root).as_posix(),
        text=extracted.text,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        paragraphs=extracted.paragraphs,
        junk_lines=extracted.junk_lines,
        encoding=extracted.encoding,
        title=extracted.title,
        kind=module.__name__.rsplit(".", 1)[-1],
        regions=extracted.regions,
        notes=extracted.notes,
    )


__all__ = ["Document", "Extracted", "Paragraph", "Region", "Skipped", "Unreadable", "READERS",
           "discover", "find_paragraphs", "is_junk", "read", "read_bytes", "reader", "supported"]
