"""What a build reports: its progress as it runs, and the summary of what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.sources import Skipped

#: progress(stage, done, total): stage "reading" or "splitting" (files), "embedding" (passages); "exporting the
#: model" and "loading the model" are stages without a count (total 0).
Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did."""

    index_dir: Path
    files: int = 0
    passages: int = 0
    embedded: int = 0            # passages embedded (one model pass each, sentence vectors included)
    reused: int = 0              # distinct passage texts whose vectors came from the previous index or checkpoint
    read: int = 0                # files read (the others were carried over from the previous index unread)
    junk_lines: int = 0          # dropped from the files read
    unchanged: int = 0
    changed: int = 0
    added: int = 0
    removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vectors: bool = True
    up_to_date: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0      # of which embedding
