"""A generation's arrays in passage order: passage vectors, the sentences of each passage with their
vectors, and each passage's input key. A carried-over file's rows are copied from the current generation;
a file split by this build takes its vectors by key from what was embedded or reused."""

from __future__ import annotations

import numpy as np

from qa.ingest.carry import Part, StoredVectors
from qa.ingest.embedding import Vectors
from qa.store.layout import Sentences


def assemble(parts: list[Part], results: dict[bytes, Vectors], stored: StoredVectors | None,
             ) -> tuple[np.ndarray, Sentences, list[bytes]]:
    """The vectors, sentences and keys of `parts`, in order (`results`: vectors by key of the jobs)."""
    dimension = (stored.vectors.shape[1] if stored is not None
                 else len(next(iter(results.values())).vector) if results else 384)
    count = sum(len(part.passages) for part in parts)
    vectors = np.zeros((count, dimension), dtype=np.float32)
    keys: list[bytes] = []
    sentence_keys: list[tuple[str, int, int, int]] = []
    pieces: list[np.ndarray] = []
    row = 0
    for part in parts:
        if part.rows is not None:
            assert stored is not None    # a file is carried over only from a generation with vectors
            vectors[row : row + len(part.rows)] = stored.vectors[part.rows.start : part.rows.stop]
            for offset, old in enumerate(part.rows):
                keys.append(stored.keys[old])
                span = stored.sentence_slices[old]
                sentence_keys += [(file, start, end, row + offset) for file, start, end, _ in stored.sentence_rows[span]]
                pieces.append(stored.sentence_vectors[span])
            row += len(part.rows)
            continue
        for item, passage in zip(part.jobs, part.passages):
            found = results[item.key]
            vectors[row] = found.vector
            keys.append(item.key)
            shift = passage.start - (len(item.text) - len(passage.text))
            sentence_keys += [(passage.file, s + shift, e + shift, row) for s, e in item.spans]
            pieces.append(found.sentences)
            row += 1
    stacked = np.concatenate(pieces).astype(np.float16) if pieces else np.zeros((0, dimension), dtype=np.float16)
    return vectors, (sentence_keys, stacked), keys
