"""The tokenizer and the ONNX embedder builds use, kept loaded from one build to the next by a caller that
builds again and again (`qa index --watch`, `qa serve` watching): loading them took a second of each update.

Nothing is kept unless the caller keeps a `Models` and passes it to every build.
"""

from __future__ import annotations

from pathlib import Path

from qa.ingest.split import TokenCounter
from qa.model.embedder import Embedder, onnx_embedder, token_counter


class Models:
    """One word-piece counter and one ONNX embedder, each for one model fingerprint (and quantization):
    another model, or one without a fingerprint, is loaded anew."""

    def __init__(self) -> None:
        self._counter: tuple[tuple[str, str], TokenCounter] | None = None
        self._embedder: tuple[tuple[str, str, str], Embedder] | None = None

    def counter(self, model: str, fingerprint: str | None) -> TokenCounter:
        """The model's word-piece counter."""
        if fingerprint is None:
            return token_counter(model)
        if self._counter is None or self._counter[0] != (model, fingerprint):
            self._counter = ((model, fingerprint), token_counter(model))
        return self._counter[1]

    def embedder(self, model: str, fingerprint: str | None, quantization: str, onnx_folder: Path) -> Embedder:
        """The ONNX embedder of the export in `onnx_folder`; the one loaded before when that was made from the
        same model and quantization (the export is then the same: each generation's copy is checksummed)."""
        if fingerprint is None:
            return onnx_embedder(onnx_folder)
        key = (model, fingerprint, quantization)
        if self._embedder is None or self._embedder[0] != key:
            self._embedder = (key, onnx_embedder(onnx_folder))
        return self._embedder[1]
