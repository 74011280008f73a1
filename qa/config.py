"""Defaults in one place. The command line lets environment variables override a few of them
(`apply_environment`, called once when `qa` starts); importing qa reads no environment."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

#: Bundled corpus and default index folder, relative to the working directory.
DEFAULT_CORPUS = Path("seeds")
DEFAULT_INDEX = Path("index")

#: The embedding model: a sentence-transformers name or a local folder.
DEFAULT_MODEL = "all-MiniLM-L6-v2"

#: The largest file read (bigger ones are skipped; file types read: qa/sources/registry.py).
MAX_FILE_MB = 20.0


@dataclass(frozen=True)
class ReadLimits:
    """What reading one file may cost; a file past a limit is skipped with the reason (qa/sources/pool.py)."""

    file_mb: float = 20.0          # the file's own size
    seconds: float = 60.0          # wall time to read it, in a worker process
    memory_mb: float = 2048.0      # address space its worker may add
    expanded_mb: float = 200.0     # its text, and the decompressed parts of a .docx or a PDF's pages
    workers: int = 0               # reader processes (0: one a core)

    @classmethod
    def current(cls) -> ReadLimits:
        """The limits in force: the defaults, with what the environment set (`apply_environment`)."""
        return cls(MAX_FILE_MB, READ_SECONDS, READ_MEMORY_MB, MAX_EXPANDED_MB, READ_WORKERS)


READ_SECONDS = 60.0
READ_MEMORY_MB = 2048.0
MAX_EXPANDED_MB = 200.0
READ_WORKERS = 0


@dataclass(frozen=True)
class IndexSettings:
    """Everything that shapes the passages, their vectors and BM25 terms; recorded in the manifest."""

    #: Passage size in the model's word pieces (the model truncates at 256 with its two special tokens).
    max_tokens: int = 200
    #: Sentences shared by consecutive passages of one block.
    overlap: int = 2
    #: Give the embedder each document's first line (its title) before every passage of it.
    title_context: bool = True
    #: BM25 terms: "plain" (lower-cased words), or "code" (plain words, and names written as code kept whole
    #: too: "os.environ", "zip()", "strict=true"); see qa.search.bm25.SCHEMES.
    bm25_terms: str = "plain"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class SearchSettings:
    """How the two rankings are fused."""

    #: "learned": the ranker of qa/search/rank.py scores the union of both sides' candidates; "rrf":
    #: reciprocal-rank fusion (qa/search/fusion.py)
    fusion: str = "learned"
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
DEFAULT_QUANTIZATION = "none"

#: Texts embedded together, and how many waiting `qa batch` questions are taken at once
#: (sorted by length inside a group, so batches pad little).
BATCH_SIZE = 32
BATCH_GROUP = 256
#: At most this many tokens (padding included) in one batch of a build (texts sorted by token length).
BATCH_TOKENS = 4096

#: Passages a build embeds between two writes of its checkpoint (what a killed build resumes from).
CHECKPOINT_EVERY = 512

#: Version of the rules that read and split documents. Bump it whenever a reader's output or these rules
#: change: an update carries files whose size and time did not change over unread, and reuses vectors, only
#: from a generation with the same version (recorded in the manifest). 3: PDF and text line wraps joined,
#: HTML blocks cited by number, repeated headings named with their position. 4: a list item's number ("1.")
#: is no sentence of its own; a line that fills the wrap width goes on on the next.
SPLITTER_VERSION = 4

#: `qa index --watch`: a burst of changes is over when nothing changed for this long (milliseconds).
WATCH_SETTLE_MS = 200

#: `qa index --cluster ADDRESS`: a running dask.distributed scheduler to embed on (default: embed here).
DEFAULT_CLUSTER: str | None = None
#: Texts per task sent to a worker, seconds to wait for the scheduler, and tries per task beyond the first.
CLUSTER_TEXTS_PER_TASK = 64
CLUSTER_CONNECT_SECONDS = 10
CLUSTER_RETRIES = 3

#: Version of the on-disk index layout that builds write; a reader refuses any not in READ_FORMATS.
#: 2: BM25 terms split CJK runs into character bigrams (qa.search.bm25.tokenize).
#: 3: passages carry locators (page, heading, source line, paragraph) and files their regions (qa.sources).
#: 4: sentence vectors are int8 with a scale per row (qa.store.sentences), and the model's export may name
#:    the model's own weights file instead of holding a copy (qa.model.weights).
FORMAT_VERSION = 4
#: Formats this qa reads: a format 3 index is read as it is (float16 sentence vectors, the model copied).
READ_FORMATS = (3, 4)


#: Environment variable -> (setting it overrides, how its text is read, the least value allowed).
ENVIRONMENT: dict[str, tuple[str, type, float | None]] = {
    "QA_CORPUS": ("DEFAULT_CORPUS", Path, None),
    "QA_INDEX": ("DEFAULT_INDEX", Path, None),
    "QA_MODEL": ("DEFAULT_MODEL", str, None),
    "QA_QUANTIZATION": ("DEFAULT_QUANTIZATION", str, None),
    "QA_CLUSTER": ("DEFAULT_CLUSTER", str, None),
    "QA_MAX_FILE_MB": ("MAX_FILE_MB", float, 0.0),
    "QA_READ_SECONDS": ("READ_SECONDS", float, 0.1),
    "QA_READ_MEMORY_MB": ("READ_MEMORY_MB", float, 64.0),
    "QA_MAX_EXPANDED_MB": ("MAX_EXPANDED_MB", float, 0.0),
    "QA_READ_WORKERS": ("READ_WORKERS", int, 0),
    "QA_BATCH_TOKENS": ("BATCH_TOKENS", int, 1),
    "QA_CHECKPOINT_EVERY": ("CHECKPOINT_EVERY", int, 1),
}


def apply_environment(environ: Mapping[str, str] = os.environ) -> None:
    """Let the QA_ variables set in `environ` override the defaults above (the command line calls this once).

    Raises UsageError naming the variable when a value cannot be used."""
    from qa.errors import UsageError

    for variable, (name, kind, least) in ENVIRONMENT.items():
        text = environ.get(variable, "").strip()
        if not text:
            continue
        if kind in (int, float):
            try:
                value = kind(text)
            except ValueError:
                raise UsageError(f"{variable}={text!r} is not a {'whole ' if kind is int else ''}number; "
                                 f"unset it or set a number.") from None
            if least is not None and not value >= least:     # also refuses nan
                raise UsageError(f"{variable}={text!r} is too small; set at least {least:g}, or unset it.")
            globals()[name] = value
        else:
            globals()[name] = kind(text)
