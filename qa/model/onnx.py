"""Sentence embeddings from an ONNX export of a sentence-transformers model, without torch at query time.

    folder = export_onnx(model_folder("all-MiniLM-L6-v2"), Path("index/onnx"))  # needs torch, once
    embedder = OnnxEmbedder(folder)                                               # needs onnxruntime only
    vectors = embedder.encode(["What did BGI Genomics set up in Uruguay?"])

The export folder holds `model.onnx` (the transformer, float32), `tokenizer.json` and
`embedder.json` (plain data: sequence length, pooling, input names, dimension).
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

# onnxruntime (1.2x and later) writes a device id and a telemetry database under ~/.cache/Microsoft and a
# session file in $TMPDIR as soon as it is imported, unless this is set first. qa writes nothing outside
# its index, so it is off unless the environment says otherwise.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ort.disable_telemetry_events()   # also when the host program imported onnxruntime before qa did

#: Version of the export folder layout; bump when `embedder.json` changes meaning.
FORMAT_VERSION = 1
#: ONNX opset of the export (17 has LayerNormalization as one op).
OPSET = 17

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "embedder.json"

_KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_POOLING_MODES = ("mean", "cls")


def export_onnx(model_path: str | Path, out_dir: Path) -> Path:
    """Export a (Transformer, Pooling[, Normalize]) sentence-transformers model to `out_dir`; returns `out_dir`.

    Raises ValueError (one line) when the model cannot be reproduced by OnnxEmbedder.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(str(model_path), device="cpu")
    model.eval()
    config = _pipeline_config(model)
    transformer = model[0]
    auto_model = transformer.auto_model
    hf_tokenizer = transformer.tokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _save_tokenizer(hf_tokenizer, Path(model_path), out_dir / TOKENIZER_FILE)

    input_names = list(config["input_names"])
    # A padded batch of two: the trace must see a mask with zeros, or mask handling may be traced away.
    sample = hf_tokenizer(
        ["a short one", "a somewhat longer sentence that forces padding of the first"],
        padding=True,
        truncation=True,
        max_length=config["max_seq_length"],
        return_tensors="pt",
    )
    if "token_type_ids" in input_names and "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    args = tuple(sample[name].to(torch.int64) for name in input_names)

    wrapper = _last_hidden_state_module(auto_model, input_names).eval()
    dynamic_axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    target = out_dir / MODEL_FILE
    with torch.no_grad(), warnings.catch_warnings():
        # Reviewed: the legacy-exporter deprecation, tracer notes on shape checks that are constant for
        # an encoder (no causal mask, no mask padding), and aten::index on non-negative position indices.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            wrapper,
            args,
            str(target),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    config["export_seconds"] = round(time.perf_counter() - started, 2)
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out_dir


def quantize(folder: Path) -> None:
    """Replace the export's model with onnxruntime's dynamic int8 quantisation of it (weights int8,
    activations quantised on the fly); `embedder.json` records it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import logging

    source, target = folder / MODEL_FILE, folder / f"{MODEL_FILE}.int8"
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)      # its advice to pre-process the model is for the user of a library, not ours
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    os.replace(target, source)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    config["quantization"] = "int8"
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _pipeline_config(model: Any) -> dict[str, Any]:
    """The plain-data description of a sentence-transformers pipeline, or ValueError if it is unsupported."""
    modules = [model[i] for i in range(len(model))]
    kinds = [type(module).__name__ for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ValueError(f"unsupported pipeline {kinds}; only Transformer, Pooling[, Normalize] can be exported")
    transformer, pooling = modules[0], modules[1]
    if getattr(model, "default_prompt_name", None):
        raise ValueError(f"the model adds a default prompt ({model.default_prompt_name!r}); not supported")
    auto_model = getattr(transformer, "auto_model", None)
    tokenizer = getattr(transformer, "tokenizer", None)
    if auto_model is None or tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ValueError("the Transformer module has no Hugging Face model with a fast tokenizer")

    mode = _pooling_mode(pooling)
    if mode not in _POOLING_MODES:
        raise ValueError(f"pooling mode {mode!r} is not supported (only {', '.join(_POOLING_MODES)})")
    if getattr(tokenizer, "padding_side", "right") != "right":
        raise ValueError("the tokenizer pads on the left; not supported")

    accepted = inspect.signature(auto_model.forward).parameters
    produced = set(getattr(tokenizer, "model_input_names", _KNOWN_INPUTS))
    input_names = [name for name in _KNOWN_INPUTS if name in accepted and name in produced]
    if input_names[:2] != ["input_ids", "attention_mask"]:
        raise ValueError(f"the transformer takes {sorted(produced)}; input_ids and attention_mask are required")

    dimension = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
    if dimension is None:
        dimension = model.get_sentence_embedding_dimension()
    if not model.max_seq_length:
        raise ValueError("the model sets no max_seq_length")
    max_seq_length = int(model.max_seq_length)
    return {
        "format": FORMAT_VERSION,
        "max_seq_length": max_seq_length,
        "pooling": mode,
        "normalize": kinds[-1] == "Normalize",
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        "input_names": input_names,
        "output_name": "last_hidden_state",
        "dimension": int(dimension),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "opset": OPSET,
    }


def _pooling_mode(pooling: Any) -> str:
    """The pooling mode name of a Pooling module, old (boolean flags) or new (`pooling_mode`) style."""
    mode = getattr(pooling, "pooling_mode", None)
    if isinstance(mode, (list, tuple)):
        return "+".join(str(m) for m in mode) if len(mode) != 1 else str(mode[0])
    if isinstance(mode, str):
        return mode
    if hasattr(pooling, "get_pooling_mode_str"):  # sentence-transformers < 6
        name = str(pooling.get_pooling_mode_str())
        return {"mean_tokens": "mean", "cls_token": "cls"}.get(name, name)
    raise ValueError("cannot read the pooling mode of the Pooling module")


def _save_tokenizer(hf_tokenizer: Any, model_path: Path, target: Path) -> None:
    """Write the tokenizer sentence-transformers actually uses, without its padding/truncation settings."""
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        source = model_path / TOKENIZER_FILE
        if not source.is_file():
            raise ValueError(f"no {TOKENIZER_FILE} in {model_path}")
        shutil.copyfile(source, target)
        return
    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.save(str(target))


def _last_hidden_state_module(auto_model: Any, input_names: list[str]) -> Any:
    """A torch module mapping the named inputs to the transformer's last_hidden_state only."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = auto_model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            output = self.model(**dict(zip(input_names, tensors)), return_dict=True)
            return output.last_hidden_state

    return LastHiddenState()



class OnnxEmbedder:
    """An exported model run by onnxruntime: texts in, L2-normalised float32 vectors out."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("format") != FORMAT_VERSION:
            raise ValueError(f"{folder / CONFIG_FILE} has format {config.get('format')}, expected {FORMAT_VERSION}")
        if config["pooling"] not in _POOLING_MODES:
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

    def _forward(self, encodings: list[Any]) -> tuple[np.ndarray, np.ndarray]:
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


def _span_means(hidden: np.ndarray, encoding: Any, spans: list[tuple[int, int]], fallback: np.ndarray) -> np.ndarray:
    """Normalised mean token embedding of each character span (special tokens excluded)."""
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    ordinary = np.asarray(encoding.special_tokens_mask, dtype=bool) == 0
    out = np.empty((len(spans), hidden.shape[-1]), dtype=np.float32)
    for k, (start, end) in enumerate(spans):
        inside = ordinary & (offsets[:, 0] < end) & (offsets[:, 1] > start)
        out[k] = hidden[: len(offsets)][inside].mean(axis=0) if inside.any() else fallback
    return _normalised(out)
