"""Keep an index fresh: wait for files under the indexed paths to change, then call back (watchfiles)."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Callable

from qa import config
from qa.errors import QAError, UsageError

#: How often (ms) the watcher looks whether a watched folder was deleted or replaced while nothing changed.
CHECK_MS = 1000


def watch_paths(
    paths: list[Path],
    index_dir: Path,
    on_change: Callable[[set[str]], None],
    settle_ms: int = config.WATCH_SETTLE_MS,
    stop_event: threading.Event | None = None,
    say: Callable[[str], None] | None = None,
    check_ms: int = CHECK_MS,
) -> None:
    """Call `on_change(changed paths)` once per burst of changes under `paths`, until Ctrl-C or `stop_event`.

    A burst ends when nothing has changed for `settle_ms`. Changes inside `index_dir` (when it lies under a
    watched folder) and editors' scratch files are ignored. An exception from `on_change` (a file that
    vanished while it was read, a full disk...) is reported in one line through `say` and watching goes
    on; the next change updates again. A watched folder that is deleted is reported once and watched for:
    when it is back (or replaced by another folder of that name) it is watched anew and `on_change` runs.
    Returns normally on Ctrl-C while waiting; Ctrl-C during `on_change` raises KeyboardInterrupt.
    """
    import watchfiles

    if say is None:
        from qa.ui.render import say as render_say

        say = render_say
    tell: Callable[[str], None] = say
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

    def update(changed: set[str]) -> None:
        try:
            on_change(changed)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - one failed update must not end the watch
            tell(f"error: the update failed ({_one_line(error)}); the index is as it was, and the next "
                "change updates it again. Still watching; Ctrl-C stops.")

    updating = False
    present = {target: _folder_identity(target) for target in targets}
    try:
        while not _is_set(stop_event):
            watching = [target for target in targets if present[target]]
            if not watching:   # every watched folder is gone: look for them until one is back
                while not any(_folder_identity(target) for target in targets):
                    if _wait(stop_event, check_ms):
                        return   # stopped
            else:
                for changes in watchfiles.watch(*watching, watch_filter=Relevant(), step=settle_ms,
                                                stop_event=stop_event, yield_on_timeout=True, rust_timeout=check_ms):
                    now = {target: _folder_identity(target) for target in targets}
                    if now != present:
                        break   # a folder went, came back or was replaced: watch anew (below)
                    if changes:
                        updating = True
                        update({path for _, path in changes})
                        updating = False
                else:
                    return   # stopped
            now = {target: _folder_identity(target) for target in targets}
            gone = [target for target in targets if present[target] and not now[target]]
            back = [target for target in targets if now[target] and now[target] != present[target]]
            present = now
            for target in gone:
                tell(f"warning: {_shown(target)} was deleted; watching for it to come back (Ctrl-C stops).")
            if back:
                tell(f"{', '.join(map(_shown, back))} {'is' if len(back) == 1 else 'are'} back; updating.")
            if back or (gone and any(now.values())):   # what is left, or what came back, is indexed anew
                updating = True
                update({*gone, *back})
                updating = False
    except KeyboardInterrupt:
        if updating:   # stopped in the middle of an update: the caller says so (the index is as before it)
            raise


def _folder_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the folder at `path`, or None when there is none: a folder deleted and made
    again has another inode, and its new contents are not watched by the old watch."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISDIR(found.st_mode) else None


def _wait(event: threading.Event | None, milliseconds: int) -> bool:
    """Sleep `milliseconds` or until `event` is set; whether it is set."""
    if event is not None:
        return event.wait(milliseconds / 1000)
    time.sleep(milliseconds / 1000)
    return False


def _is_set(event: threading.Event | None) -> bool:
    return event is not None and event.is_set()


def _shown(path: str) -> str:
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    except ValueError:
        return path


def _one_line(error: BaseException) -> str:
    if isinstance(error, QAError):
        text = str(error)
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    else:
        text = f"{type(error).__name__}: {error}"
    lines = text.strip().splitlines()
    return lines[0] if lines else type(error).__name__
