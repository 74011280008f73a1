"""Defaults in one place; environment variables override a few of them."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

#: Bundled corpus and default index folder, relative to the working directory.
DEFAULT_CORPUS = Path(os.environ.get("QA_CORPUS", "seeds"))
DEFAULT_INDEX = Path(os.environ.get("QA_INDEX", "index"))

#: The embedding model: a sentence-transformers name or a local folder.
DEFAULT_MODEL = os.environ.get("QA_MODEL", "all-MiniLM-L6-v2")

#: The largest file read (bigger ones are skipped; file types read: qa/sources/registry.py).
MAX_FILE_MB = float(os.environ.get("QA_MAX_FILE_MB", "20"))



@dataclass(frozen=True)
class IndexSettings:
    """Everything that shapes the passages, their vectors and BM25 terms; recorded in the manifest."""

    #: Passage size in the model's word pieces (the model truncates at 256 with its two special tokens).
    max_tokens: int = 200
    #: Sentences shared by consecutive passages of one block.
    overlap: int = 2
    #: Give the embedder each document's first line (its title) before every passage of it.
    title_context: bool = True
    #: And after the title, the heading path of the section the passage is in ("Built-in Functions > zip(...)").
    #: Off: on held-out questions it lost recall@5 on the Python docs (0.769 -> 0.718) and MRR@10 on the seeds.
    heading_context: bool = False
    #: BM25 terms come from that context too, not only from the passage (off, likewise).
    bm25_context: bool = False
    #: BM25 terms: "plain" (lower-cased words), "stem" (English Snowball stems), "stem-stop" (and no stop words),
    #: "code" (plain words, and names written as code kept whole too: "os.environ", "zip()", "strict=true").
    bm25_terms: str = "plain"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SearchSettings:
    """How the two rankings are fused."""

    rrf_k: int = 60            # reciprocal-rank fusion constant: 1 / (rrf_k + rank)
    depth: int = 50            # candidates taken from each side before fusion
    dense_weight: float = 1.0
    bm25_weight: float = 1.0


#: The answering sentence is marked in this many top hits; the verdict (qa/answer/verdict.py, weights in
#: qa/answer/verdict.json) reads this many top passages.
ANSWER_PASSAGES = 3

#: Search defaults.
DEFAULT_K = 5
DEFAULT_MODE = "hybrid"
MODES = ("hybrid", "dense", "bm25")

#: BM25 parameters (the rank-bm25 BM25Okapi defaults).
BM25_K1 = 1.5
BM25_B = 0.75
BM25_EPSILON = 0.25

#: How a build runs the ONNX model: "none" (float32, as exported) or "int8" (onnxruntime's dynamic int8
#: quantisation of the export). Recorded in the manifest; questions are embedded the same way.
QUANTIZATIONS = ("none", "int8")
DEFAULT_QUANTIZATION = os.environ.get("QA_QUANTIZATION", "none")

#: Texts embedded together, and how many waiting `qa batch` questions are taken at once
#: (sorted by length inside a group, so batches pad little).
BATCH_SIZE = 32
BATCH_GROUP = 256
#: At most this many tokens (padding included) in one batch of a build (texts sorted by token length).
BATCH_TOKENS = int(os.environ.get("QA_BATCH_TOKENS", "4096"))

#: Passages a build embeds between two writes of its checkpoint (what a killed build resumes from).
CHECKPOINT_EVERY = int(os.environ.get("QA_CHECKPOINT_EVERY", "512"))

#: Version of the rules that split documents into passages and sentences. Bump it whenever they change:
#: vectors are reused only from builds with the same version (recorded in the manifest).
#: (The optional heading context needs no bump: what the embedder sees is in each vector's key, and the
#: settings are in the manifest.)
SPLITTER_VERSION = 2

#: `qa index --watch`: a burst of changes is over when nothing changed for this long (milliseconds).
WATCH_SETTLE_MS = 200

#: `qa index --cluster ADDRESS`: a running dask.distributed scheduler to embed on (default: embed here).
DEFAULT_CLUSTER = os.environ.get("QA_CLUSTER") or None
#: Texts per task sent to a worker, seconds to wait for the scheduler, and tries per task beyond the first.
CLUSTER_TEXTS_PER_TASK = 64
CLUSTER_CONNECT_SECONDS = 10
CLUSTER_RETRIES = 3

#: Version of the on-disk index layout; a reader refuses any other.
#: 2: BM25 terms split CJK runs into character bigrams (qa.search.bm25.tokenize).
#: 3: passages carry locators (page, heading, source line, paragraph) and files their regions (qa.sources).
FORMAT_VERSION = 3
