"""Reading files in worker processes, each file bounded in time and memory: whatever one file does costs
at most that file.

A file that raises, runs past the time limit, exhausts its worker's memory or crashes its worker comes
back as a `Skipped` with a one-line reason; the worker is replaced and the other files are read. Results
come back in the order of the files given. Workers are forked (cheap: they inherit this process's imports),
ignore Ctrl-C (the build that started them stops them) and keep their libraries' warnings to themselves.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable

from qa.config import ReadLimits
from qa.sources.document import Document, Skipped, Unreadable

#: progress(done, total), called as files are read.
Progress = Callable[[int, int], None]


def read_all(files: list[Path], root: Path, limits: ReadLimits, progress: Progress | None = None) -> list[Document | Skipped]:
    """Each file read by a worker process under `limits`, in the order given: a Document, or why not."""
    results: list[Document | Skipped | None] = [None] * len(files)
    count = min(limits.workers or os.cpu_count() or 1, len(files))
    workers: list[_Worker] = []
    waiting = deque(range(len(files)))
    done = 0
    try:
        workers = [_Worker(root, limits) for _ in range(count)]
        while waiting or any(w.number is not None for w in workers):
            for worker in workers:
                if worker.number is None and waiting:
                    number = waiting.popleft()
                    worker.give(number, files[number])
            busy = [w for w in workers if w.number is not None]
            deadline = min(w.deadline for w in busy)
            wait([w.connection for w in busy] + [w.process.sentinel for w in busy],
                 timeout=max(0.0, deadline - time.monotonic()))
            for position, worker in enumerate(workers):
                if worker.number is None:
                    continue
                number, outcome = worker.number, worker.outcome()
                if outcome is None:
                    continue
                results[number] = outcome
                done += 1
                if progress:
                    progress(done, len(files))
                if not worker.alive():
                    worker.stop()
                    workers[position] = _Worker(root, limits)
    finally:
        for worker in workers:
            worker.stop()
    return [r if r is not None else Skipped(files[i].relative_to(root).as_posix(), "not read") for i, r in enumerate(results)]


class _Worker:
    """One reader process and the file it is reading (`number`, None when idle)."""

    def __init__(self, root: Path, limits: ReadLimits) -> None:
        self.root, self.limits = root, limits
        self.connection, theirs = multiprocessing.get_context("fork").Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(theirs, root, limits), daemon=True, name="qa-reader")
        self.process.start()
        theirs.close()
        self.number: int | None = None
        self.path = Path()
        self.deadline = 0.0

    def give(self, number: int, path: Path) -> None:
        self.number, self.path = number, path
        self.deadline = time.monotonic() + self.limits.seconds
        try:
            self.connection.send(str(path))
        except OSError:
            pass   # the worker died: outcome() says so

    def alive(self) -> bool:
        return self.process.is_alive()

    def outcome(self) -> Document | Skipped | None:
        """What became of the file (None: still reading); the worker is idle again afterwards."""
        name = self.path.relative_to(self.root).as_posix()
        result: Document | Skipped | None = None
        if self.connection.poll():
            try:
                result = self.connection.recv()
            except (EOFError, OSError):
                result = None
            if result is None:
                self.process.join(1)
                result = Skipped(name, _death(self.process.exitcode))
        elif not self.process.is_alive():
            result = Skipped(name, _death(self.process.exitcode))
        elif time.monotonic() >= self.deadline:
            self.process.kill()
            self.process.join()
            result = Skipped(name, f"took longer than {self.limits.seconds:g} s to read (qa index --read-seconds raises the limit)")
        if result is not None:
            self.number = None
        return result

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        if -exitcode == signal.SIGKILL:
            return "its reader was killed (out of memory?)"
        return f"its reader crashed ({signal.Signals(-exitcode).name})"
    return f"its reader stopped (exit code {exitcode})"


def _serve(connection: Connection, root: Path, limits: ReadLimits) -> None:
    """A worker: read the files it is sent, one at a time, and send back a Document or a Skipped."""
    from qa.sources import read

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _quiet()
    _limit_memory(limits.memory_mb)
    while True:
        try:
            path = Path(connection.recv())
        except (EOFError, OSError):
            return
        name = path.relative_to(root).as_posix()
        try:
            outcome: Document | Skipped = read(path, root, limits)
        except Unreadable as error:
            outcome = Skipped(name, str(error))
        try:
            connection.send(outcome)
        except MemoryError:
            connection.send(Skipped(name, f"needs more than {limits.memory_mb:g} MB of memory to read "
                                          "(qa index --read-memory raises the limit)"))


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the build that started it dies (even by SIGKILL): a reader stuck on
    a hostile file must not outlive it. Elsewhere the worker ends at its next read from the closed pipe."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _quiet() -> None:
    """Warnings and log lines of the readers' libraries stay in the worker (its stderr goes nowhere)."""
    import faulthandler
    import logging
    import warnings

    faulthandler.disable()
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _limit_memory(megabytes: float) -> None:
    """Cap the worker's address space at what it has now plus `megabytes` (a fork inherits its parent's)."""
    import resource

    try:
        with open("/proc/self/statm") as statm:
            now = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = now + int(megabytes * 2**20)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
