"""Embedding on a running dask.distributed cluster: batches of texts go to the workers, vectors come back in order.

Reading, splitting and writing stay on this machine; only `encode` is distributed. The workers must have
`qa` installed (`pip install 'qa[cluster]'`) and the same model as this machine (same fingerprint). They run
this machine's own ONNX export of the model, sent to them once per build, so their vectors are the ones a
local build would make; without an export they load the model with sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from qa import config
from qa.model.embedder import ONNX_FILES, Embedder, SentenceTransformerEmbedder, fingerprint
from qa.errors import QAError, UsageError


class ClusterError(QAError):
    """The cluster cannot be reached or cannot embed for this index."""


class ClusterEmbedder:
    """An Embedder whose `encode` maps batches of texts over the workers of a Dask cluster."""

    def __init__(self, address: str, model: str, onnx_folder: Path | None = None,
                 texts_per_task: int = config.CLUSTER_TEXTS_PER_TASK) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--cluster needs Dask: pip install 'qa[cluster]' (here and on every worker).") from None
        try:
            self._client = Client(address, timeout=config.CLUSTER_CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"Cannot reach the Dask scheduler at {address} ({_first_line(error)}). "
                               "Start one with: dask scheduler (and workers with: dask worker ADDRESS)") from None
        weakref.finalize(self, self._client.close)
        self.name, self.address, self.texts_per_task = model, address, texts_per_task
        self._check_workers(fingerprint(model))
        payload: dict[str, Any] = {"model": model, "files": None, "key": f"st:{model}"}
        if onnx_folder is not None:
            files = {name: (onnx_folder / name).read_bytes() for name in ONNX_FILES}
            payload.update(files=files, key=hashlib.sha256(files["model.onnx"]).hexdigest()[:16])
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
        jobs = list(zip(self._chunks(texts), self._chunks(spans)))
        results = self._run(jobs, batch_size)
        vectors = np.vstack([r[0] for r in results]).astype(np.float32, copy=False)
        return vectors, [span_vectors for r in results for span_vectors in r[1]]

    def _chunks(self, items: list[Any]) -> list[list[Any]]:
        step = self.texts_per_task
        return [items[i : i + step] for i in range(0, len(items), step)]

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
