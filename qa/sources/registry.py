"""Which reader reads which file type. Adding a format: one reader module and one line here.

A reader module has `read(data: bytes, limits: ReadLimits | None) -> Extracted` and may raise Unreadable
(anything else it raises is turned into Unreadable by `qa.sources.read`). Modules are
imported only when a file of their type is read, so their libraries load only then.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: File suffix (lower case) -> reader module.
READERS: dict[str, str] = {
    ".txt": "qa.sources.text",
    ".text": "qa.sources.text",
    ".md": "qa.sources.markdown",
    ".markdown": "qa.sources.markdown",
    ".html": "qa.sources.html",
    ".htm": "qa.sources.html",
    ".xhtml": "qa.sources.html",
    ".pdf": "qa.sources.pdf",
    ".docx": "qa.sources.docx",
}


def supported(suffix: str) -> bool:
    """Whether qa reads files ending in `suffix`."""
    return suffix.lower() in READERS


def reader(suffix: str) -> ModuleType:
    """The reader module for a file suffix (KeyError when there is none)."""
    return importlib.import_module(READERS[suffix.lower()])
