"""The reader pool (qa/sources/pool.py): whatever one file does costs that file only, with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import ReadLimits
from qa.sources import Document, Skipped, registry
from qa.sources.pool import read_all

LIMITS = ReadLimits(seconds=3, memory_mb=512, expanded_mb=1, workers=2)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write files of the test reader's type (`.poolcase`): each holds what its reader should do."""
    monkeypatch.setitem(registry.READERS, ".poolcase", "pool_readers")

    def make(*commands: str) -> list[Path]:
        paths = []
        for number, command in enumerate(commands):
            path = tmp_path / f"{number:02d}-{command}.poolcase"
            path.write_text(command)
            paths.append(path)
        return paths
    return make


def reasons(outcomes: list[Document | Skipped]) -> list[str]:
    return ["read" if isinstance(o, Document) else o.reason for o in outcomes]


def test_every_fault_costs_its_own_file_and_the_rest_is_read(files, tmp_path: Path):
    paths = files("fine", "hang", "crash", "memory", "raise", "recurse", "huge", "good")
    outcomes = read_all(paths, tmp_path, LIMITS)
    assert [o.path.name if isinstance(o, Document) else o.path for o in outcomes] == [p.name for p in paths]
    found = dict(zip(["fine", "hang", "crash", "memory", "raise", "recurse", "huge", "good"], reasons(outcomes)))
    assert found["fine"] == found["good"] == "read"
    assert found["hang"].startswith("took longer than 3 s to read")
    assert found["crash"] == "its reader crashed (SIGSEGV)"
    assert found["memory"].startswith("needs more than 512 MB of memory")
    assert found["raise"] == "not a poolcase file qa can read (LookupError: a library fault)"
    assert found["recurse"] == "nested too deeply to read"
    assert found["huge"].startswith("expands past the 1 MB limit")


def test_a_replaced_worker_reads_the_files_after_it(files, tmp_path: Path):
    """One worker: after a crash and a hang it is replaced, and every later file is still read."""
    paths = files("crash", "a", "hang", "b", "c")
    outcomes = read_all(paths, tmp_path, ReadLimits(seconds=2, workers=1))
    assert reasons(outcomes)[1:] == ["read", reasons(outcomes)[2], "read", "read"]
    assert reasons(outcomes)[2].startswith("took longer")
    assert [o.text for o in outcomes if isinstance(o, Document)] == [
        "A readable file that says a.", "A readable file that says b.", "A readable file that says c."]


def test_a_file_that_vanished_is_skipped_with_the_reason(files, tmp_path: Path):
    paths = files("fine", "gone")
    paths[1].unlink()
    outcomes = read_all(paths, tmp_path, LIMITS)
    assert reasons(outcomes) == ["read", "no such file or directory"]


def test_progress_counts_every_file(files, tmp_path: Path):
    seen = []
    read_all(files("a", "raise", "b"), tmp_path, LIMITS, lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_worker_stuck_on_a_file_dies_with_a_killed_build(files, tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    (path,) = files("hang")
    script = ("import sys\n"
              "from pathlib import Path\nfrom qa.config import ReadLimits\nfrom qa.sources import registry\n"
              "from qa.sources.pool import read_all\nregistry.READERS['.poolcase'] = 'pool_readers'\n"
              "read_all([Path(sys.argv[1])], Path(sys.argv[1]).parent, ReadLimits(seconds=600, workers=1))\n")
    tests = Path(__file__).resolve().parent        # where the test reader module pool_readers is
    build = subprocess.Popen([sys.executable, "-c", script, str(path)], env={**os.environ, "PYTHONPATH": str(tests)})
    try:
        deadline = time.monotonic() + 60
        while not (workers := _children(build.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers, "the worker never started"
        time.sleep(0.5)                         # it is reading (sleeping on) the file now
        build.send_signal(signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{w}").exists() and "zombie" not in _state(w) for w in workers) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(Path(f"/proc/{w}").exists() and "zombie" not in _state(w) for w in workers)
    finally:
        if build.poll() is None:
            build.kill()
        for worker in _children(build.pid):
            os.kill(worker, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return "zombie" if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" else "alive"
    except OSError:
        return "zombie"
