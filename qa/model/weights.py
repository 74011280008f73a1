"""The model's weights where the model keeps them: an index's export names tensors of the model's own
`model.safetensors` instead of holding a 90 MB copy of them.

    reference = WeightsReference.from_json(config["weights"])   # from embedder.json (plain data)
    arrays = reference.load()        # {initializer name: array}, checked against the file's size and CRC-32

`refer_to_weights(folder, name)`, called by qa.model.export at build time, writes the reference (every
initializer of the exported graph that equals a tensor of the file, or its transpose);
qa.model.onnx.OnnxEmbedder hands the arrays to onnxruntime, so the vectors are the ones the copy gave,
bit for bit. A safetensors file is a JSON header and raw little-endian arrays,
read here with numpy alone: nothing in it is run.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.model.layout import CONFIG_FILE, FORMAT_VERSION, MODEL_FILE

WEIGHTS_FILE = "model.safetensors"
#: What a graph's referred initializers name as their external file (onnxruntime never reads it: the
#: arrays are handed over in memory; it is not in the index, so loading the graph alone fails plainly).
EXTERNAL_LOCATION = WEIGHTS_FILE
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U8": "u1", "BOOL": "?"}
_HEADER_LIMIT = 100 * 2**20


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, memory-mapped read-only (ValueError when it is not one)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path.name} is not a safetensors file (too short)")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(size - 8, _HEADER_LIMIT):
            raise ValueError(f"{path.name} is not a safetensors file (header length)")
        header = json.loads(handle.read(length).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name} is not a safetensors file (header)")
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length) if size > 8 + length else np.zeros(0, np.uint8)
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
            raise ValueError(f"{path.name}: tensor {name!r} has an unsupported type")
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if (not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape)
                or not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(n, int) for n in offsets)):
            raise ValueError(f"{path.name}: tensor {name!r} has a bad shape or offsets")
        start, end = offsets
        if not 0 <= start <= end <= len(data) or end - start != int(np.prod(shape)) * dtype.itemsize:
            raise ValueError(f"{path.name}: tensor {name!r} lies outside the file or has the wrong length")
        tensors[str(name)] = data[start:end].view(dtype).reshape(shape)
    return tensors


def file_crc32(path: Path) -> int:
    """The CRC-32 of every byte of a file (qa.store.layout.checksum samples large ones; this one never does)."""
    crc = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            crc = zlib.crc32(block, crc)
    return crc


@dataclass(frozen=True)
class WeightsReference:
    """Which tensors of a model's weights file an export's graph uses, and the file they must come from."""

    model: str                                  # the model as the build resolved it: a bundled name, or a folder
    size: int                                   # the weights file's size and CRC-32 when the export was made
    crc32: int
    tensors: dict[str, tuple[str, bool]]        # initializer -> (tensor in the file, stored transposed)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "file": WEIGHTS_FILE, "size": self.size, "crc32": self.crc32,
                "tensors": {name: [key, transposed] for name, (key, transposed) in self.tensors.items()}}

    @classmethod
    def from_json(cls, raw: Any) -> WeightsReference:   # Any: parsed JSON, checked here
        """The reference in `raw` (ValueError when it is not one)."""
        try:
            if raw["file"] != WEIGHTS_FILE:
                raise ValueError(f"weights file {raw['file']!r}")
            tensors = {}
            for name, (key, transposed) in raw["tensors"].items():
                if not (isinstance(name, str) and isinstance(key, str) and isinstance(transposed, bool)):
                    raise TypeError("tensor entry")
                tensors[name] = (key, transposed)
            reference = cls(raw["model"], raw["size"], raw["crc32"], tensors)
            if not (isinstance(reference.model, str) and isinstance(reference.size, int)
                    and isinstance(reference.crc32, int)):
                raise TypeError("model, size or crc32")
            return reference
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"the export's weights reference is damaged ({error})") from None

    def load(self) -> dict[str, np.ndarray]:
        """Each referred initializer's array, from the model's weights file as it was when the export was made
        (ValueError, saying to rebuild, when the file is gone or changed)."""
        from qa.model.embedder import model_folder

        path = model_folder(self.model) / WEIGHTS_FILE
        rebuild = "rebuild the index (qa index) to export the model again"
        if not path.is_file():
            raise ValueError(f"the model's weights are gone from {path}; {rebuild}")
        if path.stat().st_size != self.size or file_crc32(path) != self.crc32:
            raise ValueError(f"the model's weights in {path} changed since the index was built; {rebuild}")
        tensors = read_safetensors(path)
        arrays = {}
        for name, (key, transposed) in self.tensors.items():
            if key not in tensors:
                raise ValueError(f"the model's weights in {path} have no tensor {key!r}; {rebuild}")
            array = tensors[key]
            arrays[name] = np.ascontiguousarray(array.T if transposed else array)
        return arrays


def refer_to_weights(folder: Path, name: str) -> None:
    """Drop from the export's graph every initializer that equals a tensor of the model's own weights file
    (or its transpose) and record where each one is (`weights` in embedder.json): the index then holds a
    graph of a few hundred kilobytes instead of a copy of the model. Nothing changes when the model has no
    safetensors file or no tensor matches."""
    import onnx   # building only
    from onnx import TensorProto, numpy_helper

    from qa.model.embedder import BUNDLED_NAMES, model_folder

    source = model_folder(name) / WEIGHTS_FILE
    if not source.is_file():
        return
    tensors = read_safetensors(source)
    candidates: dict[tuple[str, tuple[int, ...], bytes], tuple[str, bool]] = {}
    for key, array in tensors.items():
        for transposed in (False, True) if array.ndim == 2 else (False,):
            form = np.ascontiguousarray(array.T if transposed else array)
            candidates.setdefault((form.dtype.str, form.shape, hashlib.sha256(form.data).digest()), (key, transposed))
    graph = onnx.load(str(folder / MODEL_FILE))
    referred: dict[str, tuple[str, bool]] = {}
    for initializer in graph.graph.initializer:
        array = numpy_helper.to_array(initializer)
        found = candidates.get((array.dtype.str, array.shape, hashlib.sha256(np.ascontiguousarray(array).data).digest()))
        if found is None:
            continue
        referred[initializer.name] = found
        initializer.ClearField("raw_data")
        for field in ("float_data", "int32_data", "int64_data", "double_data"):
            initializer.ClearField(field)
        initializer.data_location = TensorProto.EXTERNAL
        del initializer.external_data[:]
        for entry_key, value in (("location", EXTERNAL_LOCATION), ("offset", "0"), ("length", str(array.nbytes))):
            entry = initializer.external_data.add()
            entry.key, entry.value = entry_key, value
    if not referred:
        return
    model = name if name in BUNDLED_NAMES else str(model_folder(name).resolve())
    reference = WeightsReference(model, source.stat().st_size, file_crc32(source), referred)
    onnx.save(graph, str(folder / f"{MODEL_FILE}.referred"))
    os.replace(folder / f"{MODEL_FILE}.referred", folder / MODEL_FILE)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    config["format"], config["weights"] = FORMAT_VERSION, reference.to_json()
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
