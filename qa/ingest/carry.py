"""Carrying unchanged files over from the current generation: a file whose size and modification time are
what the index recorded is not read again; its passages (with their locators), sentences, text, regions and
vectors are taken as they are stored. A file read again whose bytes and extracted text turn out the same
(touched, or saved unchanged) is carried over too: it is neither split nor embedded again.

A build carries files over only from a generation made the same way (same corpus root, passage settings,
model, runtime and splitter version: `Build` decides), so an updated index holds what a fresh build of the
same folder would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.ingest.embedding import EmbedJob, Vectors
from qa.ingest.split import Passage
from qa.sources.document import Region
from qa.store.sentences import SentenceVectors
from qa.store.stored import StoredIndex

#: A file modified this close to (or after) the start of the build that reads it is recorded with an unknown
#: modification time (0), so the next build reads it again and compares its hash: a second edit within the
#: file system's timestamp granularity (up to 2 s on FAT) and of the same size would otherwise go unseen.
RACY_NS = 2_000_000_000


def recorded_mtime(mtime_ns: int, build_started_ns: int) -> int:
    """The modification time to record for a file read by a build started at `build_started_ns` (wall clock):
    0 when it is too recent to tell a later edit of the same size from this one (RACY_NS)."""
    return mtime_ns if mtime_ns < build_started_ns - RACY_NS else 0


@dataclass
class Part:
    """One file's share of the generation being built: read and split by this build (`jobs` says what the
    embedder sees per passage), or carried over (`rows`: its passages' rows in the current generation)."""

    name: str
    sha256: str
    size: int
    mtime_ns: int
    text: str
    regions: list[Region]
    passages: list[Passage]
    jobs: list[EmbedJob] = field(default_factory=list)
    rows: range | None = None
    junk_lines: int = 0


class Carry:
    """The current generation, as a build takes unchanged files from it (its tables are read once, when
    the first file is carried over)."""

    def __init__(self, stored: StoredIndex) -> None:
        self.stored = stored
        self.files = {f.path: f for f in stored.files}
        self._passages: list[Passage] | None = None
        self._texts: dict[str, str] = {}
        self._regions: dict[str, list[Region]] = {}

    def unchanged(self, name: str, size: int, mtime_ns: int) -> bool:
        """Whether the file `name` has the size and modification time recorded (0: unknown, never unchanged)."""
        recorded = self.files.get(name)
        return recorded is not None and recorded.mtime_ns != 0 and (recorded.size, recorded.mtime_ns) == (size, mtime_ns)

    def unread(self, names: list[str], paths: list[Path], max_bytes: int) -> dict[str, int]:
        """The files among `paths` (named `names`) that need not be read, with their modification times. A
        file over `max_bytes` (a size limit lower than the one it was indexed under) is read, so that the
        reader skips it with the reason, as a fresh build would."""
        found: dict[str, int] = {}
        for name, path in zip(names, paths):
            try:
                status = path.stat()
            except OSError:
                continue    # read it: the reader says why it cannot
            if status.st_size <= max_bytes and self.unchanged(name, status.st_size, status.st_mtime_ns):
                found[name] = status.st_mtime_ns
        return found

    def same(self, name: str, sha256: str, text: str) -> bool:
        """Whether a file read again has the bytes and the extracted text the index holds for it."""
        recorded = self.files.get(name)
        return recorded is not None and recorded.sha256 == sha256 and self.stored.document_text(name) == text

    def part(self, name: str, mtime_ns: int) -> Part:
        """The file `name` as the current generation holds it, recorded now with `mtime_ns`."""
        if self._passages is None:
            self._passages = self.stored.all_passages()
            self._texts = self.stored.texts()
            self._regions = self.stored.all_regions()
        recorded = self.files[name]
        rows = range(recorded.first_row, recorded.first_row + recorded.count)
        return Part(name, recorded.sha256, recorded.size, mtime_ns, self._texts.get(name, ""),
                    self._regions.get(name, []), self._passages[rows.start : rows.stop], rows=rows)


@dataclass
class StoredVectors:
    """The current generation's vectors, by row: what carried-over passages keep, and what edited files
    reuse by key (a paragraph that did not change keeps its vectors)."""

    keys: list[bytes]
    sentence_slices: list[slice]
    vectors: np.ndarray              # (passages, dimension) float32
    sentence_vectors: SentenceVectors   # (sentences, dimension): float32 rows when indexed
    sentence_rows: list[tuple[str, int, int, int]]

    @classmethod
    def of(cls, stored: StoredIndex) -> StoredVectors | None:
        """The vectors of `stored` (None when it has none, or was written before their keys were recorded)."""
        if stored.vectors is None or stored.sentence_vectors is None:
            return None
        table = stored.input_keys()
        if table is None:
            return None
        keys, slices = table
        return cls(keys, slices, np.asarray(stored.vectors), stored.sentence_vectors, stored.sentence_rows())

    def known(self, wanted: set[bytes]) -> dict[bytes, Vectors]:
        """The stored vectors of the keys in `wanted` that the generation holds."""
        return {key: Vectors(self.vectors[row], self.sentence_vectors[self.sentence_slices[row]].astype(np.float16))
                for row, key in enumerate(self.keys) if key in wanted}
