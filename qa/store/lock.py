"""One writer at a time: the build lock on an index folder, the cleanup of killed builds' leftovers, and
the one-line error a failed write becomes (the current generation is untouched either way)."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import IO

from qa.errors import IndexBusyError, QAError, UsageError
from qa.store.layout import first_line
from qa.store.ownership import LOCK, check, claim, remove_owned
from qa.errors import DiskFullError  # noqa: F401 - defined with the other errors


class BuildLock:
    """Exclusive right to build into an index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._handle: IO[str] | None = None

    def __enter__(self) -> BuildLock:
        lock = self.index_dir / LOCK
        try:
            check(self.index_dir)   # refuses a folder that is not a qa index before anything is written
            # Never through a link: a `.lock` planted as a link would make qa create its target elsewhere.
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UsageError(f"{lock} is a symbolic link, not qa's lock file; qa does not follow it. "
                                 "Remove the link, then run this again.") from None
            if error.errno == errno.EISDIR:
                raise UsageError(_not_qas(lock)) from None
            raise QAError(f"Cannot write the index at {self.index_dir}: {error.strerror or error}. "
                          "Choose another folder with --index DIR.") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):   # a pipe or a device named .lock
            os.close(fd)
            raise UsageError(_not_qas(lock))
        handle = self._handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            self._handle = None
            raise IndexBusyError(
                f"Another qa index is building {self.index_dir}; wait for it to finish, then run this again."
            ) from None
        try:
            claim(self.index_dir)
        except BaseException as error:
            self.__exit__()
            if isinstance(error, OSError):   # the marker could not be written (a full disk...)
                raise write_error(error, self.index_dir) from None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _not_qas(lock: Path) -> str:
    return f"{lock} is not a file qa made; move it out of the index folder, then run this again."


def clean_leftovers(index_dir: Path, keep: str | None = None) -> None:
    """Remove what killed builds of this index left behind (call with the BuildLock held), except the
    checkpoint folder `keep`, from which this build resumes."""
    index_id = claim(index_dir)
    for old in index_dir.iterdir():
        if old.name.startswith((".tmp-", ".scratch-")) and old.name != keep:
            remove_owned(old, index_id)


#: SQLite's result code for a full disk (sqlite3.Error.sqlite_errorcode).
_SQLITE_FULL = 13


def write_error(error: OSError | sqlite3.Error, index_dir: Path) -> QAError:
    """The one-line error for a failed write into `index_dir`: DiskFullError when the disk is full (whether
    the OS said ENOSPC, numpy reported a short write, or SQLite said SQLITE_FULL), else a QAError naming
    the file and the reason. Either way the current generation is untouched."""
    full = (
        (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT))
        # numpy's short write: "576416 requested and 528320 written", no errno
        or (isinstance(error, OSError) and error.errno is None and " requested and " in str(error))
        or (isinstance(error, sqlite3.Error) and (getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL
                                                  or "disk is full" in str(error)))
    )
    where = os.path.abspath(index_dir)
    if full:
        try:
            left = f"{_size(shutil.disk_usage(where).free)} free"
        except OSError:
            left = "no space left"
        return DiskFullError(f"The disk holding {where} is full ({left}); the index is as it was. "
                             "Free some space there (or use --index DIR on another disk), then run qa index again.")
    reason = (error.strerror or first_line(error)) if isinstance(error, OSError) else first_line(error)
    name = f" ({error.filename})" if isinstance(error, OSError) and error.filename else ""
    return QAError(f"Cannot write the index at {where}: {reason}{name}; the index is as it was. "
                   "Fix that or choose another folder with --index DIR, then run qa index again.")


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:.1f} {unit}"
