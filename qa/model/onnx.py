"""Running an ONNX export of a sentence-transformers model with onnxruntime: texts in, vectors out, no torch.

    embedder = OnnxEmbedder(folder)          # a folder qa.model.export wrote; needs onnxruntime only
    vectors = embedder.encode(["What did BGI Genomics set up in Uruguay?"])

The folder's files are described in qa.model.layout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from qa.model.layout import CONFIG_FILE, MODEL_FILE, POOLING_MODES, READ_FORMATS, TOKENIZER_FILE
from qa.model.weights import WeightsReference


def _import_onnxruntime() -> None:
    """Import onnxruntime with its telemetry off. onnxruntime (1.2x and later) writes a device id and a telemetry
    database under ~/.cache/Microsoft, and a session file in $TMPDIR, when it is imported unless
    ORT_DISABLE_TELEMETRY is set then; qa writes nothing outside its index. The variable is set for the
    import only and restored exactly after it (the environment is the process's, not qa's)."""
    before = os.environ.get("ORT_DISABLE_TELEMETRY")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
    finally:
        if before is None:
            os.environ.pop("ORT_DISABLE_TELEMETRY", None)
    onnxruntime.disable_telemetry_events()   # also when the host program imported onnxruntime before qa did


_import_onnxruntime()
import onnxruntime as ort  # noqa: E402
from tokenizers import Encoding, Tokenizer  # noqa: E402


class OnnxEmbedder:
    """An exported model run by onnxruntime: texts in, L2-normalised float32 vectors out."""

    def __init__(self, folder: Path, threads: int | None = None, spin: bool = True) -> None:
        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("format") not in READ_FORMATS:
            raise ValueError(f"{folder / CONFIG_FILE} has format {config.get('format')}, expected one of {READ_FORMATS}")
        if config["pooling"] not in POOLING_MODES:
            raise ValueError(f"pooling mode {config['pooling']!r} is not supported")
        self.folder = folder
        self.max_seq_length: int = int(config["max_seq_length"])
        self.pooling: str = config["pooling"]
        self.input_names: list[str] = list(config["input_names"])
        self._dimension = int(config["dimension"])
        self._lower = bool(config.get("do_lower_case", False))

        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer.no_padding()          # batches are padded by _forward, to their own longest text
        self._pad_id = int(config.get("pad_id", 0))
        self._pad_type_id = int(config.get("pad_type_id", 0))

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads if threads and threads > 0 else (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if not spin:
            # For questions: threads sleep between calls instead of spinning. A question's path does Python
            # work after its embedding, and spinning threads took both cores from it (qa serve /ask p50 50 ->
            # 16-23 ms at load 6). A build keeps spinning: it calls the model back to back.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The model's own weights, when the graph names them instead of holding them (kept alive: the
        # session uses these arrays).
        self._weights: list[ort.OrtValue] = []
        if "weights" in config:
            arrays = WeightsReference.from_json(config["weights"]).load()
            self._weights = [ort.OrtValue.ortvalue_from_numpy(array) for array in arrays.values()]
            options.add_external_initializers(list(arrays), self._weights)
        self._session = ort.InferenceSession(
            str(folder / MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._output_name: str = config.get("output_name", "last_hidden_state")

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._dimension

    def encode(self, texts: list[str], batch_size: int = 32, batch_tokens: int | None = None) -> np.ndarray:
        """The (len(texts), dimension) float32 L2-normalised embeddings of `texts`, in order."""
        return self.encode_spans(texts, [[] for _ in texts], batch_size, batch_tokens)[0]

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32,
        batch_tokens: int | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embeddings of `texts`, and of character spans inside each text from the same forward pass.

        A span's vector is the L2-normalised mean of the token embeddings of the tokens it overlaps
        ("late chunking": each span is seen in the context of its whole text). A span whose tokens were
        all cut off by the model's length limit gets its text's vector. Texts run in batches of similar
        token length, at most `batch_size` texts and about `batch_tokens` tokens (padding included) each.
        """
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        span_vectors = [np.zeros((len(s), self._dimension), dtype=np.float32) for s in spans]
        if not texts:
            return vectors, span_vectors
        encodings = self._tokenizer.encode_batch([text.lower() for text in texts] if self._lower else texts)
        for chunk in token_batches([len(e.ids) for e in encodings], max(1, int(batch_size)), batch_tokens):
            hidden, mask = self._forward([encodings[i] for i in chunk])
            pooled = hidden[:, 0, :] if self.pooling == "cls" else _masked_mean(hidden, mask)
            vectors[chunk] = _normalised(pooled)
            for position, i in enumerate(chunk):
                if spans[i]:
                    span_vectors[i] = _span_means(hidden[position], encodings[i], spans[i], vectors[i])
        return vectors, span_vectors

    def _forward(self, encodings: list[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """The model's last hidden state for one batch padded to its longest text, and the mask."""
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._pad_id, dtype=np.int64)
        types = np.full((len(encodings), length), self._pad_type_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            types[row, :n] = encoding.type_ids
            mask[row, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run([self._output_name], {name: feeds[name] for name in self.input_names})[0]
        return hidden, mask


def token_batches(lengths: list[int], batch_size: int, batch_tokens: int | None) -> list[list[int]]:
    """Indexes grouped into batches of similar length: longest first, at most `batch_size` items and
    (when given) at most `batch_tokens` tokens counting the padding to each batch's longest item."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        if current and (len(current) >= batch_size or (batch_tokens and longest * (len(current) + 1) > batch_tokens)):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _masked_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask.astype(np.float32)
    summed = np.einsum("bsd,bs->bd", hidden, weights)
    return summed / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _span_means(hidden: np.ndarray, encoding: Encoding, spans: list[tuple[int, int]], fallback: np.ndarray) -> np.ndarray:
    """Normalised mean token embedding of each character span (special tokens excluded)."""
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    ordinary = np.asarray(encoding.special_tokens_mask, dtype=bool) == 0
    out = np.empty((len(spans), hidden.shape[-1]), dtype=np.float32)
    for k, (start, end) in enumerate(spans):
        inside = ordinary & (offsets[:, 0] < end) & (offsets[:, 1] > start)
        out[k] = hidden[: len(offsets)][inside].mean(axis=0) if inside.any() else fallback
    return _normalised(out)
