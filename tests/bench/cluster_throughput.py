"""Embedding on a Dask LocalCluster against the local build: `python tests/bench/cluster_throughput.py [--copies N]`.

Indexes the seeds multiplied N times twice from scratch: locally (onnxruntime on both cores), and with
`--cluster` on a LocalCluster of 2 single-threaded worker processes on 127.0.0.1. Prints texts (passages
+ sentences) embedded per second in the embedding phase, the whole build's seconds, the ratio (target
≥ 0.8), and whether the vectors agree (cosine ≥ 0.9999). Also the load average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index
from corpora import multiplied_seeds
from run import CACHE, log


def measure(corpus: Path, index_dir: Path, cluster: str | None) -> dict[str, float]:
    shutil.rmtree(index_dir, ignore_errors=True)
    report = Index.build([corpus], index_dir, cluster=cluster)
    texts = report.embedded + report.sentences_embedded
    seconds = report.embed_seconds + report.sentence_seconds
    row = {"texts": texts, "embed_s": seconds, "texts_per_s": texts / seconds, "build_s": report.seconds,
           "load": os.getloadavg()[0]}
    log(f"{'cluster' if cluster else 'local'}: {row}")
    return row


def main() -> None:
    from distributed import Client, LocalCluster

    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--copies", type=int, default=10)
    args = options.parse_args()
    corpus = multiplied_seeds(REPO / "seeds", args.copies, CACHE)
    work = CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    local = measure(corpus, work / "local-build", None)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster):
        remote = measure(corpus, work / "cluster-build", cluster.scheduler_address)
    a = np.asarray(Index.open(work / "local-build").stored.vectors)
    b = np.asarray(Index.open(work / "cluster-build").stored.vectors)
    cosine = float(np.min(np.sum(a * b, axis=1)))
    print("| build | texts embedded | embedding s | texts/s | whole build s | load average |")
    print("|---|---|---|---|---|---|")
    for name, row in (("local (onnxruntime, 2 threads)", local), ("LocalCluster, 2 workers x 1 thread", remote)):
        print(f"| {name} | {row['texts']:,} | {row['embed_s']:.1f} | {row['texts_per_s']:.1f} | {row['build_s']:.1f} "
              f"| {row['load']:.1f} |")
    print(f"\nratio cluster/local: {remote['texts_per_s'] / local['texts_per_s']:.2f}; "
          f"minimum cosine between the two builds' passage vectors: {cosine:.6f}")


if __name__ == "__main__":
    main()
