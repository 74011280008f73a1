"""Readers: files of every supported format -> Document (text, paragraphs, title, locator).

`discover` finds the files under the paths given; `read` turns one into a Document with the
reader its suffix names in `registry.READERS`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.sources.discovery import discover, read_bytes
from qa.config import ReadLimits
from qa.sources.document import (
    Document, Extracted, Paragraph, Region, Skipped, Unreadable, first_line, over_expanded,
)
from qa.sources.junk import find_paragraphs, is_junk
from qa.sources.registry import READERS, reader, supported


def read(path: Path, root: Path, limits: ReadLimits | None = None) -> Document:
    """Read a file and mark its content paragraphs; anything that goes wrong raises Unreadable with the reason.

    This is the reader boundary: a document is untrusted, so whatever its reader raises becomes Unreadable.
    Time and memory are bounded by the worker process it runs in (qa/sources/pool.py)."""
    limits = limits or ReadLimits.current()
    try:
        mtime_ns = path.stat().st_mtime_ns      # before reading: an edit while it is read shows as a change
        data = read_bytes(path, limits.file_mb)
        module = reader(path.suffix)
        extracted: Extracted = module.read(data, limits)
    except Unreadable:
        raise
    except OSError as error:
        raise Unreadable(_os_reason(error)) from None
    except MemoryError:
        raise Unreadable(f"needs more than {limits.memory_mb:g} MB of memory to read "
                         "(qa index --read-memory raises the limit)") from None
    except RecursionError:
        raise Unreadable("nested too deeply to read") from None
    except ImportError as error:
        raise Unreadable(f"its reader's library is missing ({error.name or first_line(error)}); "
                         "reinstall qa (make setup, or pip install again)") from None
    except Exception as error:   # the boundary: a library's fault on a hostile file costs this file only
        raise Unreadable(f"not a {path.suffix.lower().lstrip('.')} file qa can read "
                         f"({type(error).__name__}: {first_line(error)})") from None
    if len(extracted.text) > limits.expanded_mb * 1_000_000:
        raise Unreadable(over_expanded(limits))
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
        mtime_ns=mtime_ns,
    )


def _os_reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    return (error.strerror or type(error).__name__).lower()


__all__ = ["Document", "Extracted", "Paragraph", "Region", "Skipped", "Unreadable", "READERS",
           "discover", "find_paragraphs", "is_junk", "read", "read_bytes", "reader", "supported"]
