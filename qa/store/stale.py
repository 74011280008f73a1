"""Which source files of a stored index changed on disk since it was built (added, changed or removed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from qa.sources import discover
from qa.store.stored import StoredIndex


def stale_files(stored: StoredIndex) -> list[str]:
    """Source files added, changed or removed since `stored` was built (a file's hash is read only when its
    size is the same and its modification time is not)."""
    root = Path(stored.root)
    known = {f.path: f for f in stored.files}
    skipped = set(stored.manifest.skipped)
    stale = []
    for name, source in known.items():
        try:
            status = os.stat(root / name)
        except OSError:
            stale.append(name)
            continue
        if status.st_size != source.size:
            stale.append(name)
        elif status.st_mtime_ns != source.mtime_ns and _sha256(root / name) != source.sha256:
            stale.append(name)
    paths = [Path(p) for p in stored.manifest.paths if Path(p).exists()]
    if paths:
        _, files, _ = discover(paths, stored.manifest.follow_links)
        stale += sorted(n for n in (f.relative_to(root).as_posix() for f in files if f.is_relative_to(root))
                        if n not in known and n not in skipped)
    return stale


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
