"""One line for the files of types qa does not read: `412 other files skipped: .png 300, .zip 12, …`."""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath

#: Suffixes named in the line; the rest are summed up as "…".
SHOWN_SUFFIXES = 6


def other_files(paths: list[str]) -> str:
    """The summary line for files skipped only because of their type (most common types first)."""
    counts = Counter(PurePosixPath(p).suffix.lower() or "(no suffix)" for p in paths)
    named = counts.most_common(SHOWN_SUFFIXES)
    parts = ", ".join(f"{suffix} {count}" for suffix, count in named)
    more = ", …" if len(counts) > len(named) else ""
    noun = "file" if len(paths) == 1 else "files"
    return f"{len(paths)} other {noun} skipped: {parts}{more} (qa index --verbose lists them)"
