"""`qa serve` latency, throughput and memory: `python tests/bench/serve_latency.py [--index DIR] [options]`.

Starts the real `qa serve --port 0` on 127.0.0.1 (over DIR, or over seeds/ indexed with the default model
into a temporary folder), asks it the questions of --questions (tests/questions.jsonl by default) over HTTP
with keep-alive (httpx), and prints:

- sequential latency of POST /ask, HTTP round trip included: p50 and p95 in ms (target: p50 <= 30 ms on the
  seeds, <= 45 ms on the Python docs);
- throughput with 8 concurrent clients (each its own connection), requests per second, all answered 200;
- the server's resident memory after --warm-requests (1,000) and after --memory-requests (100,000) in all,
  and the growth between them (target: under 5 %); the requests after the first reading come from
  --memory-clients clients at once (a server is used so), each on its own connection.

The load average is printed with every number: they mean little on a busy machine (2 cores shared here).
The 100,000 requests take long (about 40 minutes at 40 requests/s); `--memory-minutes` stops the memory run
early (the requests done are printed), `--memory-requests 0` skips it. Stops the server (SIGTERM) whatever
happens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
QUESTIONS: list[str] = []   # --questions, tests/questions.jsonl by default


def start(index: Path) -> tuple[subprocess.Popen[str], str]:
    """`qa serve` over `index` on a free loopback port, and its URL once it listens."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "qa.ui.cli", "serve", "--index", str(index), "--port", "0"],
                               cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=environment)
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r" on (http://127\.0\.0\.1:\d+)", line)
        if found:
            threading.Thread(target=process.stderr.read, daemon=True).start()   # keep the pipe drained
            return process, found.group(1)
        print(line, end="", file=sys.stderr)
    raise SystemExit(f"qa serve did not start (exit {process.wait()})")


def rss_mb(pid: int) -> float:
    """The process's resident memory now, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ask(client: httpx.Client, n: int) -> float:
    """Seconds one POST /ask of question n took (exits on any status but 200)."""
    began = time.perf_counter()
    response = client.post("/ask", json={"question": QUESTIONS[n % len(QUESTIONS)]})
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"/ask answered {response.status_code}: {response.text[:200]}")
    return elapsed


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def sequential(url: str, count: int) -> tuple[float, float, float]:
    """p50, p95 and max in ms of `count` sequential /ask requests (after 20 not timed)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        for n in range(20):
            ask(client, n)
        times = sorted(ask(client, n) * 1000 for n in range(count))
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1]


def concurrently(url: str, clients: int, requests: int, first: int = 0,
                 progress: threading.Event | None = None) -> tuple[int, float]:
    """Answers and seconds for `requests` /ask requests spread over `clients` clients at once."""

    def client_run(worker: int) -> int:
        with httpx.Client(base_url=url, timeout=120) as own:
            share = range(first + worker, first + requests, clients)
            for n in share:
                ask(own, n)
            return len(share)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answered = sum(pool.map(client_run, range(clients)))
    return answered, time.perf_counter() - began


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--index", type=Path, help="index to serve (default: seeds/ indexed into a temporary folder)")
    options.add_argument("--questions", type=Path, default=REPO / "tests" / "questions.jsonl",
                         help="JSON lines with a question each, asked in turn (default: the seeds' tests/questions.jsonl)")
    options.add_argument("--sequential", type=int, default=500, help="timed sequential requests (default 500)")
    options.add_argument("--rounds", type=int, default=1,
                         help="sequential runs, --pause seconds apart, each printed with its load (default 1)")
    options.add_argument("--pause", type=float, default=0.0)
    options.add_argument("--concurrent", type=int, default=800, help="requests over --clients clients (default 800)")
    options.add_argument("--clients", type=int, default=8)
    options.add_argument("--warm-requests", type=int, default=1000, help="requests before the first memory reading")
    options.add_argument("--memory-requests", type=int, default=100_000,
                         help="requests in all before the second reading (0: no memory run)")
    options.add_argument("--memory-clients", type=int, default=4, help="clients at once after the first reading")
    options.add_argument("--memory-minutes", type=float, default=0.0,
                         help="stop the memory run after this long even if short of --memory-requests (0: never)")
    args = options.parse_args()
    QUESTIONS.extend(json.loads(line)["question"] for line in args.questions.open() if line.strip())

    with tempfile.TemporaryDirectory() as scratch:
        index = args.index
        if index is None:
            from qa import Index

            index = Path(scratch) / "seeds-index"
            print("indexing seeds/ ...", file=sys.stderr)
            Index.build([REPO / "seeds"], index)
        print(f"load average at start: {load()}", flush=True)
        process, url = start(index)
        try:
            done = 0
            for round_ in range(args.rounds):
                if round_:
                    time.sleep(args.pause)
                p50, p95, most = sequential(url, args.sequential)
                done += 20 + args.sequential
                print(f"sequential /ask ({args.sequential} requests, {index}): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                      f"max {most:.1f} ms; load {load()}", flush=True)
            if args.concurrent:
                answered, seconds = concurrently(url, args.clients, args.concurrent)
                done += answered
                print(f"{args.clients} concurrent clients: {answered}/{args.concurrent} answered, "
                      f"{answered / seconds:.1f} requests/s ({seconds:.1f} s); load {load()}", flush=True)
            if args.memory_requests:
                with httpx.Client(base_url=url, timeout=120) as client:
                    while done < args.warm_requests:
                        ask(client, done)
                        done += 1
                first = rss_mb(process.pid)
                print(f"memory after {done:,} requests: {first:.1f} MB; load {load()}", flush=True)
                began = time.perf_counter()
                deadline = began + args.memory_minutes * 60 if args.memory_minutes else float("inf")
                while done < args.memory_requests and time.perf_counter() < deadline:
                    step = min(1_000 - done % 1_000, args.memory_requests - done)
                    answered, _ = concurrently(url, args.memory_clients, step, first=done)
                    done += answered
                    if done % 10_000 == 0 or done == args.memory_requests:
                        print(f"  {done:,} requests, {rss_mb(process.pid):.1f} MB, load {load()}", flush=True)
                last = rss_mb(process.pid)
                seconds = time.perf_counter() - began
                print(f"memory after {done:,} requests: {last:.1f} MB ({(last - first) / first * 100:+.1f} %; "
                      f"{seconds:.0f} s, {args.memory_clients} clients); load {load()}", flush=True)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
        print(f"server exit code {code}; load average at end: {load()}")


if __name__ == "__main__":
    main()
