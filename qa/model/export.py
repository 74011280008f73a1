"""Writing a model's ONNX export into an index: convert a sentence-transformers model (needs torch, once),
quantise it to int8 when asked, and mark the folder complete so a later build can trust and reuse it.

    write_export("all-MiniLM-L6-v2", Path("scratch/onnx"))      # the index's export, checked by a marker
    export_is_complete(Path("scratch/onnx"), "none")             # True: reuse it
    convert_to_onnx(model_folder("all-MiniLM-L6-v2"), out_dir)   # the conversion alone (what a model may ship)

The folder layout is qa.model.layout; qa.model.onnx.OnnxEmbedder runs what is written here.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from qa.model.embedder import model_folder, torch_cache_variable_kept
from qa.model.layout import (CONFIG_FILE, EXPORT_MARKER, FORMAT_VERSION, MODEL_FILE, ONNX_FILES, POOLING_MODES,
                             SHIPPED_EXPORT, TOKENIZER_FILE)
from qa.model.weights import file_crc32, refer_to_weights

if TYPE_CHECKING:
    import torch

#: ONNX opset of the export (17 has LayerNormalization as one op).
OPSET = 17
_KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def write_export(name: str, folder: Path, quantization: str = "none") -> None:
    """Write an ONNX export of the model `name` into `folder`, dynamically quantised to int8 when asked
    (imports torch; raises on any failure). A marker with the files' checksums is written last.

    A model folder that ships its export (SHIPPED_EXPORT) has it copied: plain data, no code is run.
    """
    if quantization not in ("none", "int8"):
        raise ValueError(f"unknown quantization {quantization!r}")
    source = model_folder(name)
    shipped = source / SHIPPED_EXPORT
    if shipped.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        for file in ONNX_FILES:
            shutil.copyfile(shipped / file, folder / file)
    else:
        # torch's compiler cache goes in `folder` (the build's scratch space, removed after the build).
        with torch_cache_variable_kept(folder / "torch-cache"):
            convert_to_onnx(source, folder)
    if quantization == "int8":
        quantize_int8(folder)
    refer_to_weights(folder, name)
    marker = {"quantization": quantization, "files": {n: file_crc32(folder / n) for n in ONNX_FILES}}
    (folder / EXPORT_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def export_is_complete(folder: Path, quantization: str) -> bool:
    """Whether `folder` holds a complete export (as `write_export` wrote it) that is still intact."""
    try:
        marker = json.loads((folder / EXPORT_MARKER).read_text(encoding="utf-8"))
        return bool(marker["quantization"] == quantization and all(
            marker["files"][n] == file_crc32(folder / n) for n in ONNX_FILES))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def convert_to_onnx(model_path: str | Path, out_dir: Path) -> Path:
    """Convert a (Transformer, Pooling[, Normalize]) sentence-transformers model to ONNX in `out_dir`; returns
    `out_dir`. Raises ValueError (one line) when the model cannot be reproduced by OnnxEmbedder."""
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    model.eval()
    config = _pipeline_config(model)
    transformer = model[0]
    auto_model = transformer.auto_model
    hf_tokenizer: Any = transformer.tokenizer   # a transformers tokenizer (torch types it as a Module attribute)

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


def quantize_int8(folder: Path) -> None:
    """Replace the export's model with onnxruntime's dynamic int8 quantisation of it (weights int8 with a
    scale per output channel, activations quantised on the fly); `embedder.json` records it. Per channel,
    not per tensor: on 250 Python-docs passages the vectors' cosine to float32 is 0.993 on average (min
    0.984) instead of 0.941 (min 0.894), at the same speed (1.42x float32 here)."""
    import onnxruntime.quantization
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, target = folder / MODEL_FILE, folder / f"{MODEL_FILE}.int8"
    with _messages_dropped(Path(onnxruntime.quantization.__file__).parent):
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    os.replace(target, source)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    config["quantization"] = "int8"
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


@contextmanager
def _messages_dropped(package: Path) -> Iterator[None]:
    """Inside the block, log records below ERROR written by code under `package` straight to the root
    logger (onnxruntime's quantisation tool calls logging.warning: advice to pre-process the model, for the
    user of that tool, not for qa's users) are dropped; nothing else is. After it the root logger is as it
    was: the filter is removed, and so is the handler logging.warning installs (basicConfig) when the root
    logger had none. Levels are never changed."""
    root = logging.getLogger()
    had_handlers = bool(root.handlers)
    before = list(root.handlers)
    prefix = str(package)

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(prefix)

    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)
        if not had_handlers:
            for handler in [h for h in root.handlers if h not in before]:
                root.removeHandler(handler)


def _pipeline_config(model: Any) -> dict[str, Any]:   # Any: a SentenceTransformer, untyped
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
    if mode not in POOLING_MODES:
        raise ValueError(f"pooling mode {mode!r} is not supported (only {', '.join(POOLING_MODES)})")
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


def _pooling_mode(pooling: Any) -> str:   # Any: a sentence-transformers Pooling module of any version
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


def _save_tokenizer(hf_tokenizer: Any, model_path: Path, target: Path) -> None:   # Any: a transformers tokenizer
    """Write the tokenizer sentence-transformers actually uses, without its padding/truncation settings."""
    from tokenizers import Tokenizer

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


def _last_hidden_state_module(auto_model: Any, input_names: list[str]) -> torch.nn.Module:
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
