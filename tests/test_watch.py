"""`qa index --watch`: real file events, one update per burst, its own index folder ignored, Ctrl-C ends it."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from qa import Index
from tests.conftest import REPO


def lines_of(stream) -> queue.Queue:
    """The lines of `stream` as they arrive (read by a thread)."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def next_line(lines: queue.Queue, timeout: float) -> str:
    return lines.get(timeout=timeout)


def test_watch_updates_once_per_burst_ignores_its_index_and_stops_on_ctrl_c(seeds_index: Path, tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "owls.txt").write_text("Owls hunt small mammals at night in the forest.\n")
    (docs / "beavers.txt").write_text("Beavers build dams of branches across slow rivers.\n")
    index_dir = docs / "ix"   # inside the watched folder: its writes must not trigger updates
    shutil.copytree(seeds_index, index_dir)   # so the model's export is linked, not redone
    watcher = subprocess.Popen(
        [sys.executable, "-m", "qa.ui.cli", "index", str(docs), "--index", str(index_dir), "--watch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO)),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # Ctrl-C works even if the run ignores it
    try:
        out, err = lines_of(watcher.stdout), lines_of(watcher.stderr)
        first = next_line(out, 300)
        assert first.startswith("Indexed 2 files") and "Paths replaced" in first
        while not next_line(err, 60).startswith("Watching"):
            pass
        time.sleep(0.5)
        # A burst of saves: one update.
        (docs / "otters.txt").write_text("Otters crack shellfish open with stones while floating.\n")
        (docs / "owls.txt").write_text("Owls hunt voles and mice at night in the forest.\n")
        (docs / "notes.md").write_text("# Notes\n\nThe zebrafinch council met in Tallinn.\n")
        update = next_line(out, 120)
        assert update.startswith("Indexed 4 files (1 unchanged, 1 changed, 2 added, 0 removed")
        assert "Paths replaced" not in update
        index = Index.open(index_dir)
        assert index.search("zebrafinch", k=1, mode="bm25")[0].passage.file == "notes.md"
        assert index.search("voles", k=1, mode="bm25")[0].passage.file == "owls.txt"
        time.sleep(2)   # the build's own writes under docs/ix/ caused no further update
        assert out.empty(), out.get()
        (docs / "beavers.txt").unlink()
        assert "1 removed" in next_line(out, 120)
        time.sleep(1)   # the update is over (Ctrl-C in the middle of one exits 130)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0
        time.sleep(0.5)
        rest = "".join(err.get() for _ in range(err.qsize()))
        assert "Stopped watching" in rest and "Traceback" not in rest
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert {f.path for f in Index.open(index_dir).stored.files} == {"owls.txt", "otters.txt", "notes.md"}


def test_the_watcher_groups_a_burst_and_ignores_the_index_folder(tmp_path: Path):
    from qa.ingest.watch import watch_paths

    docs = tmp_path / "docs"
    (docs / "ix").mkdir(parents=True)
    (docs / "keep.txt").write_text("Owls.\n")
    bursts: list[set[str]] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch_paths, args=([docs, docs / "keep.txt"], docs / "ix", bursts.append),
                              kwargs={"stop_event": stop}, daemon=True)
    thread.start()
    try:
        time.sleep(1)
        (docs / "ix" / "vectors.npy").write_bytes(b"\0" * 64)   # the index's own writes
        (docs / "ix" / "gen-1").mkdir()
        time.sleep(1.5)
        assert bursts == []
        for name in ("a.txt", "b.md", "keep.txt"):   # a burst of saves, 0.1 s apart
            (docs / name).write_text(f"{name}\n")
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while not bursts and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        assert len(bursts) == 1 and {Path(p).name for p in bursts[0]} == {"a.txt", "b.md", "keep.txt"}
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def wait_for(condition, seconds: float = 30) -> None:
    """Poll `condition` until it holds or `seconds` pass (a watchdog, not a timing assertion: the caller asserts)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_failed_update_is_one_line_and_watching_goes_on(tmp_path: Path, fake_model: Path):
    """An update that raised anything but a QAError (a file gone between discovery and reading: `No such file
    or directory`) ended `qa index --watch` with exit 1. Here the build fails once, on a signal from the test."""
    docs, index_dir, fail = tmp_path / "docs", tmp_path / "ix", tmp_path / "fail-next-build"
    docs.mkdir()
    (docs / "owls.txt").write_text("Owls hunt small mammals at night in the forest.\n")
    script = (
        "import sys, pathlib, qa.ingest.build as build\n"
        "real = build.build_index\n"
        "def flaky(*args, **kwargs):\n"
        f"    fail = pathlib.Path({str(fail)!r})\n"
        "    if fail.exists():\n"
        "        fail.unlink()\n"
        f"        raise FileNotFoundError(2, 'No such file or directory', {str(docs / 'gone.txt')!r})\n"
        "    return real(*args, **kwargs)\n"
        "build.build_index = flaky\n"
        "from qa.ui.cli import main\n"
        f"sys.exit(main(['index', {str(docs)!r}, '--index', {str(index_dir)!r}, '--model', {str(fake_model)!r}, "
        "'--watch']))\n")
    watcher = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO)),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        out, err = lines_of(watcher.stdout), lines_of(watcher.stderr)
        assert next_line(out, 300).startswith("Indexed 1 file")
        while not next_line(err, 60).startswith("Watching"):
            pass
        time.sleep(0.5)
        fail.touch()
        (docs / "otters.txt").write_text("Otters crack shellfish open with stones while floating.\n")
        line = next_line(err, 120)
        assert line == (f"error: the update failed (No such file or directory: {docs / 'gone.txt'}); the index is "
                        "as it was, and the next change updates it again. Still watching; Ctrl-C stops.\n")
        assert watcher.poll() is None, "the watcher ended"
        (docs / "beavers.txt").write_text("Beavers build dams of branches across slow rivers.\n")
        assert next_line(out, 120).startswith("Indexed 3 files (1 unchanged, 0 changed, 2 added")
        time.sleep(1)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0
        time.sleep(0.5)
        rest = "".join(err.get() for _ in range(err.qsize()))
        assert "Stopped watching" in rest and "Traceback" not in rest
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()


def test_a_watched_folder_deleted_and_made_again_is_watched_again(tmp_path: Path, monkeypatch):
    """After its folder was deleted and recreated the watcher went on running and never saw a change again."""
    from qa.ingest.watch import watch_paths

    monkeypatch.chdir(tmp_path)   # the folder is named as the user would see it: docs

    docs = tmp_path / "docs"
    docs.mkdir()
    bursts: list[set[str]] = []
    said: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch_paths, args=([docs], tmp_path / "ix", bursts.append),
                              kwargs={"stop_event": stop, "say": said.append, "check_ms": 200}, daemon=True)
    thread.start()
    try:
        time.sleep(1)
        (docs / "a.txt").write_text("a\n")
        wait_for(lambda: any(str(docs / "a.txt") in burst for burst in bursts))
        assert any(str(docs / "a.txt") in burst for burst in bursts)
        shutil.rmtree(docs)
        wait_for(lambda: said)
        assert said == ["warning: docs was deleted; watching for it to come back (Ctrl-C stops)."]
        calls = len(bursts)
        docs.mkdir()
        (docs / "b.txt").write_text("b\n")
        wait_for(lambda: len(said) > 1 and len(bursts) > calls)
        assert said[1] == "docs is back; updating." and len(bursts) > calls
        (docs / "c.txt").write_text("c\n")   # the new folder's changes are seen
        wait_for(lambda: any(str(docs / "c.txt") in burst for burst in bursts))
        assert any(str(docs / "c.txt") in burst for burst in bursts)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
