"""Reduced-precision forms of the model against float32: `python tests/bench/quantization.py INDEX [--texts N]`.

Exports the default model to ONNX (float32) in a scratch folder, makes each variant from it, and embeds
N passages of INDEX (every 31st row; default 250) with each: the vectors' cosine to float32 (mean, min)
and throughput relative to float32, paired (variants alternate, 3 rounds, median), 2 threads, the build's
batching (32 texts, 4,096 tokens). Variants:

  fused            onnxruntime.transformers' BERT fusions at float32 (SkipLayerNorm, BiasGelu; no attention
                   fusion is found in this export)
  int8             dynamic int8 of every MatMul, one scale per weight tensor (qa's option before)
  int8-channel     dynamic int8 of every MatMul, one scale per output channel (qa's --quantization int8)
  int8-ffn         dynamic int8 of the feed-forward MatMuls only, per tensor
  int8-no-ffn-out  per channel, all but the feed-forward output projection (whose inputs, after GELU, carry
                   the outliers that cost the most)
  int8-static-*    with --static N: static int8, QDQ nodes, weights per channel, activations' ranges calibrated
                   (MinMax) on N other passages of INDEX: every MatMul (-matmul), every operator onnxruntime can
                   quantise (int8-static), or all MatMuls but the feed-forward output projection (-no-ffn-out)

Measured 2026-12-05 15:47 on the whole Python docs index, 250 passages (load about 1.5):

| variant | cosine to float32, mean / min | speed |
|---|---|---|
| fused | 1.000000 / 1.000000 | 0.93x |
| int8 (per tensor) | 0.941 / 0.891 | 1.38x |
| int8-channel | 0.993 / 0.979 | 1.37x |
| int8-ffn | 0.943 / 0.894 | 1.17x |
| int8-no-ffn-out | 0.996 / 0.991 | 1.16x |

With `--static 100`, 2026-12-05 17:49 (250 passages, load about 1; the dynamic rows of that run within 0.03x
and 0.001 of those above):

| variant | cosine to float32, mean / min | speed |
|---|---|---|
| int8-channel (dynamic, the option) | 0.993 / 0.979 | 1.40x |
| int8-static-matmul | 0.939 / 0.895 | 1.30x |
| int8-static | 0.785 / 0.257 | 1.14x |
| int8-static-no-ffn-out | 0.994 / 0.989 | 1.15x |

Static int8 loses to dynamic per channel on both counts (the one as close to float32 is slower), so it was not
taken further (no index built with it).

An earlier run of 1,200 passages: fused 0.95x, int8 1.41x, int8-channel 1.42x (cosine 0.993 / 0.984 on
250 of them), int8-ffn 1.28x. Retrieval with int8-channel is in the README ("Ingest and reduced precision").
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from qa import Index  # noqa: E402
from qa.model.embedder import model_folder  # noqa: E402
from qa.model.export import convert_to_onnx  # noqa: E402
from qa.model.onnx import OnnxEmbedder  # noqa: E402


def calibration_reader(base: Path, texts: list[str]):
    """The model's inputs for `texts`, one text at a time, as onnxruntime's static quantisation reads them."""
    from onnxruntime.quantization import CalibrationDataReader
    from tokenizers import Tokenizer

    config = json.loads((base / "embedder.json").read_text())
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=int(config["max_seq_length"]))
    tokenizer.no_padding()

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(tokenizer.encode_batch([t.lower() if config.get("do_lower_case") else t for t in texts]))

        def get_next(self):
            encoding = next(self.items, None)
            if encoding is None:
                return None
            feeds = {"input_ids": np.asarray([encoding.ids], dtype=np.int64),
                     "attention_mask": np.ones((1, len(encoding.ids)), dtype=np.int64),
                     "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64)}
            return {name: feeds[name] for name in config["input_names"]}

    return Reader()


def variants(base: Path, root: Path, calibration: list[str] | None = None) -> dict[str, Path]:
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.transformers.optimizer import optimize_model

    graph = onnx.load(str(base / "model.onnx"))
    weights = {i.name: list(i.dims) for i in graph.graph.initializer}

    def matmuls(keep) -> list[str]:   # MatMul nodes whose weight's shape passes `keep`
        return [n.name for n in graph.graph.node if n.op_type == "MatMul"
                and any(i in weights and len(weights[i]) == 2 and keep(weights[i]) for i in n.input)]

    hidden = int(json.loads((base / "embedder.json").read_text())["dimension"])
    every = matmuls(lambda d: True)
    ffn = matmuls(lambda d: max(d) > hidden and min(d) == hidden and d != [30522, hidden] and max(d) != 512)
    ffn_out = matmuls(lambda d: d[0] > d[1])
    folders = {"float32": base}

    def made(name: str) -> Path:
        folder = root / name
        folder.mkdir()
        for file in ("tokenizer.json", "embedder.json"):
            shutil.copyfile(base / file, folder / file)
        folders[name] = folder
        return folder / "model.onnx"

    fused = optimize_model(str(base / "model.onnx"), model_type="bert", num_heads=12, hidden_size=hidden, opt_level=1)
    fused.save_model_to_file(str(made("fused")))
    for name, nodes, per_channel in (("int8", every, False), ("int8-channel", every, True), ("int8-ffn", ffn, False),
                                     ("int8-no-ffn-out", [n for n in every if n not in ffn_out], True)):
        quantize_dynamic(str(base / "model.onnx"), str(made(name)), weight_type=QuantType.QInt8,
                         nodes_to_quantize=nodes, per_channel=per_channel)
    if calibration:
        # Static int8: activations' scales fixed beforehand from the corpus's own passages (MinMax), QDQ nodes,
        # weights per output channel. Only the MatMuls (the embeddings' Gather, LayerNorm and Softmax stay fp32),
        # or every operator onnxruntime can quantise.
        for name, op_types, nodes in (("int8-static-matmul", ["MatMul"], every), ("int8-static", None, None),
                                      ("int8-static-no-ffn-out", ["MatMul"], [n for n in every if n not in ffn_out])):
            quantize_static(str(base / "model.onnx"), str(made(name)), calibration_reader(base, calibration),
                            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, op_types_to_quantize=op_types, nodes_to_quantize=nodes)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--texts", type=int, default=250)
    parser.add_argument("--static", type=int, default=0, metavar="N",
                        help="also static int8 (QDQ) calibrated on N other passages of INDEX (every 31st from row 15)")
    args = parser.parse_args()
    folder = Index.open(args.index).stored.folder
    db = sqlite3.connect(f"file:{folder / 'passages.sqlite'}?mode=ro", uri=True)
    texts = [r[0] for r in db.execute("SELECT text FROM passages WHERE row % 31 = 0 LIMIT ?", (args.texts,))]
    with tempfile.TemporaryDirectory(prefix="qa-quantization-") as scratch:
        root = Path(scratch)
        base = convert_to_onnx(model_folder("all-MiniLM-L6-v2"), root / "float32")
        calibration = [r[0] for r in db.execute("SELECT text FROM passages WHERE row % 31 = 15 LIMIT ?", (args.static,))]
        embedders = {name: OnnxEmbedder(path, threads=2) for name, path in variants(base, root, calibration).items()}
        reference = embedders["float32"].encode(texts)
        times: dict[str, list[float]] = {name: [] for name in embedders}
        for round_ in range(3):
            for name, embedder in embedders.items():
                started = time.perf_counter()
                vectors = embedder.encode(texts, batch_size=32, batch_tokens=4096)
                times[name].append(time.perf_counter() - started)
                if round_ == 0:
                    cosines = np.sum(vectors * reference, axis=1)
                    print(f"{name}: cosine to float32 mean {cosines.mean():.6f} min {cosines.min():.6f}", flush=True)
        for name, taken in times.items():
            print(f"{name}: {np.median(times['float32']) / np.median(taken):.2f}x float32 "
                  f"({len(texts) / np.median(taken):.1f} passages/s)")


if __name__ == "__main__":
    main()
