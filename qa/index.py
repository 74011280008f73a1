"""`Index`: open a built index and search it. Everything the CLI does goes through here."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa import config
from qa.ingest.build import BuildReport, Progress, build_index
from qa.search.collapse import select_hits
from qa.model.embedder import ONNX_FILES, Embedder, SentenceTransformerEmbedder, fingerprint, onnx_embedder
from qa.query import Query
from qa.errors import IndexFormatError, ModelUnavailableError, QAError, UsageError
from qa.search.dense import APPROXIMATE_FILE, DenseIndex
from qa.search.fusion import fuse
from qa.search.rank import Ranker, Ranking
from qa.search.hits import Answer, Hit
from qa.store.generation import CURRENT, StoredIndex
from qa.store.stored import IndexUpdate
from qa.answer.marking import mark_answers
from qa.answer.verdict import Candidates, no_words, verdict_for


#: A query's vector (None in BM25 mode), its dense ranking and its BM25 ranking.
Ranked = tuple["np.ndarray | None", list[tuple[int, float]], list[tuple[int, float]]]


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
        recorded = stored.manifest.model.name if stored.manifest.model else None
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
        self._current_seen: tuple[int, int, int] | None = None   # CURRENT's inode, mtime, size when last checked
        self._display_root = _display_root(Path(self.stored.root))
        #: The hybrid ranking's scorer (loaded on first use; a fit sets its own).
        self.ranker: Ranker | None = None

    def refresh(self) -> IndexUpdate | None:
        """Switch to the newest generation if a build replaced the one in use; returns what changed, or None.

        Costs one stat of CURRENT when nothing changed. Raises IndexFormatError (and keeps answering from
        the generation in use) when the new one cannot be opened.
        """
        try:
            status = os.stat(self.path / CURRENT)
        except OSError:
            return None
        seen = (status.st_ino, status.st_mtime_ns, status.st_size)
        if seen == self._current_seen:
            return None
        self._current_seen = seen
        if (self.path / CURRENT).read_text(encoding="utf-8").strip() == self.stored.folder.name:
            return None
        for attempt in range(3):   # a build may replace the generation again while we open it
            try:
                stored = StoredIndex(self.path)
                break
            except IndexFormatError:
                if attempt == 2:
                    raise
        old, new = ({f.path: f.sha256 for f in s.files} for s in (self.stored, stored))
        changed = len(old.keys() ^ new.keys()) + sum(old[p] != new[p] for p in old.keys() & new.keys())
        before, after = self.stored.manifest.model, stored.manifest.model
        if (before and (before.fingerprint, before.onnx)) != (after and (after.fingerprint, after.onnx)):
            self._embedder = None
        self.stored, self.settings, self.model = stored, stored.settings, after.name if after else None
        self._dense, self._dense_error = None, None
        self._display_root = _display_root(Path(stored.root))
        return IndexUpdate(changed, stored.size)

    @classmethod
    def open(cls, path: str | os.PathLike[str] = config.DEFAULT_INDEX, model: str | None = None,
             expect: config.IndexSettings | None = None, search: config.SearchSettings = config.SearchSettings(),
             ) -> Index:
        """Open the index folder at `path` (no code from it is run); `model` and `expect`, when given, must match
        what the index was built with."""
        return cls(StoredIndex(Path(path)), model, expect, search)

    @staticmethod
    def build(paths: list[str | os.PathLike[str]] | None = None, path: str | os.PathLike[str] = config.DEFAULT_INDEX,
              model: str = config.DEFAULT_MODEL, settings: config.IndexSettings = config.IndexSettings(),
              progress: Progress | None = None, quantization: str = config.DEFAULT_QUANTIZATION,
              follow_links: bool = False, cluster: str | None = None, dense_index: str = "auto",
              limits: config.ReadLimits | None = None) -> BuildReport:
        """Build or update the index of the files under `paths` in the folder `path`.

        `paths=None`: the paths the index was built from (the bundled corpus for a new index).
        `quantization`: "none" or "int8" (onnxruntime's dynamic quantisation); recorded in the manifest.
        `follow_links`: also read symbolic links leading outside them.
        `cluster`: a dask.distributed scheduler address; its workers do the embedding.
        `dense_index`: "flat", "ivf", "ivfpq", or "auto" (by size); recorded in the manifest.
        `limits`: what reading one file may cost (default: config.ReadLimits.current()).
        """
        if paths is None:
            from qa.ingest.plan import plan_build

            sources = plan_build(Path(path), []).paths
        else:
            sources = [Path(p) for p in paths]
        return build_index(sources, Path(path), model, settings, progress, quantization, follow_links, cluster,
                           dense_index, limits)

    @property
    def size(self) -> int:
        """Number of passages."""
        return self.stored.size

    def update_command(self) -> str:
        """The command that brings this index up to date with its files."""
        paths = " ".join(shlex.quote(p) for p in self.stored.manifest.paths) or "PATH"
        where = "" if Path(self.path) == config.DEFAULT_INDEX else f" --index {shlex.quote(str(self.path))}"
        return f"qa index{where} {paths}"

    def stale_files(self) -> list[str]:
        """Source files added, changed or removed since the index was built."""
        from qa.store.stale import stale_files

        return stale_files(self.stored)

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
                    self._embedder = self._embedder or self._load_embedder()
                    self._dense = self._dense_index()
                except ModelUnavailableError as error:
                    self._dense_error = str(error)
        return self._dense_error

    def _load_embedder(self) -> Embedder:
        """The index's own ONNX export when it has one (no torch), else sentence-transformers."""
        assert self.model is not None
        recorded = self.stored.manifest.model
        assert recorded is not None
        if recorded.onnx:
            for name in ONNX_FILES:
                self.stored.verify(name)
            return onnx_embedder(self.stored.folder, spin=False)   # questions, not a build
        if not recorded.fingerprint or fingerprint(self.model) != recorded.fingerprint:
            raise ModelUnavailableError(
                f"the model {self.model} changed since the index was built; rebuild with: {self.update_command()}")
        return SentenceTransformerEmbedder(self.model)

    def _dense_index(self) -> DenseIndex:
        dense = self.stored.manifest.dense
        if self.stored.manifest.dense_kind in ("ivf", "ivfpq"):
            self.stored.verify(APPROXIMATE_FILE)
            refine = int(dense.get("refine", 1))
            return DenseIndex.load(self.stored.folder / APPROXIMATE_FILE, int(dense["nprobe"]),
                                   self.stored.vectors if refine > 1 else None, refine)
        assert self.stored.vectors is not None
        return DenseIndex.exact(self.stored.vectors)

    def embed(self, questions: list[str]) -> np.ndarray:
        """Question vectors (raises ModelUnavailableError when dense search cannot run)."""
        error = self.dense_error()
        if error:
            raise ModelUnavailableError(f"Dense search is unavailable: {error}. Use --mode bm25.")
        assert self._embedder is not None
        return self._embedder.encode(questions, batch_size=config.BATCH_SIZE)

    # --- search -----------------------------------------------------------------

    def search(
        self, question: str, k: int = config.DEFAULT_K, mode: str = config.DEFAULT_MODE,
        max_per_file: int | None = None,
    ) -> list[Hit]:
        """The best `k` passages for `question`, best first (no verdict, no answering sentences: `answer` has them)."""
        return self.answer_many([question], k, mode, max_per_file, judge=False)[0].hits

    def answer(
        self, question: str, k: int = config.DEFAULT_K, mode: str = config.DEFAULT_MODE,
        max_per_file: int | None = None,
    ) -> Answer:
        """Hits for `question`, their answering sentences, and whether the corpus answers it at all."""
        return self.answer_many([question], k, mode, max_per_file)[0]

    def answer_many(
        self, questions: list[str], k: int = config.DEFAULT_K, mode: str = config.DEFAULT_MODE,
        max_per_file: int | None = None, judge: bool = True,
    ) -> list[Answer]:
        """`answer` for several questions, embedding them together (`judge=False`: rank only)."""
        if mode not in config.MODES:
            raise UsageError(f"Unknown mode {mode!r}; choose one of {', '.join(config.MODES)}.")
        if k < 1 or (max_per_file is not None and max_per_file < 1):
            raise UsageError(f"k and max-per-file must be at least 1 (got {k}, {max_per_file}).")
        if any(not question.strip() for question in questions):
            raise UsageError("The question is empty; type some words to search for.")
        queries = [Query.of(question) for question in questions]
        if mode == "hybrid" and self.dense_error():
            self._warn(f"Dense search is unavailable ({self.dense_error()}); answering with BM25 only.")
            mode = "bm25"
        depth = max(self.search_settings.depth, k)     # hits come from a fixed candidate depth, then are cut to k
        searched = iter(self.rankings([query for query in queries if query.searchable], mode, depth))
        answers = []
        for query in queries:
            if not query.searchable:
                answers.append(no_words(query.question, mode))
                continue
            vector, dense, sparse = next(searched)
            learned = self.ranked(query, vector, dense, sparse) if mode == "hybrid" else None
            if learned is not None:
                ranking = learned.order
            else:
                ranking = fuse(dense, sparse, self.search_settings) if mode == "hybrid" else dense if mode == "dense" else sparse
            hits, primaries = select_hits(ranking, k, mode, dense, sparse, max_per_file, self.stored, self.source_path)
            if learned is not None:
                hits = [replace(hit, ranked_by=learned.ranked_by(hit.row)) for hit in hits]
            if not judge:
                answers.append(Answer(query.question, mode, hits))
                continue
            # The verdict reads a fixed depth of the rankings, never the k hits: -k cannot change it.
            evidence = sparse if mode != "dense" else self.stored.bm25.top(query.text, self.search_settings.depth)
            cut = self.search_settings.depth   # -k past the depth: the verdict's order is made at the depth again
            judged = learned if learned is None or depth == cut else self.ranked(query, vector, dense[:cut], sparse[:cut])
            candidates = Candidates.of(mode, dense, evidence, self.search_settings, judged.order if judged else None)
            verdict = verdict_for(query, vector, candidates, self.stored)
            answers.append(Answer(query.question, mode, mark_answers(hits, primaries, vector, self.stored, query),
                                  verdict.answered, verdict.similarity, verdict))
        return answers

    def rankings(self, queries: list[Query], mode: str, depth: int) -> list[Ranked]:
        """Per query: its vector (None in BM25 mode), and the dense and BM25 top `depth` (empty when not searched)."""
        vectors = self.embed([query.text for query in queries]) if mode != "bm25" and queries else None
        dense = self._dense.top(vectors, depth) if vectors is not None and self._dense else [[] for _ in queries]
        return [(vectors[i] if vectors is not None else None, dense[i],
                 self.stored.bm25.top(query.text, depth) if mode != "dense" else [])
                for i, query in enumerate(queries)]

    def ranked(self, query: Query, vector: np.ndarray | None, dense: list[tuple[int, float]],
               sparse: list[tuple[int, float]]) -> Ranking | None:
        """The learned ranker's order of both sides' candidates (qa/search/rank.py); None when the settings
        ask for reciprocal-rank fusion or there is no question vector (BM25 only)."""
        if self.search_settings.fusion == "rrf" or vector is None:
            return None
        self.ranker = self.ranker or Ranker.load()
        return self.ranker.rank(query, vector, dense, sparse, self.stored)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def take_warnings(self) -> list[str]:
        """Warnings not given out before (so each reaches the user once)."""
        new = self.warnings[self._warnings_taken :]
        self._warnings_taken = len(self.warnings)
        return new


def _display_root(root: Path) -> str:
    """The corpus root as a user can reach it from the current directory."""
    try:
        relative = os.path.relpath(root)
        return relative if not relative.startswith("..") else str(root)
    except ValueError:
        return str(root)


__all__ = ["Index", "Hit", "QAError"]
