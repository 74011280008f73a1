"""Find the files to read under the paths a user gave, and read their bytes safely.

Only regular files are read. Symbolic links (to files or folders) are followed only
when they stay inside the paths given, or with `follow_links`; otherwise they are
skipped with a reason. Reading is bounded by the size limit whatever `stat` says, and
never blocks on a named pipe.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from qa import config
from qa.sources.document import Skipped, Unreadable
from qa.sources.registry import supported


def discover(paths: list[Path], follow_links: bool = False) -> tuple[Path, list[Path], list[Skipped]]:
    """The corpus root and the readable files under `paths`, recursively, sorted.

    The root is the deepest folder holding every path, so each file's name
    relative to it is unique. Files of types qa does not read are returned as
    skipped with `other=True`; links leading out of the paths, and special files,
    as skipped with a reason.
    """
    if not paths:
        raise ValueError("no paths given")
    resolved = [Path(os.path.abspath(p)) for p in paths]
    folders = [p if p.is_dir() else p.parent for p in resolved]
    root = Path(os.path.commonpath([str(f) for f in folders]))
    inside = [os.path.realpath(p) for p in resolved]
    walk = _Walk(root, inside, follow_links)
    for path in resolved:
        if path.is_dir():
            walk.folder(path)
        else:
            walk.take(path, given=True)
    return root, sorted(walk.files), walk.skipped


class _Walk:
    def __init__(self, root: Path, inside: list[str], follow_links: bool) -> None:
        self.root, self.inside, self.follow_links = root, inside, follow_links
        self.files: list[Path] = []
        self.skipped: list[Skipped] = []
        self.seen: set[Path] = set()
        self.folders_seen: set[str] = set()

    def name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def leads_out(self, path: Path, folder: bool = False) -> str | None:
        """Why a symbolic link may not be followed (None: it may)."""
        target = os.path.realpath(path)
        if self.follow_links or any(target == d or target.startswith(d.rstrip("/") + "/") for d in self.inside):
            return None
        what = "a folder outside" if folder else "outside"
        return f"symbolic link to {what} the indexed paths, not followed (qa index --follow-links reads it)"

    def folder(self, folder: Path) -> None:
        real = os.path.realpath(folder)
        if real in self.folders_seen:     # a link loop, or a folder reached twice
            return
        self.folders_seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            self.skipped.append(Skipped(self.name(folder) or ".", (error.strerror or "unreadable").lower()))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                self.folder(path)
            elif entry.is_symlink() and os.path.isdir(path):
                reason = self.leads_out(path, folder=True)
                if reason:
                    self.skipped.append(Skipped(self.name(path) + "/", reason))
                else:
                    self.folder(path)
            else:
                self.take(path, given=False)

    def take(self, path: Path, given: bool) -> None:
        if path in self.seen:
            return
        self.seen.add(path)
        name = self.name(path)
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:   # bytes that are not UTF-8: no citation could name it
            self.skipped.append(Skipped(name.encode("utf-8", "backslashreplace").decode("utf-8"),
                                        "its name is not valid UTF-8; rename the file to index it"))
            return
        if not supported(path.suffix):
            self.skipped.append(Skipped(self.name(path), f"a {path.suffix.lower() or 'suffix-less'} file", other=True))
            return
        if path.is_symlink() and not given:
            reason = self.leads_out(path)
            if reason:
                self.skipped.append(Skipped(self.name(path), reason))
                return
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            self.skipped.append(Skipped(self.name(path), (error.strerror or "unreadable").lower()))
            return
        if not stat.S_ISREG(mode):
            self.skipped.append(Skipped(self.name(path), f"not a regular file ({_kind(mode)})"))
            return
        self.files.append(path)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_bytes(path: Path, limit: float | None = None) -> bytes:
    """The bytes of a regular file, at most `limit` MB (default the size limit): never blocks, never reads more."""
    limit = config.MAX_FILE_MB if limit is None else limit
    limit_bytes = int(limit * 1_000_000)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))   # a FIFO must not block us
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise Unreadable(f"not a regular file ({_kind(status.st_mode)})")
        if status.st_size > limit_bytes:
            raise Unreadable(_over(status.st_size, limit))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit_bytes:
                raise Unreadable(_over(total, limit, more=True))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _over(size: int, limit: float, more: bool = False) -> str:
    amount = "more than its stated size" if more else f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"
    return f"{amount}, over the {limit:g} MB limit (qa index --max-file raises it)"
