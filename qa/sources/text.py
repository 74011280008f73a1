"""Plain text: the extracted text is the file itself, decoded (UTF-8, or UTF-16 with a BOM), newlines untranslated."""

from __future__ import annotations

import codecs

from qa.config import ReadLimits
from qa.sources.document import Extracted, Unreadable
from qa.sources.junk import find_paragraphs


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding used: UTF-16 when it starts with a UTF-16 BOM, else UTF-8
    (BOM removed), else cp1252. Raises Unreadable for binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise Unreadable("starts like UTF-16 but is not valid UTF-16") from None
    head = data[:8192]
    if b"\x00" in head or sum(b < 32 and b not in b"\n\r\t\f" for b in head) > len(head) // 10:
        raise Unreadable("binary, not text")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    """A text file's content paragraphs (web junk lines left out)."""
    text, encoding = decode(data)
    if not text.strip():
        raise Unreadable("empty")
    paragraphs, junk = find_paragraphs(text)
    return Extracted(text, paragraphs, junk, encoding)
