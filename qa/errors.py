"""Every exception qa raises on purpose: the ones with a message a user can act on (QAError and its kinds, with
their exit codes), and the few that one step raises for another to turn into such a message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.sources.document import Skipped


class QAError(Exception):
    """Base error: `str(error)` is one line saying what went wrong and what to do next."""

    exit_code = 1


class UsageError(QAError):
    """The command was called wrongly (exit code 2)."""

    exit_code = 2


class NoIndexError(QAError):
    """There is no index where one was expected."""


class IndexFormatError(QAError):
    """The index exists but cannot be used as it is (other version, other model, damaged)."""


class ModelUnavailableError(QAError):
    """The embedding model cannot be imported or loaded."""


class IndexBusyError(QAError):
    """Another build holds the index lock."""


class NothingReadableError(QAError):
    """No file under the paths could be read; `skipped` says why for each (qa.sources.Skipped)."""

    def __init__(self, message: str, skipped: list[Skipped]) -> None:
        super().__init__(message)
        self.skipped = skipped


class NotInIndexError(QAError):
    """The citation is well formed but names nothing in the index."""


class Unreadable(ValueError):
    """A file that cannot be indexed; the message says why, in a few words."""


class DiskFullError(QAError):
    """The file system holding the index has no space left (the index is as it was)."""


class ManifestError(ValueError):
    """A manifest that cannot be used: the message says what is wrong with it, in a few words."""


class FormatMismatch(ManifestError):
    """A manifest of another format version (`version`: what it says, None when it says nothing)."""

    def __init__(self, version: object) -> None:
        super().__init__(f"format {version!r}")
        self.version = version


class LineError(ValueError):
    """A line that holds no question; `id` is the line's own id when it has one."""

    def __init__(self, message: str, item_id: Any) -> None:
        super().__init__(message)
        self.id = item_id


class ClusterError(QAError):
    """The cluster cannot be reached or cannot embed for this index."""
