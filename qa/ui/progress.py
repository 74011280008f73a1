"""The progress bar of a build on a terminal: one line per stage, with items per second and an ETA."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

#: What each stage counts, for the bar's label.
_UNITS = {"reading": ("Reading", "files"), "splitting": ("Splitting", "files"), "embedding": ("Embedding", "passages")}


class BuildProgress:
    """A rich progress bar fed by `update(stage, done, total)` (see qa.ingest.build.Progress); shown from the
    first file read, on stderr, and gone when the build ends."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[unit]}"), TextColumn("{task.fields[rate]}"),
                             TimeRemainingColumn(), console=console, transient=True)
        self._task = self._bar.add_task("Reading", total=None, unit="files", rate="")
        self._stage = ""
        self._started = time.perf_counter()

    def __enter__(self) -> BuildProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._bar.__exit__(kind, error, trace)

    def update(self, stage: str, done: int, total: int) -> None:
        label, unit = _UNITS.get(stage, (stage[:1].upper() + stage[1:], ""))
        if stage != self._stage:
            self._stage, self._started = stage, time.perf_counter()
            # A stage without a count (total 0: exporting or loading the model) shows a pulsing bar.
            self._bar.reset(self._task, total=total or None, completed=done, description=label, unit=unit, rate="")
            return
        elapsed = time.perf_counter() - self._started
        rate = f"{done / elapsed:,.0f}/s" if elapsed > 0 and done else ""
        self._bar.update(self._task, completed=done, total=total, rate=rate)
