"""Embedding on a real Dask LocalCluster (worker processes on 127.0.0.1): same vectors, a lost worker survived;
`qa index --cluster` listens on nothing and connects to the scheduler only; a malformed address is misuse,
and a listener that is not a Dask scheduler fails in one line (issue 23)."""

from __future__ import annotations

import fcntl
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from qa import Index, config  # noqa: E402
from qa.errors import UsageError  # noqa: E402
from qa.ingest.cluster import ClusterError, check_address, reach  # noqa: E402
from tests.conftest import REPO, SEEDS, run_qa  # noqa: E402


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


def test_a_cluster_build_listens_on_nothing_and_talks_only_to_the_scheduler(cluster, fake_model: Path,
                                                                              tmp_path: Path):
    """`qa index --cluster ADDRESS`, in a process of its own: while it embeds, it (and the reader processes it
    starts) listen on no port, and every connection it makes goes to the scheduler it was given, which
    embedded the passages. (Any address is allowed, remote machines are what a cluster is for: the
    fixture's own processes are on 127.0.0.1, and so is every connection qa makes here.)"""
    import psutil

    local_cluster, client = cluster
    scheduler = local_cluster.scheduler_address
    host, port = scheduler.removeprefix("tcp://").rsplit(":", 1)
    before = client.run(_models_loaded)
    build = subprocess.Popen(
        [sys.executable, "-m", "qa.ui.cli", "index", str(edited_corpus(tmp_path)), "--index", str(tmp_path / "ix"),
         "--model", str(fake_model), "--cluster", scheduler],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    listening, remote = set(), set()
    qa_process = psutil.Process(build.pid)
    while build.poll() is None:   # sampled for the whole build (no time is asserted)
        try:
            for process in (qa_process, *qa_process.children(recursive=True)):
                for connection in process.net_connections("inet"):
                    if connection.status == psutil.CONN_LISTEN:
                        listening.add(connection.laddr)
                    elif connection.raddr:
                        remote.add((connection.raddr.ip, connection.raddr.port))
        except psutil.Error:   # a process that ended between the listing and the look
            pass
        time.sleep(0.02)
    stdout, stderr = build.communicate()
    assert build.returncode == 0 and re.search(r"(\d+) passages, \1 embedded", stdout), (stdout, stderr)
    assert not listening, f"qa listened on {listening}"
    assert remote == {(host, int(port))}, f"qa connected to {remote}, not only to the scheduler {scheduler}"
    after = client.run(_models_loaded)
    assert sum(after.values()) > sum(before.values()), "the workers loaded no model: nothing was embedded there"


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
    assert np.min(sentences) >= 0.997   # stored as int8 with a scale per row, each side rounded on its own
    assert local.embedded == remote.embedded


def test_workers_with_another_model_are_refused_in_one_line(cluster, seeds_index: Path, tmp_path: Path):
    local_cluster, client = cluster
    worker = sorted(client.scheduler_info()["workers"])[0]
    client.run(_pretend_another_model, workers=[worker])
    clients = set(local_cluster.scheduler.clients)
    try:
        with pytest.raises(ClusterError, match=r"^1 of 2 Dask workers have another model .*same model") as error:
            build(seeds_index, edited_corpus(tmp_path), tmp_path / "ix", cluster[0].scheduler_address)
        assert "\n" not in str(error.value)
        # The refused build's client is closed, though its traceback is still held here: a client left open
        # goes on calling the scheduler from a thread of its own, into the tests that follow.
        assert set(local_cluster.scheduler.clients) == clients
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


def _models_loaded() -> int:
    import qa.ingest.cluster

    return len(qa.ingest.cluster._WORKER_EMBEDDERS)


def _restore_model() -> None:
    import qa.ingest.cluster

    qa.ingest.cluster._worker_fingerprint = qa.ingest.cluster._real_fingerprint


@pytest.mark.parametrize("address, problem", [
    ("foo://x:8786", "unknown scheme 'foo'"), ("inproc://x", "unknown scheme 'inproc'"),
    ("tcp://127.0.0.1:notaport", "the port 'notaport' is not a number"), ("tcp://h:99999", "the port '99999'"),
    ("tcp://h:0", "the port '0'"), ("tcp://h:8786/", "the port '8786/'"), ("tcp://", "no :PORT"), ("h", "no :PORT"),
    (":8786", "no host"), ("tcp://::1:8786", "in brackets"), ("tcp://[nothing]:8786", "not an IPv6 address"),
    ("tcp://host name:1", "spaces or control"), ("tcp://h:1\nx", "spaces or control"), ("", "empty"),
    ("tcp://h/x:1", "not a host name"),
])
def test_a_malformed_address_is_misuse_in_one_line(address: str, problem: str):
    with pytest.raises(UsageError, match="is not a Dask scheduler address") as error:
        check_address(address)
    assert problem in str(error.value) and "\n" not in str(error.value) and error.value.exit_code == 2


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tcp://[::1]:8786",
                                     "tls://sched.lan:8786", "ws://my-host.example:80", "TCP://h:1"])
def test_a_well_formed_address_passes(address: str):
    check_address(address)


def test_a_malformed_address_exits_2_at_once_without_a_blocked_exit(tmp_path: Path, fake_model: Path):
    """Dask's Client, made for a bad address, blocked 20 s at exit and printed an ignored-exception traceback."""
    result = run_qa("index", str(SEEDS), "--index", str(tmp_path / "ix"), "--model", str(fake_model),
                    "--cluster", "tcp://127.0.0.1:notaport")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --cluster 'tcp://127.0.0.1:notaport' is not a Dask scheduler address")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr   # no "Exception ignored in Client.__del__"
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.fixture()
def http_listener():
    """An HTTP server on 127.0.0.1 (as python -m http.server runs one): it accepts, then waits for a request line."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def lock_is_free(index_dir: Path) -> bool:
    with open(index_dir / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_a_listener_that_is_not_dask_fails_in_one_line_and_frees_the_lock(
        http_listener: str, fake_seeds_index: Path, tmp_path: Path, fake_model: Path, monkeypatch):
    """It hung with no output, holding the index lock (Dask reads its handshake without a timeout)."""
    monkeypatch.setattr(config, "CLUSTER_CONNECT_SECONDS", 1)
    index_dir = tmp_path / "ix"
    shutil.copytree(fake_seeds_index, index_dir)
    current = (index_dir / "CURRENT").read_text()
    failure: list[BaseException] = []

    def build_there() -> None:
        try:
            Index.build([edited_corpus(tmp_path)], index_dir, model=str(fake_model), cluster=http_listener)
        except BaseException as error:  # noqa: BLE001
            failure.append(error)

    builder = threading.Thread(target=build_there, daemon=True)
    builder.start()
    builder.join(timeout=120)   # a watchdog only: a hang fails here instead of stalling the run
    assert not builder.is_alive(), "the build hung on a listener that is not a Dask scheduler"
    assert isinstance(failure[0], ClusterError), failure
    message = str(failure[0])
    assert message.startswith(f"Something listens at {http_listener} but it does not speak Dask's protocol")
    assert "\n" not in message
    assert lock_is_free(index_dir)
    assert (index_dir / "CURRENT").read_text() == current


def test_a_cluster_that_cannot_embed_leaves_no_scratch_folder(http_listener: str, fake_seeds_index: Path,
                                                              tmp_path: Path, fake_model: Path, monkeypatch):
    monkeypatch.setattr(config, "CLUSTER_CONNECT_SECONDS", 1)
    index_dir = tmp_path / "ix"
    shutil.copytree(fake_seeds_index, index_dir)
    before = sorted(p.name for p in index_dir.iterdir())
    with pytest.raises(ClusterError):
        Index.build([edited_corpus(tmp_path)], index_dir, model=str(fake_model), cluster=http_listener)
    assert sorted(p.name for p in index_dir.iterdir()) == before


def test_nothing_listening_fails_at_once_and_a_worker_is_not_a_scheduler(cluster):
    import socket

    with socket.socket() as probe:   # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with pytest.raises(ClusterError, match=rf"^Cannot reach the Dask scheduler at tcp://127.0.0.1:{free} "
                                           r"\(Connection refused\)\. Start one with: dask scheduler"):
        reach(f"tcp://127.0.0.1:{free}")
    local_cluster, _ = cluster
    reach(local_cluster.scheduler_address, 5)
    worker = sorted(local_cluster.workers.values(), key=str)[0].worker_address
    with pytest.raises(ClusterError, match=r" is a Dask Worker, not a scheduler\. Give the scheduler's address"):
        reach(worker, 5)
