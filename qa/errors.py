"""Exceptions that carry a message a user can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
