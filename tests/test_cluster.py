"""Embedding on a real Dask LocalCluster (worker processes on 127.0.0.1): same vectors, a lost worker survived."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from qa import Index, config  # noqa: E402
from qa.ingest.cluster import ClusterError  # noqa: E402
from tests.conftest import SEEDS  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and a scheduler, all on 127.0.0.1, no dashboard."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local, distributed.Client(local) as client:
        yield local, client


def edited_corpus(tmp_path: Path, copies: int = 1) -> Path:
    """The seeds (`copies` times, each file under a new first line, which is the title given to the model with
    every passage), so every passage must be embedded."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for copy in range(copies):
        for source in sorted(SEEDS.iterdir()):
            (docs / f"{copy}-{source.name}").write_text(f"Copy {copy} of {source.name}\n\n{source.read_text()}")
    return docs


def build(seeds_index: Path, docs: Path, index_dir: Path, cluster: str | None = None):
    shutil.copytree(seeds_index, index_dir)   # the model's export is linked from here, not redone
    return Index.build([docs], index_dir, cluster=cluster)


def test_nothing_listens_beyond_loopback(cluster):
    import psutil

    me = psutil.Process()
    listening = [c.laddr for p in (me, *me.children(recursive=True)) for c in p.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(address.ip == "127.0.0.1" for address in listening), listening


def test_a_cluster_build_survives_a_lost_worker_and_equals_a_local_build(cluster, seeds_index: Path, tmp_path: Path):
    local_cluster, client = cluster
    docs = edited_corpus(tmp_path)
    pids = client.run(os.getpid)
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            busy = [worker for worker, tasks in client.processing().items()
                    if any(str(task).startswith("_encode") for task in tasks)]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    remote = build(seeds_index, docs, tmp_path / "remote", local_cluster.scheduler_address)
    killer.join(timeout=1)
    assert killed, "no worker was killed while it was embedding"
    assert remote.vectors and remote.embedded == remote.passages
    local = build(seeds_index, docs, tmp_path / "local")
    a, b = Index.open(tmp_path / "remote").stored, Index.open(tmp_path / "local").stored
    assert a.all_passages() == b.all_passages()
    assert np.min(np.sum(np.asarray(a.vectors) * np.asarray(b.vectors), axis=1)) >= 0.9999
    sentences = np.sum(np.asarray(a.sentence_vectors, np.float32) * np.asarray(b.sentence_vectors, np.float32), axis=1)
    assert np.min(sentences) >= 0.999   # stored in half precision
    assert local.embedded == remote.embedded


def test_workers_with_another_model_are_refused_in_one_line(cluster, seeds_index: Path, tmp_path: Path):
    _, client = cluster
    worker = sorted(client.scheduler_info()["workers"])[0]
    client.run(_pretend_another_model, workers=[worker])
    try:
        with pytest.raises(ClusterError, match=r"^1 of 2 Dask workers have another model .*same model") as error:
            build(seeds_index, edited_corpus(tmp_path), tmp_path / "ix", cluster[0].scheduler_address)
        assert "\n" not in str(error.value)
    finally:
        client.run(_restore_model, workers=[worker])
    assert Index.open(tmp_path / "ix").stored.folder.name == Index.open(seeds_index).stored.folder.name


def test_an_unreachable_scheduler_is_a_clear_error(seeds_index: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(config, "CLUSTER_CONNECT_SECONDS", 1)
    with pytest.raises(ClusterError, match="Cannot reach the Dask scheduler at tcp://127.0.0.1:9 .*dask scheduler"):
        build(seeds_index, edited_corpus(tmp_path), tmp_path / "ix", "tcp://127.0.0.1:9")


def _pretend_another_model() -> None:
    import qa.ingest.cluster

    qa.ingest.cluster._real_fingerprint = qa.ingest.cluster._worker_fingerprint
    qa.ingest.cluster._worker_fingerprint = lambda model: "0123456789abcdef"


def _restore_model() -> None:
    import qa.ingest.cluster

    qa.ingest.cluster._worker_fingerprint = qa.ingest.cluster._real_fingerprint
