"""`Index`: open a built index and search it. Everything the CLI does goes through here."""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

import numpy as np

from qa import config
from qa.build import BuildReport, Progress, build_index
from qa.documents import discover
from qa.embedder import Embedder, SentenceTransformerEmbedder
from qa.errors import IndexFormatError, ModelUnavailableError, QAError, UsageError
from qa.search import DenseIndex, Hit, fuse
from qa.store import StoredIndex


class Index:
    """A searchable index: `Index.open("index").search("question", k=5)`."""

    def __init__(
        self,
        stored: StoredIndex,
        model: str | None = None,
        expect: config.IndexSettings | None = None,
        search: config.SearchSettings = config.SearchSettings(),
    ) -> None:
        self.stored = stored
        self.path = stored.index_dir
        self.settings = stored.settings
        self.search_settings = search
        recorded = (stored.manifest.get("model") or {}).get("name")
        if model is not None and recorded is not None and model != recorded:
            raise IndexFormatError(
                f"The index at {self.path} was built with model {recorded}, not {model}. "
                f"Rebuild it with: qa index --index {self.path} --model {model} PATH"
            )
        self.model: str | None = recorded
        if expect is not None and expect != self.settings:
            changed = ", ".join(f"{k} {v}" for k, v in self.settings.as_dict().items() if v != getattr(expect, k))
            raise IndexFormatError(
                f"The index at {self.path} was built with other settings ({changed}). "
                f"Rebuild it with: {self.update_command()}"
            )
        #: Warnings for the user (each said once), e.g. that dense search fell back to BM25.
        self.warnings: list[str] = []
        self._warnings_taken = 0
        self._embedder: Embedder | None = None
        self._dense: DenseIndex | None = None
        self._dense_error: str | None = None
        root = Path(self.stored.root)
        try:
            relative = os.path.relpath(root)
            self._display_root = relative if not relative.startswith("..") else str(root)
        except ValueError:
            self._display_root = str(root)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = config.DEFAULT_INDEX,
        model: str | None = None,
        expect: config.IndexSettings | None = None,
        search: config.SearchSettings = config.SearchSettings(),
    ) -> Index:
        """Open the index folder at `path` (no code from it is run).

        `model` and `expect`, when given, must match what the index was built with.
        """
        return cls(StoredIndex(Path(path)), model, expect, search)

    @staticmethod
    def build(
        paths: list[str | os.PathLike[str]],
        path: str | os.PathLike[str] = config.DEFAULT_INDEX,
        model: str = config.DEFAULT_MODEL,
        settings: config.IndexSettings = config.IndexSettings(),
        progress: Progress | None = None,
    ) -> BuildReport:
        """Build or update the index of the files under `paths` in the folder `path`."""
        return build_index([Path(p) for p in paths], Path(path), model, settings, progress)

    @property
    def size(self) -> int:
        """Number of passages."""
        return self.stored.size

    def update_command(self) -> str:
        """The command that brings this index up to date with its files."""
        paths = " ".join(shlex.quote(p) for p in self.stored.manifest.get("paths", [])) or "PATH"
        where = "" if Path(self.path) == config.DEFAULT_INDEX else f" --index {shlex.quote(str(self.path))}"
        return f"qa index{where} {paths}"

    def stale_files(self) -> list[str]:
        """Source files added, changed or removed since the index was built."""
        root = Path(self.stored.root)
        known = {f.path: f for f in self.stored.files}
        stale = []
        for name, source in known.items():
            try:
                status = os.stat(root / name)
            except OSError:
                stale.append(name)
                continue
            if status.st_size != source.size:
                stale.append(name)
            elif status.st_mtime_ns != source.mtime_ns and _sha256(root / name) != source.sha256:
                stale.append(name)
        paths = [Path(p) for p in self.stored.manifest.get("paths", []) if Path(p).exists()]
        if paths:
            _, files, _ = discover(paths)
            stale += sorted(n for n in (f.relative_to(root).as_posix() for f in files if f.is_relative_to(root))
                            if n not in known)
        return stale

    def source_path(self, file: str) -> str:
        """A passage's file as a user can open it from the current directory."""
        return os.path.join(self._display_root, file) if self._display_root != "." else file

    # --- dense side -------------------------------------------------------------

    def dense_error(self) -> str | None:
        """Why dense search cannot run (None when it can); loads the model on first use."""
        if self._dense is None and self._dense_error is None:
            if self.stored.vectors is None or self.model is None:
                self._dense_error = "the index was built without vectors"
            else:
                try:
                    self._embedder = SentenceTransformerEmbedder(self.model)
                    self._dense = DenseIndex(self.stored.vectors)
                except ModelUnavailableError as error:
                    self._dense_error = str(error)
        return self._dense_error

    def embed(self, questions: list[str]) -> np.ndarray:
        """Question vectors (raises ModelUnavailableError when dense search cannot run)."""
        error = self.dense_error()
        if error:
            raise ModelUnavailableError(f"Dense search is unavailable: {error}. Use --mode bm25.")
        assert self._embedder is not None
        return self._embedder.encode(questions, batch_size=config.BATCH_SIZE)

    # --- search -----------------------------------------------------------------

    def search(self, question: str, k: int = config.DEFAULT_K, mode: str = config.DEFAULT_MODE) -> list[Hit]:
        """The best `k` passages for `question`, best first."""
        return self.search_many([question], k, mode)[0]

    def search_many(
        self, questions: list[str], k: int = config.DEFAULT_K, mode: str = config.DEFAULT_MODE
    ) -> list[list[Hit]]:
        """`search` for several questions, embedding them together."""
        if mode not in config.MODES:
            raise UsageError(f"Unknown mode {mode!r}; choose one of {', '.join(config.MODES)}.")
        if k < 1:
            raise UsageError(f"k must be at least 1 (got {k}).")
        for question in questions:
            if not question.strip():
                raise UsageError("The question is empty; type some words to search for.")
        if mode == "hybrid" and self.dense_error():
            self._warn(f"Dense search is unavailable ({self.dense_error()}); answering with BM25 only.")
            mode = "bm25"
        depth = max(self.search_settings.depth, k)
        dense_lists: list[list[tuple[int, float]]] = [[] for _ in questions]
        if mode in ("dense", "hybrid"):
            vectors = self.embed(questions)
            assert self._dense is not None
            dense_lists = self._dense.top(vectors, depth)
        results = []
        for question, dense in zip(questions, dense_lists):
            sparse = self.stored.bm25.top(question, depth) if mode in ("bm25", "hybrid") else []
            ranking = {"dense": dense, "bm25": sparse, "hybrid": fuse(dense, sparse, self.search_settings) if mode == "hybrid" else []}[mode]
            results.append(self._hits(ranking[:k], mode, dense, sparse))
        return results

    def _hits(
        self,
        ranking: list[tuple[int, float]],
        mode: str,
        dense: list[tuple[int, float]],
        sparse: list[tuple[int, float]],
    ) -> list[Hit]:
        dense_at = {row: (rank, score) for rank, (row, score) in enumerate(dense, start=1)}
        sparse_at = {row: (rank, score) for rank, (row, score) in enumerate(sparse, start=1)}
        passages = self.stored.passages([row for row, _ in ranking])
        hits = []
        for rank, ((row, score), passage) in enumerate(zip(ranking, passages), start=1):
            d_rank, d_score = dense_at.get(row, (None, None))
            s_rank, s_score = sparse_at.get(row, (None, None))
            hits.append(Hit(rank, score, mode, passage, self.source_path(passage.file),
                            d_rank, d_score, s_rank, s_score))
        return hits

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def take_warnings(self) -> list[str]:
        """Warnings not given out before (so each reaches the user once)."""
        new = self.warnings[self._warnings_taken :]
        self._warnings_taken = len(self.warnings)
        return new


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["Index", "Hit", "QAError"]
