"""FAISS threads for interactive questions: where the thread count is set, and what a question costs.

`python tests/bench/search_threads.py [--passages 100000] [--questions 200]`

Each setting runs in a fresh process: questions embedded one at a time with the seeds index's ONNX model
(real, onnxruntime), then an exact (flat) FAISS scan of `--passages` synthetic unit vectors, as `qa ask`, the
REPL and `qa serve` do. Settings: `per-search` (the thread count set to 1 before every scan of fewer than 20
questions: what qa.search.dense did until 2026-12-04), `default` (nothing set: FAISS's OpenMP default, one
thread a core), `start` (faiss.omp_set_num_threads(1) once at start, in the main thread), `environment`
(OMP_NUM_THREADS=1 in the environment before FAISS is loaded: qa.startup.configure), and `start` and
`environment` again with the questions asked from a worker thread (qa serve answers in a thread pool).
Prints embed + search p50 / p95 ms per setting.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = ("per-search", "default", "start", "environment", "start-in-thread", "environment-in-thread")


def measure(setting: str, passages: int, questions: int, export: Path) -> dict[str, float]:
    """In this process: embed and search each question, timed; p50 and p95 in ms."""
    import faiss
    import numpy as np

    from qa.model.onnx import OnnxEmbedder

    if setting.startswith("start"):
        faiss.omp_set_num_threads(1)
    embedder = OnnxEmbedder(export)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((passages, embedder.dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(embedder.dimension)
    index.add(vectors)
    texts = [f"What does question number {i} ask about the {['docs', 'seeds', 'news'][i % 3]}?"
             for i in range(questions + 10)]

    def one(text: str) -> float:
        started = time.perf_counter()
        query = embedder.encode([text])
        if setting == "per-search":
            faiss.omp_set_num_threads(1)
        index.search(query, 50)
        return (time.perf_counter() - started) * 1000

    if setting.endswith("in-thread"):
        with ThreadPoolExecutor(1) as pool:         # one question at a time, in a thread that is not the main one
            times = list(pool.map(one, texts))
    else:
        times = [one(t) for t in texts]
    times = sorted(times[10:])                      # the first ones warm up
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--export", type=Path, help="an ONNX export folder (default: the bench seeds index's)")
    parser.add_argument("--rounds", type=int, default=1, help="run every setting this many times, in turn")
    parser.add_argument("--setting", choices=SETTINGS, help=argparse.SUPPRESS)   # the child process
    args = parser.parse_args()
    if args.setting:
        print(json.dumps(measure(args.setting, args.passages, args.questions, args.export)))
        return
    export = args.export or next((HERE / ".cache" / "seeds-index").glob("gen-*"), None)
    if export is None or not (export / "model.onnx").is_file():
        raise SystemExit("No ONNX export found: build the bench seeds index (python tests/bench/run.py --quick) "
                         "or pass --export FOLDER.")
    print(f"load average {os.getloadavg()[0]:.2f}; {args.passages:,} passages, {args.questions} questions; "
          f"embed + flat search per question, ms", flush=True)
    for setting in [s for _ in range(args.rounds) for s in SETTINGS]:
        environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        if setting.startswith("environment"):
            environment["OMP_NUM_THREADS"] = "1"
        done = subprocess.run([sys.executable, __file__, "--setting", setting, "--passages", str(args.passages),
                               "--questions", str(args.questions), "--export", str(export)],
                              capture_output=True, text=True, env=environment, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {setting} | {result['p50']:.1f} | {result['p95']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
