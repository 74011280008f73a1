"""The embedding step of a build: one model pass per passage, reuse by a digest of the exact input,
and a checkpoint that lets a killed build resume.

Each passage becomes an `EmbedJob`: the text the model sees (the passage, after its document's title)
and the character spans of its sentences inside that text (pieces of a sentence cut across passages are
clipped to the passage). One forward pass gives the passage vector and, pooled over each span's tokens,
the sentence vectors used to mark answers ("late chunking"). A job's `key` digests the model, the
splitter version, the text and the spans: equal keys give equal vectors, so a vector is computed once per
key and reused from the previous generation or the checkpoint whenever the key is there.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from qa import config
from qa.model.embedder import Embedder

#: Bytes of a job key.
KEY_BYTES = 16
CHECKPOINT_PREFIX = "chunk-"
#: Passages embedded between two progress reports.
PROGRESS_EVERY = 64


@dataclass(frozen=True)
class EmbedJob:
    """One passage's input to the model, and the sentence spans to pool inside it."""

    text: str
    spans: tuple[tuple[int, int], ...]
    key: bytes


@dataclass(frozen=True)
class Vectors:
    """A passage vector and its sentence vectors (row per span)."""

    vector: np.ndarray      # (dimension,) float32
    sentences: np.ndarray   # (spans, dimension) float16


def job(text: str, spans: Iterable[tuple[int, int]], salt: str) -> EmbedJob:
    """The job for `text` with `spans`; `salt` names everything else that shapes the vectors (model...)."""
    spans = tuple((int(s), int(e)) for s, e in spans)
    digest = hashlib.blake2b(digest_size=KEY_BYTES)
    digest.update(salt.encode())
    digest.update(b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(np.asarray(spans, dtype=np.int64).tobytes())
    return EmbedJob(text, spans, digest.digest())


def salt(fingerprint: str | None, quantization: str) -> str:
    """What, besides a job's text and spans, decides its vectors."""
    return f"model={fingerprint}|quantization={quantization}|splitter={config.SPLITTER_VERSION}"


def checkpoint_name(salt_text: str) -> str:
    """The scratch folder of builds with this salt: kept after a killed build for the next one to resume."""
    return ".scratch-" + hashlib.blake2b(salt_text.encode(), digest_size=6).hexdigest()


# --- the checkpoint ---------------------------------------------------------------------------------------


def load_checkpoint(folder: Path) -> dict[bytes, Vectors]:
    """Every vector a killed build of the same salt wrote to `folder` (damaged chunks are ignored)."""
    found: dict[bytes, Vectors] = {}
    for path in sorted(folder.glob(f"{CHECKPOINT_PREFIX}*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors, counts, sentences = (data["keys"], data["vectors"], data["counts"], data["sentences"])
            if len(keys) != len(vectors) or len(counts) != len(keys) or int(counts.sum()) != len(sentences):
                continue
        except (OSError, ValueError, KeyError):
            continue
        ends = np.cumsum(counts)
        for key, vector, end, count in zip(keys, vectors, ends, counts):
            found[bytes(key).ljust(KEY_BYTES, b"\0")] = Vectors(vector, sentences[end - count : end])  # numpy drops trailing NULs
    return found


def write_checkpoint(folder: Path, number: int, keys: list[bytes], results: list[Vectors]) -> None:
    """One chunk of embedded jobs, written whole or not at all."""
    temporary = folder / f".{CHECKPOINT_PREFIX}{number:06d}.tmp.npz"
    with open(temporary, "wb") as handle:
        np.savez(
            handle,
            keys=np.asarray(keys, dtype=f"S{KEY_BYTES}"),
            vectors=np.stack([r.vector for r in results]).astype(np.float32),
            counts=np.asarray([len(r.sentences) for r in results], dtype=np.int64),
            sentences=np.concatenate([r.sentences for r in results]).astype(np.float16),
        )
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / f"{CHECKPOINT_PREFIX}{number:06d}.npz")


# --- embedding --------------------------------------------------------------------------------------------


def embed_jobs(
    jobs: list[EmbedJob],
    known: dict[bytes, Vectors],
    make_embedder: Callable[[], Embedder],
    checkpoint: Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[bytes, Vectors], int]:
    """Vectors for every job's key: those in `known`, the rest embedded (each key once, longest text
    first, checkpointed every config.CHECKPOINT_EVERY jobs). Returns them and how many jobs were embedded."""
    todo: dict[bytes, EmbedJob] = {}
    for item in jobs:
        if item.key not in known and item.key not in todo:
            todo[item.key] = item
    results = dict(known)
    if not todo:
        return results, 0
    embedder = make_embedder()
    pending = sorted(todo.values(), key=lambda item: -len(item.text))
    number = len(list(checkpoint.glob(f"{CHECKPOINT_PREFIX}*.npz"))) if checkpoint else 0
    done = 0
    if progress:
        progress(0, len(pending))
    unsaved: list[tuple[bytes, Vectors]] = []
    for first in range(0, len(pending), PROGRESS_EVERY):
        chunk = pending[first : first + PROGRESS_EVERY]
        embedded = list(zip((item.key for item in chunk), _embed(embedder, chunk)))
        results.update(embedded)
        unsaved += embedded
        done += len(chunk)
        if checkpoint is not None and (len(unsaved) >= config.CHECKPOINT_EVERY or done == len(pending)):
            write_checkpoint(checkpoint, number, [k for k, _ in unsaved], [v for _, v in unsaved])
            number += 1
            unsaved = []
        if progress:
            progress(done, len(pending))
    return results, len(pending)


def _embed(embedder: Embedder, chunk: list[EmbedJob]) -> list[Vectors]:
    """One model pass per text when the embedder pools spans itself; otherwise the spans' texts are
    embedded separately (an embedder with only `encode`, such as a remote one)."""
    texts = [item.text for item in chunk]
    spans = [list(item.spans) for item in chunk]
    encode_spans = getattr(embedder, "encode_spans", None)
    if encode_spans is not None:
        vectors, span_vectors = encode_spans(texts, spans, batch_size=config.BATCH_SIZE,
                                             **_token_budget(encode_spans))
    else:
        vectors = embedder.encode(texts, batch_size=config.BATCH_SIZE)
        pieces = [item.text[s:e] for item in chunk for s, e in item.spans]
        flat = embedder.encode(pieces, batch_size=config.BATCH_SIZE) if pieces else np.zeros((0, vectors.shape[1]))
        ends = np.cumsum([len(item.spans) for item in chunk])
        span_vectors = [flat[end - len(item.spans) : end] for end, item in zip(ends, chunk)]
    return [Vectors(np.asarray(v, dtype=np.float32), np.asarray(s, dtype=np.float16))
            for v, s in zip(vectors, span_vectors)]


def _token_budget(method: Callable[..., object]) -> dict[str, int]:
    """`batch_tokens` for embedders that take it."""
    import inspect

    return {"batch_tokens": config.BATCH_TOKENS} if "batch_tokens" in inspect.signature(method).parameters else {}
