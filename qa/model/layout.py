"""The layout of an ONNX export folder: its files, its format version, and where a model ships one.

Plain names only (no imports), shared by the code that writes an export (qa.model.export), the code that
runs one (qa.model.onnx) and the index store, which keeps an export in each generation.
"""

from __future__ import annotations

#: Version of the export folder layout; bump when `embedder.json` changes meaning.
#: 2: `weights` may name tensors of the model's own weights file that the graph leaves out (qa.model.weights).
FORMAT_VERSION = 2
#: Export formats OnnxEmbedder runs (a format 1 graph holds all its weights).
READ_FORMATS = (1, 2)

MODEL_FILE = "model.onnx"            # the transformer, float32 or dynamically quantised to int8 (its graph
                                     # may leave the model's own weights where they are: qa.model.weights)
TOKENIZER_FILE = "tokenizer.json"    # the tokenizer, without padding or truncation settings
CONFIG_FILE = "embedder.json"        # plain data: sequence length, pooling, input names, dimension
#: The files of an export (kept in each index generation).
ONNX_FILES = (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)
#: Written last into an export folder: the checksums of its files (qa.model.export.export_is_complete).
EXPORT_MARKER = "export-complete.json"
#: A model folder may ship qa's own export of itself in this subfolder (made by
#: qa.model.export.convert_to_onnx): builds copy it instead of exporting again (no torch import).
SHIPPED_EXPORT = "qa-onnx"
#: Pooling of token embeddings into a text's vector that an export can record and OnnxEmbedder reproduce.
POOLING_MODES = ("mean", "cls")
