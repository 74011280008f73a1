"""Dense index kinds at 1M passages: `python tests/bench/dense_kinds.py [--size N] [--pages P]`.

Builds a base index of P Python-documentation pages (real passages, real embeddings), then N vectors
made from them as tests/bench/run.py's generator makes them (real embeddings repeated and perturbed:
**synthetic vectors**). For exact flat search, IVF-Flat and IVF-PQ (48 x 8 bits, exact re-scoring of
qa.search.PQ_REFINE x the candidates): bytes per passage of the dense index, build seconds, recall@10 against exact search (at
the depth Index searches, 50), warm p50 of the dense search, and the size at 10M passages. Hybrid
latency = this dense search + question embedding + BM25 and fusion (measured at 1M by run.py).
CPU-heavy: run it once, when the machine is quiet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index, config
from qa.search.dense import PQ_REFINE, DenseIndex
from corpora import html_to_text
from run import CACHE, benchmark_questions, log

PYDOC = Path("/tmp/pydoc/x/usr/share/doc/python3.11/html/library")


def pydoc_sample(pages: int) -> Path:
    """`pages` Python library pages as text files (the first ones by name)."""
    target = CACHE / f"pydoc-{pages}"
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        for page in sorted(PYDOC.glob("*.html"))[:pages]:
            (partial / f"{page.stem}.txt").write_text(html_to_text(page.read_text(encoding="utf-8")), encoding="utf-8")
        partial.rename(target)
    return target


def synthetic_vectors(real: np.ndarray, size: int, noise: float = 0.025) -> np.ndarray:
    """`size` vectors: the real ones repeated, perturbed by Gaussian noise and normalised (as run.py's
    synthetic_index makes them; cosine to the original about 0.9)."""
    rng = np.random.default_rng(0)
    out = np.empty((size, real.shape[1]), dtype=np.float32)
    rows = np.arange(size) % len(real)
    for first in range(0, size, 100_000):
        chunk = real[rows[first : first + 100_000]]
        chunk = chunk + rng.normal(0, noise, chunk.shape).astype(np.float32)
        out[first : first + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--size", type=int, default=1_000_000)
    options.add_argument("--pages", type=int, default=60)
    args = options.parse_args()
    import faiss

    work = CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    corpus = pydoc_sample(args.pages)
    base = work / f"pydoc-{args.pages}"
    if not (base / "CURRENT").exists():
        log(f"base index of {args.pages} pages")
        Index.build([corpus], base)
    index = Index.open(base)
    index.dense_error()
    questions = benchmark_questions(200, corpus)
    started = time.perf_counter()
    queries = index.embed(questions)
    embed_ms = (time.perf_counter() - started) / len(questions) * 1000
    real = np.asarray(index.stored.vectors)
    log(f"base: {len(real)} real passages; {args.size:,} synthetic vectors")
    vectors_path = work / f"synthetic-pydoc-{args.size}.npy"
    if not vectors_path.exists():
        np.save(vectors_path, synthetic_vectors(real, args.size))
    vectors = np.load(vectors_path, mmap_mode="r")
    exact = faiss.IndexFlatIP(vectors.shape[1])
    for first in range(0, len(vectors), 200_000):
        exact.add(np.ascontiguousarray(vectors[first : first + 200_000]))
    _, truth = exact.search(queries, 10)
    flat_times = []
    for query in queries[:50]:
        started = time.perf_counter()
        exact.search(query[None, :], 50)
        flat_times.append(time.perf_counter() - started)
    del exact
    rows = [dict(kind="flat", entry={}, bytes=vectors.shape[1] * 4, build_s=0.0, recall=1.0,
                 dense_ms=statistics.median(flat_times) * 1000)]
    depth = config.SearchSettings().depth
    for kind in ("ivf", "ivfpq"):
        path = work / f"synthetic-pydoc-{args.size}.{kind}"
        started = time.perf_counter()
        entry = DenseIndex.build_approximate(vectors, path, kind)
        seconds = time.perf_counter() - started
        refine = int(entry.get("refine", 1))
        dense = DenseIndex.load(path, int(entry["nprobe"]), vectors if refine > 1 else None, refine)
        found = [[r for r, _ in hits[:10]] for hits in dense.top(queries, depth)]
        recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
        times = []
        for query in queries:
            started = time.perf_counter()
            dense.top(query[None, :], depth)
            times.append(time.perf_counter() - started)
        row = dict(kind=kind, entry=entry, bytes=path.stat().st_size / len(vectors), build_s=seconds,
                   recall=recall, dense_ms=statistics.median(times) * 1000)
        log(f"{kind}: {row}")
        rows.append(row)
    print(f"\n{args.size:,} passages (synthetic vectors from {len(real)} real Python-doc passages); "
          f"question embedding {embed_ms:.1f} ms each; load average at the end {os.getloadavg()[0]:.1f}\n")
    print("| kind | bytes/passage in the index | build s | recall@10 vs exact | dense search p50 ms (depth 50) "
          "| at 10M: GB |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['kind']} {row['entry'].get('pq', '')} | {row['bytes']:.0f} | {row['build_s']:.0f} | "
              f"{row['recall']:.3f} | {row['dense_ms']:.1f} | {row['bytes'] * 1e7 / 1e9:.1f} |")
    print(f"\nIVF-PQ re-scores {PQ_REFINE}x the candidates against the float vectors (memory-mapped, "
          f"{vectors.shape[1] * 4} bytes/passage on disk, read only for those rows).")


if __name__ == "__main__":
    main()
