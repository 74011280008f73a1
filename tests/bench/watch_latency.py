"""How soon a saved edit is searchable under `qa index --watch`: `python tests/bench/watch_latency.py [--edits N]`.

Copies seeds/ to a temporary folder, starts `qa index DOCS --watch` on it, then N times appends a
sentence with a new word to one file and measures the time from the write until a freshly opened
index (BM25) finds the word. Prints each latency and the median; the target is ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index  # noqa: E402
from qa.errors import QAError  # noqa: E402


def searchable(index_dir: Path, word: str) -> bool:
    try:
        hits = Index.open(index_dir).search(word, k=1, mode="bm25")
    except QAError:
        return False
    return bool(hits) and word in hits[0].passage.text


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--edits", type=int, default=9)
    args = options.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-watch-bench-"))
    try:
        docs, index_dir = work / "docs", work / "ix"
        shutil.copytree(REPO / "seeds", docs)
        environment = dict(os.environ, PYTHONPATH=str(REPO))
        watcher = subprocess.Popen([sys.executable, "-m", "qa.ui.cli", "index", str(docs), "--index", str(index_dir),
                                    "--watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=environment)
        assert watcher.stderr is not None
        for line in watcher.stderr:
            if line.startswith("Watching"):
                break
        time.sleep(0.5)
        files = sorted(docs.iterdir())
        latencies = []
        for edit in range(args.edits):
            word = f"zebrafinch{edit}quorum"
            target = files[edit % len(files)]
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(f"\nThe {word} met in Tallinn on a Tuesday.\n")
            written = time.perf_counter()
            while not searchable(index_dir, word):
                if time.perf_counter() - written > 30:
                    raise SystemExit(f"edit {edit} not searchable after 30 s")
                time.sleep(0.02)
            latencies.append(time.perf_counter() - written)
            print(f"edit {edit} ({target.name}): searchable after {latencies[-1]:.2f} s", flush=True)
            time.sleep(1.0)
        watcher.send_signal(signal.SIGINT)
        code = watcher.wait(timeout=30)
        print(f"median {statistics.median(latencies):.2f} s over {len(latencies)} edits "
              f"(min {min(latencies):.2f}, max {max(latencies):.2f}); watcher exit code {code}; "
              f"load average {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
