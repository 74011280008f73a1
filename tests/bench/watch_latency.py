"""How soon a saved edit is searchable under `qa index --watch`, in a folder of many files:
`python tests/bench/watch_latency.py [--files 1000] [--edits 5] [--model NAME] [--from-index DIR]`.

Writes `--files` text and Markdown files of a few KB each (made-up prose, seeded) into a temporary folder,
last modified an hour ago, and starts `qa index DOCS --watch` on it (the first build embeds them all:
minutes with the real model). `--from-index DIR` starts from a copy of an index built with the same model
(its model export is linked, not redone). `--in-process` watches with qa.ingest.watch and builds with one
qa.ingest.loaded.Models kept across updates (the model stays loaded), in this process, instead of running
`qa index --watch`. Then `--edits` times, one file gets a paragraph with a new word
appended, and the time from the write until a freshly opened index (BM25) finds the word is measured.
Prints each latency, the median and the load average; the target is <= 2 s (issue 29).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index, config
from qa.errors import QAError

WORDS = ("river valley harbour council market bridge winter summer farmer engineer library museum station "
         "railway orchard vineyard festival archive mountain village journal ledger lantern compass harvest "
         "meadow granary ferry quarry mill school garden tower canal forest island coast").split()
VERBS = "built opened repaired described measured visited recorded planted carried counted moved painted".split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
    return f"The {words[0]} {rng.choice(VERBS)} the {' '.join(words[1:])} in {rng.randint(1800, 2020)}."


def write_folder(folder: Path, count: int, seed: int = 0) -> None:
    """`count` files of 2-5 KB: plain text and Markdown with headings, in a few subfolders."""
    rng = random.Random(seed)
    for number in range(count):
        sub = folder / f"part{number % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(4, 8))]
        if number % 2:
            text = f"# Notes {number}\n\n" + "\n\n".join(
                f"## Section {i}\n\n{p}" if i % 3 == 0 else p for i, p in enumerate(paragraphs)) + "\n"
            (sub / f"notes{number:04d}.md").write_text(text, encoding="utf-8")
        else:
            (sub / f"report{number:04d}.txt").write_text(f"Report {number}\n\n" + "\n\n".join(paragraphs) + "\n",
                                                          encoding="utf-8")
    hour_ago = time.time() - 3600
    for path in folder.rglob("*"):
        os.utime(path, (hour_ago, hour_ago))


def generation(index_dir: Path) -> str:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8")
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` and its waited-for children (the reader workers), from /proc (Linux):
    what an update costs whatever else the machine is doing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def searchable(index_dir: Path, word: str) -> bool:
    try:
        hits = Index.open(index_dir).search(word, k=1, mode="bm25")
    except QAError:
        return False
    return bool(hits) and word in hits[0].passage.text


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--files", type=int, default=1000)
    options.add_argument("--edits", type=int, default=5)
    options.add_argument("--model", default=config.DEFAULT_MODEL)
    options.add_argument("--from-index", type=Path, help="start from a copy of this index (same model)")
    options.add_argument("--in-process", action="store_true",
                         help="watch and build in this process, the model kept loaded between updates")
    args = options.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-watch-bench-"))
    try:
        docs, index_dir = work / "docs", work / "ix"
        write_folder(docs, args.files)
        size = sum(p.stat().st_size for p in docs.rglob("*") if p.is_file())
        print(f"{args.files} files, {size / 1e6:.1f} MB, model {args.model}", flush=True)
        if args.from_index:
            shutil.copytree(args.from_index, index_dir)
        if args.in_process:
            measure(docs, index_dir, args, watching_here(docs, index_dir, args.model))
            return
        started = time.perf_counter()
        watcher = subprocess.Popen([sys.executable, "-m", "qa.ui.cli", "index", str(docs), "--index", str(index_dir),
                                    "--model", args.model, "--watch"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert watcher.stderr is not None and watcher.stdout is not None
        for line in watcher.stderr:
            if line.startswith("Watching"):
                break
        print(f"first build: {time.perf_counter() - started:.0f} s; {watcher.stdout.readline().strip()}", flush=True)
        time.sleep(2.5)    # files written by the first build's time are read again once (carry.RACY_NS)
        files = sorted(p for p in docs.rglob("*") if p.is_file())
        latencies: list[float] = []
        costs: list[float] = []
        for edit in range(args.edits):
            word = f"zebrafinch{edit}quorum"
            target = files[(edit * 397) % len(files)]
            before, cpu = generation(index_dir), cpu_seconds(watcher.pid)
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(f"\nThe {word} met in Tallinn on a Tuesday to count the herons.\n")
            written = time.perf_counter()
            while generation(index_dir) == before or not searchable(index_dir, word):
                if time.perf_counter() - written > 60:
                    raise SystemExit(f"edit {edit} not searchable after 60 s")
                time.sleep(0.01)
            latencies.append(time.perf_counter() - written)
            summary = watcher.stdout.readline().strip()
            costs.append(cpu_seconds(watcher.pid) - cpu)
            print(f"edit {edit} ({target.relative_to(docs)}): searchable after {latencies[-1]:.2f} s, the update "
                  f"took {costs[-1]:.2f} s of CPU (load {os.getloadavg()[0]:.2f}); {summary}", flush=True)
            time.sleep(2.5)
        watcher.send_signal(signal.SIGINT)
        code = watcher.wait(timeout=60)
        print(f"median {statistics.median(latencies):.2f} s over {len(latencies)} edits "
              f"(min {min(latencies):.2f}, max {max(latencies):.2f}); CPU per update: median "
              f"{statistics.median(costs):.2f} s; watcher exit code {code}; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


class watching_here:
    """`qa index --watch` in this process: a first build, then a thread that watches and updates, every build
    with the same Models; `summary()` waits for the next update's report, `stop()` ends the watch."""

    def __init__(self, docs: Path, index_dir: Path, model: str) -> None:
        import queue
        import threading

        from qa.ingest.build import BuildReport, build_index
        from qa.ingest.loaded import Models
        from qa.ingest.watch import watch_paths

        self.models = Models()
        self.reports: queue.Queue[BuildReport] = queue.Queue()
        started = time.perf_counter()
        report = build_index([docs], index_dir, model, models=self.models)
        print(f"first build: {time.perf_counter() - started:.0f} s; {report.files} files, {report.passages} passages")
        self.stop_event = threading.Event()

        def update(changed: set[str]) -> None:
            self.reports.put(build_index([docs], index_dir, model, models=self.models))

        self.thread = threading.Thread(target=watch_paths, args=([docs], index_dir, update),
                                       kwargs={"stop_event": self.stop_event, "say": print}, daemon=True)
        self.thread.start()

    def summary(self) -> str:
        report = self.reports.get(timeout=120)
        return f"{report.read} read, {report.embedded} embedded, build {report.seconds:.2f} s"

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)


def measure(docs: Path, index_dir: Path, args: argparse.Namespace, watcher: watching_here) -> None:
    """The edits of `main`, timed against a watch running in this process (its CPU is this process's)."""
    time.sleep(2.5)
    files = sorted(p for p in docs.rglob("*") if p.is_file())
    latencies: list[float] = []
    costs: list[float] = []
    for edit in range(args.edits):
        word = f"zebrafinch{edit}quorum"
        target = files[(edit * 397) % len(files)]
        before, cpu = generation(index_dir), cpu_seconds(os.getpid())
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(f"\nThe {word} met in Tallinn on a Tuesday to count the herons.\n")
        written = time.perf_counter()
        while generation(index_dir) == before or not searchable(index_dir, word):
            if time.perf_counter() - written > 60:
                raise SystemExit(f"edit {edit} not searchable after 60 s")
            time.sleep(0.01)
        latencies.append(time.perf_counter() - written)
        summary = watcher.summary()
        costs.append(cpu_seconds(os.getpid()) - cpu)
        print(f"edit {edit} ({target.relative_to(docs)}): searchable after {latencies[-1]:.2f} s, "
              f"{costs[-1]:.2f} s of CPU with the check (load {os.getloadavg()[0]:.2f}); {summary}", flush=True)
        time.sleep(2.5)
    watcher.stop()
    print(f"in process: median {statistics.median(latencies):.2f} s over {len(latencies)} edits "
          f"(min {min(latencies):.2f}, max {max(latencies):.2f}); CPU per update (and the check): median "
          f"{statistics.median(costs):.2f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
