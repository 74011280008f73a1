"""Defaults in one place; environment variables override a few of them."""

from __future__ import annotations

import os
from pathlib import Path

#: Bundled corpus and default index folder, relative to the working directory.
DEFAULT_CORPUS = Path(os.environ.get("QA_CORPUS", "seeds"))
DEFAULT_INDEX = Path(os.environ.get("QA_INDEX", "index"))

#: The embedding model: a sentence-transformers name or a local folder.
DEFAULT_MODEL = os.environ.get("QA_MODEL", "all-MiniLM-L6-v2")

#: File types read from a corpus folder, and the largest file read (bigger ones are skipped).
TEXT_SUFFIXES = (".txt", ".md")
MAX_FILE_MB = float(os.environ.get("QA_MAX_FILE_MB", "20"))

#: Passage size, in the model's word pieces (the model itself truncates at 256
#: including its two special tokens), and how many sentences consecutive
#: passages of one paragraph run share.
PASSAGE_TOKENS = 200
OVERLAP_SENTENCES = 1

#: Search defaults.
DEFAULT_K = 5
DEFAULT_MODE = "hybrid"
MODES = ("hybrid", "dense", "bm25")
RRF_K = 60          # reciprocal-rank fusion constant
CANDIDATES = 50     # candidates taken from each side before fusion

#: BM25 parameters (the rank-bm25 BM25Okapi defaults).
BM25_K1 = 1.5
BM25_B = 0.75
BM25_EPSILON = 0.25

#: Questions embedded together in batch mode.
BATCH_SIZE = 32

#: Version of the on-disk index layout; a reader refuses any other.
FORMAT_VERSION = 1
