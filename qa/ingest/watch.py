"""Keep an index fresh: wait for files under the indexed paths to change, then call back (watchfiles)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from qa import config
from qa.errors import UsageError


def watch_paths(
    paths: list[Path],
    index_dir: Path,
    on_change: Callable[[set[str]], None],
    settle_ms: int = config.WATCH_SETTLE_MS,
    stop_event: object | None = None,
) -> None:
    """Call `on_change(changed paths)` once per burst of changes under `paths`, until Ctrl-C or `stop_event`.

    A burst ends when nothing has changed for `settle_ms`. Changes inside `index_dir` (when it lies under a
    watched folder) and editors' scratch files are ignored. Returns normally on Ctrl-C while waiting;
    Ctrl-C during `on_change` raises KeyboardInterrupt.
    """
    import watchfiles

    folders = [os.path.abspath(p) for p in paths if p.is_dir()]
    files = [os.path.abspath(p) for p in paths if p.is_file()]
    if not folders and not files:
        raise UsageError(f"Nothing to watch: {', '.join(map(str, paths))} does not exist. Name a folder or file that does.")
    # A named file is watched through its folder, so an editor that saves by renaming is still seen.
    targets = sorted(set(folders) | {os.path.dirname(f) for f in files})
    ignored = os.path.abspath(index_dir)

    class Relevant(watchfiles.DefaultFilter):
        def __call__(self, change: watchfiles.Change, path: str) -> bool:
            if path == ignored or path.startswith(ignored + os.sep):
                return False
            inside = path in files or any(path == f or path.startswith(f + os.sep) for f in folders)
            return inside and super().__call__(change, path)

    updating = False
    try:
        for changes in watchfiles.watch(*targets, watch_filter=Relevant(), step=settle_ms, stop_event=stop_event):
            updating = True
            on_change({path for _, path in changes})
            updating = False
    except KeyboardInterrupt:
        if updating:   # stopped in the middle of an update: the caller says so (the index is as before it)
            raise
