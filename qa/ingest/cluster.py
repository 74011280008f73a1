"""Embedding on a running dask.distributed cluster: batches of texts go to the workers, vectors come back in order.

Reading, splitting and writing stay on this machine; only `encode` is distributed. The workers must have
`qa` installed (`pip install 'qa[cluster]'`) and the same model as this machine (same fingerprint). They run
this machine's own ONNX export of the model, sent to them once per build, so their vectors are the ones a
local build would make; without an export they load the model with sentence-transformers.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import shutil
import socket
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from qa import config
from qa.model.embedder import ONNX_FILES, Embedder, SentenceTransformerEmbedder, fingerprint
from qa.errors import ClusterError, QAError, UsageError


#: The address schemes of Dask's comms that reach another machine (ucx needs ucx-py; inproc is in-process).
SCHEMES = ("tcp", "tls", "ws", "wss")


def check_address(address: str) -> None:
    """Raise UsageError unless `address` has the form of a Dask scheduler's address: [SCHEME://]HOST:PORT.

    Only the form is checked (nothing is imported or connected): `reach` says whether a scheduler answers."""
    problem = _address_problem(address)
    if problem:
        raise UsageError(f"--cluster {address!r} is not a Dask scheduler address ({problem}); "
                         "give the one dask scheduler prints, like tcp://HOST:8786.")


def _address_problem(address: str) -> str | None:
    if not isinstance(address, str) or not address.strip():
        return "it is empty"
    if any(c.isspace() or not c.isprintable() for c in address):
        return "it holds spaces or control characters"
    scheme, separator, rest = address.partition("://")
    if not separator:
        scheme, rest = "tcp", address
    if scheme.lower() not in SCHEMES:
        return f"unknown scheme {scheme!r}; use {', '.join(s + '://' for s in SCHEMES)}"
    if rest.startswith("["):
        host, bracket, port = rest[1:].partition("]")
        if not bracket or not port.startswith(":"):
            return "an IPv6 address is written [ADDRESS]:PORT"
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        port = port[1:]
    else:
        host, colon, port = rest.rpartition(":")
        if not colon:
            return "no :PORT after the host; a scheduler listens on 8786 unless told otherwise"
        if not host:
            return "no host"
        if ":" in host:
            return "an IPv6 address is written in brackets: tcp://[ADDRESS]:PORT"
        if not re.fullmatch(r"[A-Za-z0-9._-]+", host):
            return f"{host!r} is not a host name or IP address"
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        return f"the port {port!r} is not a number from 1 to 65535"
    return None


def reach(address: str, seconds: float | None = None) -> None:
    """Raise ClusterError unless a Dask scheduler answers at `address` within `seconds` (default
    config.CLUSTER_CONNECT_SECONDS): nothing listening, a listener that does not speak Dask's protocol
    (an HTTP server...) and a Dask process that is not a scheduler each fail in one line, in that time."""
    import asyncio
    import threading

    try:
        from distributed.comm import connect
        from distributed.security import Security
    except ImportError:
        raise UsageError("--cluster needs Dask: pip install 'qa[cluster]' (here and on every worker).") from None

    limit = float(config.CLUSTER_CONNECT_SECONDS if seconds is None else seconds)
    start = "Start one with: dask scheduler (and workers with: dask worker ADDRESS)"
    connected = threading.Event()
    scheme, separator, rest = address.partition("://")
    if not separator or scheme.lower() == "tcp":   # whether anything listens, told apart from what answers
        host, _, port = (rest if separator else address).rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=limit).close()
        except OSError as error:
            reason = f"no answer in {limit:g} s" if isinstance(error, TimeoutError) else (error.strerror or str(error))
            raise ClusterError(f"Cannot reach the Dask scheduler at {address} ({reason}). {start}") from None
        connected.set()
    outcome: list[Any] = []

    async def ask() -> Any:
        # connect() bounds the TCP connection by its timeout but then reads Dask's handshake without one:
        # the whole exchange is bounded here instead.
        comm = await connect(address, timeout=limit, **Security().get_connection_args("client"))
        connected.set()
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def run() -> None:   # in a thread of its own: the caller may be running an event loop already
        try:
            outcome.append(asyncio.run(asyncio.wait_for(ask(), limit)))
        except BaseException as error:  # noqa: BLE001 - reported below, in the caller's thread
            outcome.append(error)

    thread = threading.Thread(target=run, name="qa-cluster-probe", daemon=True)
    thread.start()
    thread.join(limit + 5)   # wait_for ends it after `limit`; the margin only covers a stuck cancellation
    answer = outcome[0] if outcome else TimeoutError()
    if isinstance(answer, BaseException) and not connected.is_set():
        reason = f"no answer in {limit:g} s" if isinstance(answer, TimeoutError) else _first_line(answer)
        raise ClusterError(f"Cannot reach the Dask scheduler at {address} ({reason}). {start}")
    if isinstance(answer, BaseException):
        how = f"no answer in {limit:g} s" if isinstance(answer, TimeoutError) else "it broke off the exchange"
        raise ClusterError(f"Something listens at {address} but it does not speak Dask's protocol ({how}). "
                           "Check the scheduler's address and port: dask scheduler prints them.")
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        what = (f"is a Dask {kind[:40]}, not a scheduler" if isinstance(kind, str)
                else "speaks Dask's protocol but is not a scheduler")
        raise ClusterError(f"{address} {what}. Give the scheduler's address (dask scheduler prints it), "
                           "not a worker's.")


class ClusterEmbedder:
    """An Embedder whose `encode` maps batches of texts over the workers of a Dask cluster."""

    def __init__(self, address: str, model: str, onnx_folder: Path | None = None,
                 texts_per_task: int = config.CLUSTER_TEXTS_PER_TASK) -> None:
        check_address(address)
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--cluster needs Dask: pip install 'qa[cluster]' (here and on every worker).") from None
        # Made once a scheduler answered: a Client waits forever on a mute listener, and a failed one blocks exit 20 s.
        reach(address)
        try:
            self._client = Client(address, timeout=config.CLUSTER_CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"Cannot reach the Dask scheduler at {address} ({_first_line(error)}). "
                               "Start one with: dask scheduler (and workers with: dask worker ADDRESS)") from None
        weakref.finalize(self, self._client.close)
        try:   # closed now if refused: a held traceback would keep the client reconnecting from its own thread
            self._start(model, address, onnx_folder, texts_per_task)
        except BaseException:
            self._client.close()
            raise

    def _start(self, model: str, address: str, onnx_folder: Path | None, texts_per_task: int) -> None:
        self.name, self.address, self.texts_per_task = model, address, texts_per_task
        self._check_workers(fingerprint(model))
        payload: dict[str, Any] = {"model": model, "files": None, "key": f"st:{model}"}
        if onnx_folder is not None:
            files = {name: (onnx_folder / name).read_bytes() for name in ONNX_FILES}
            # The graph and its config (which names the weights file the graph leaves out, with its checksum).
            payload.update(files=files, key=hashlib.sha256(files["model.onnx"] + files["embedder.json"]).hexdigest()[:16])
            self.dimension = int(json.loads(files["embedder.json"])["dimension"])
        self._payload_data = payload
        self._payload = self._send_model()
        if onnx_folder is None:
            self.dimension = int(self._client.submit(_encode, ["dimension"], None, self._payload, 1, pure=False)
                                 .result().shape[1])

    def _send_model(self) -> Any:
        """The model on every worker, as a future each task names (so a worker that joins late gets it too)."""
        return self._client.scatter([self._payload_data], broadcast=True, hash=False)[0]

    def _check_workers(self, local: str) -> None:
        """Every worker's model must have this machine's fingerprint."""
        workers = self._client.scheduler_info().get("workers", {})
        if not workers:
            raise ClusterError(f"The Dask cluster at {self.address} has no workers. Start some with: "
                               f"dask worker {self.address}")
        theirs = self._client.run(_worker_fingerprint, self.name)
        wrong = {worker: found for worker, found in theirs.items() if found != local}
        if wrong:
            worker, found = sorted(wrong.items())[0]
            raise ClusterError(
                f"{len(wrong)} of {len(theirs)} Dask workers have another model {self.name} than this machine "
                f"(worker {worker}: {found}; here: fingerprint {local}). Install the same model on every worker.")

    def encode(self, texts: list[str], batch_size: int = config.BATCH_SIZE) -> np.ndarray:
        """Vectors of `texts`, in order, embedded by the workers (a lost worker's tasks are run again)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        results = self._run([(chunk, None) for chunk in self._chunks(texts)], batch_size)
        return np.vstack(results).astype(np.float32, copy=False)

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = config.BATCH_SIZE,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of `texts` and of the character `spans` inside each, from the same forward pass on a
        worker (as the local build's late chunking makes them), in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        jobs: list[tuple[list[str], list[list[tuple[int, int]]] | None]] = list(
            zip(self._chunks(texts), self._chunks(spans)))
        results = self._run(jobs, batch_size)
        vectors = np.vstack([r[0] for r in results]).astype(np.float32, copy=False)
        return vectors, [span_vectors for r in results for span_vectors in r[1]]

    def _chunks(self, items: list[Any]) -> list[list[Any]]:
        return [items[i : i + self.texts_per_task] for i in range(0, len(items), self.texts_per_task)]

    def _run(self, jobs: list[tuple[list[str], list[list[tuple[int, int]]] | None]], batch_size: int) -> list[Any]:
        """`_encode` over the jobs on the workers, in order; a lost worker's jobs are sent again."""
        results: list[Any] = [None] * len(jobs)
        failure: BaseException | None = None
        for _ in range(config.CLUSTER_RETRIES + 1):
            todo = [i for i, result in enumerate(results) if result is None]
            if not todo:
                break
            if failure is not None:   # a lost worker can take the model with it: send it again
                self._payload = self._send_model()
            futures = self._client.map(_encode, [jobs[i][0] for i in todo], [jobs[i][1] for i in todo],
                                       payload=self._payload, texts_per_batch=batch_size, pure=False,
                                       retries=config.CLUSTER_RETRIES)
            for i, future in zip(todo, futures):
                try:
                    results[i] = future.result()
                except Exception as error:  # a lost worker, cancelled or failed tasks: run them again
                    failure = error
        if any(result is None for result in results):
            raise ClusterError(f"The Dask workers could not embed ({_first_line(failure or ValueError())}); "
                               "check the workers' logs, then run qa index again.")
        return results

    def close(self) -> None:
        self._client.close()


# --- run on the workers ------------------------------------------------------------------------

_WORKER_EMBEDDERS: dict[str, Embedder] = {}


def _worker_fingerprint(model: str) -> str:
    try:
        return fingerprint(model)
    except QAError as error:
        return f"no model ({error})"


def _encode(texts: list[str], spans: list[list[tuple[int, int]]] | None, payload: dict[str, Any],
            texts_per_batch: int) -> Any:
    """On a worker: embed `texts` with the model in `payload` (loaded once per worker process); with
    `spans`, also the spans' vectors from the same pass, as `(vectors, span vectors)`."""
    embedder = _WORKER_EMBEDDERS.get(payload["key"])
    if embedder is None:
        if payload["files"] is None:
            embedder = SentenceTransformerEmbedder(payload["model"])
        else:
            from qa.model.onnx import OnnxEmbedder

            folder = Path(tempfile.mkdtemp(prefix="qa-worker-model-"))
            try:
                for name, data in payload["files"].items():
                    (folder / name).write_bytes(data)
                embedder = OnnxEmbedder(folder, threads=_worker_threads())   # loaded: the files can go
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        _WORKER_EMBEDDERS[payload["key"]] = embedder
    if spans is not None:
        encode_spans = getattr(embedder, "encode_spans", None)
        if encode_spans is not None:
            return encode_spans(texts, spans, batch_size=texts_per_batch)
        vectors = embedder.encode(texts, batch_size=texts_per_batch)
        pieces = [[text[s:e] for s, e in found] for text, found in zip(texts, spans)]
        return vectors, [embedder.encode(p, batch_size=texts_per_batch) if p else
                         np.zeros((0, vectors.shape[1]), np.float32) for p in pieces]
    return embedder.encode(texts, batch_size=texts_per_batch)


def _worker_threads() -> int | None:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
