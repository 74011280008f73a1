"""A tiny, randomly initialised sentence-transformers model for tests whose subject is not the model.

`make_fake_model(folder)` writes a BERT with MiniLM's vocabulary and tokenizer but one layer and hidden
size 32 (seeded: the same weights every run), mean pooling and normalisation, as an ordinary local
sentence-transformers folder. It also writes qa's own ONNX export of it into `folder/qa-onnx/`, so
`qa index --model FOLDER` copies that export instead of importing torch to make one (qa.model.export.write_export).
Its vectors carry no meaning beyond shared word pieces: assert nothing about answer quality with it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HIDDEN = 32
SEED = 20261123


def make_fake_model(folder: Path) -> Path:
    """Write the tiny model and its ONNX export into `folder` (imports torch once); returns `folder`."""
    import torch
    from transformers import BertConfig, BertModel

    from qa.model.embedder import SHIPPED_EXPORT, model_folder
    from qa.model.export import convert_to_onnx

    real = model_folder("all-MiniLM-L6-v2")
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    config = BertConfig(vocab_size=30522, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=2 * HIDDEN, max_position_embeddings=512)
    model = BertModel(config).eval()
    with torch.no_grad():   # a bag of word pieces: distinct token vectors, no position signal, layer passes them on
        model.embeddings.word_embeddings.weight.normal_(0.0, 1.0)
        model.embeddings.position_embeddings.weight.zero_()
        model.embeddings.token_type_embeddings.weight.zero_()
        for layer in model.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
    model.save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(real / name, folder / name)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    convert_to_onnx(folder, folder / SHIPPED_EXPORT)
    return folder


if __name__ == "__main__":
    import sys

    print(make_fake_model(Path(sys.argv[1])))
