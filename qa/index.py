"""`Index`: open a built index and search it. Everything the CLI does goes through here."""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa import config
from qa.build import BuildReport, Progress, build_index
from qa.bm25 import tokenize
from qa.documents import discover
from qa.embedder import ONNX_FILES, Embedder, SentenceTransformerEmbedder, fingerprint, onnx_embedder
from qa.errors import IndexFormatError, ModelUnavailableError, QAError, UsageError
from qa.passages import Passage
from qa.search import APPROXIMATE_FILE, Answer, DenseIndex, Hit, fuse, merged
from qa.store import StoredIndex


#: Two passages this similar are copies of one another (one is shown, the other cited): their vectors'
#: cosine, or the share of the shorter one's 5-word shingles found in the other.
DUPLICATE_SIMILARITY = 0.98
COPY_CONTAINMENT = 0.6


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
        quantization: str = config.DEFAULT_QUANTIZATION,
    ) -> BuildReport:
        """Build or update the index of the files under `paths` in the folder `path`."""
        return build_index([Path(p) for p in paths], Path(path), model, settings, progress, quantization)

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
        skipped = set(self.stored.manifest.get("skipped", []))
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
                            if n not in known and n not in skipped)
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
                    self._embedder = self._load_embedder()
                    self._dense = self._dense_index()
                except ModelUnavailableError as error:
                    self._dense_error = str(error)
        return self._dense_error

    def _load_embedder(self) -> Embedder:
        """The index's own ONNX export when it has one (no torch), else sentence-transformers."""
        assert self.model is not None
        recorded = self.stored.manifest.get("model") or {}
        if recorded.get("onnx"):
            for name in ONNX_FILES:
                self.stored.verify(name)
            return onnx_embedder(self.stored.folder)
        if not recorded.get("fingerprint") or fingerprint(self.model) != recorded["fingerprint"]:
            raise ModelUnavailableError(
                f"the model {self.model} changed since the index was built; rebuild with: {self.update_command()}")
        return SentenceTransformerEmbedder(self.model)

    def _dense_index(self) -> DenseIndex:
        dense = self.stored.manifest.get("dense") or {"kind": "exact"}
        if dense.get("kind") == "ivf":
            self.stored.verify(APPROXIMATE_FILE)
            return DenseIndex.load(self.stored.folder / APPROXIMATE_FILE, int(dense["nprobe"]))
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
        """The best `k` passages for `question`, best first."""
        return self.answer_many([question], k, mode, max_per_file)[0].hits

    def search_many(
        self, questions: list[str], k: int = config.DEFAULT_K, mode: str = config.DEFAULT_MODE,
        max_per_file: int | None = None,
    ) -> list[list[Hit]]:
        """`search` for several questions, embedding them together."""
        return [answer.hits for answer in self.answer_many(questions, k, mode, max_per_file)]

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
        for question in questions:
            if not question.strip():
                raise UsageError("The question is empty; type some words to search for.")
        if mode == "hybrid" and self.dense_error():
            self._warn(f"Dense search is unavailable ({self.dense_error()}); answering with BM25 only.")
            mode = "bm25"
        depth = max(self.search_settings.depth, 4 * k)
        vectors = self.embed(questions) if mode != "bm25" else None
        dense_lists = self._dense.top(vectors, depth) if vectors is not None and self._dense else [[] for _ in questions]
        answers = []
        for position, (question, dense) in enumerate(zip(questions, dense_lists)):
            sparse = self.stored.bm25.top(question, depth) if mode != "dense" else []
            if mode == "hybrid":
                ranking = fuse(dense, sparse, self.search_settings)
            else:
                ranking = dense if mode == "dense" else sparse
            hits, primaries = self._select(ranking, k, mode, dense, sparse, max_per_file)
            if vectors is None or not judge:
                answers.append(Answer(question, mode, hits))
            else:
                answers.append(self._judge(question, mode, hits, primaries, vectors[position]))
        return answers

    def _select(
        self,
        ranking: list[tuple[int, float]],
        k: int,
        mode: str,
        dense: list[tuple[int, float]],
        sparse: list[tuple[int, float]],
        max_per_file: int | None,
    ) -> tuple[list[Hit], list[Passage]]:
        """The best k hits, merging overlapping or adjacent passages of one file and folding copies.

        Also returns each hit's primary passage: the one that ranked, before anything was merged into it.
        """
        dense_at = {row: (rank, score) for rank, (row, score) in enumerate(dense, start=1)}
        sparse_at = {row: (rank, score) for rank, (row, score) in enumerate(sparse, start=1)}
        chosen: list[dict] = []
        position = 0
        while len(chosen) < k and position < len(ranking):
            batch = ranking[position : position + 4 * k]
            position += len(batch)
            for (row, score), passage in zip(batch, self.stored.passages([r for r, _ in batch])):
                if len(chosen) >= k:
                    break
                near = [c for c in chosen if self._touching(c["passage"], passage)]
                if near:
                    self._merge_into(near[0], passage, chosen)
                    continue
                shingles = _shingles(passage.text)
                copy = next((c for c in chosen if self._same_text(c, row, shingles)), None)
                if copy is not None:
                    copy["also_in"].append(f"{self.source_path(passage.file)}:{passage.line_start}-{passage.line_end}")
                    continue
                if max_per_file and sum(c["passage"].file == passage.file for c in chosen) >= max_per_file:
                    continue
                chosen.append({"row": row, "score": score, "passage": passage, "primary": passage, "also_in": [],
                               "shingles": shingles})
        hits = []
        for rank, c in enumerate(chosen, start=1):
            d_rank, d_score = dense_at.get(c["row"], (None, None))
            s_rank, s_score = sparse_at.get(c["row"], (None, None))
            hits.append(Hit(rank, c["score"], mode, c["passage"], self.source_path(c["passage"].file),
                            d_rank, d_score, s_rank, s_score, also_in=tuple(c["also_in"])))
        return hits, [c["primary"] for c in chosen]

    def _touching(self, a: Passage, b: Passage) -> bool:
        """Same file, and the spans overlap or only whitespace lies between them."""
        if a.file != b.file:
            return False
        if a.start < b.end and b.start < a.end:
            return True
        first, second = (a, b) if a.end <= b.start else (b, a)
        gap = second.start - first.end
        return gap == 0 or (gap <= 64 and self.stored.document_text(a.file)[first.end : second.start].isspace())

    def _merge_into(self, target: dict, passage: Passage, chosen: list[dict]) -> None:
        source = self.stored.document_text(passage.file)
        target["passage"] = merged(target["passage"], passage, source)
        for other in [c for c in chosen if c is not target and self._touching(c["passage"], target["passage"])]:
            target["passage"] = merged(target["passage"], other["passage"], source)
            target["also_in"] += other["also_in"]
            chosen.remove(other)

    def _same_text(self, chosen: dict, row: int, theirs: set[tuple[str, ...]]) -> bool:
        """A copy: mostly the same words in the same order (5-word shingles), or nearly the same vector."""
        mine = chosen["shingles"]
        if mine and theirs and len(mine & theirs) >= COPY_CONTAINMENT * min(len(mine), len(theirs)):
            return True
        vectors = self.stored.vectors
        return vectors is not None and float(np.dot(vectors[chosen["row"]], vectors[row])) >= DUPLICATE_SIMILARITY

    def _judge(self, question: str, mode: str, hits: list[Hit], primaries: list[Passage], vector: np.ndarray) -> Answer:
        """Mark each top hit's answering sentence; say whether the best one is close enough to answer.

        Sentences (embedded at index time) are taken from the passages that ranked, not from what was
        merged into them, so the verdict does not depend on k.
        """
        top = hits[: config.ANSWER_PASSAGES]
        if self.stored.sentence_vectors is None:
            return Answer(question, mode, hits)
        sentences = [self.stored.sentences_in(p.file, p.start, p.end) for p in primaries[: len(top)]]
        rows = sorted({row for found in sentences for row, _, _ in found})
        if not rows:
            return Answer(question, mode, hits, answered=False, confidence=0.0)
        similarity = dict(zip(rows, np.asarray(self.stored.sentence_vectors[rows], dtype=np.float32) @ vector))
        marked = []
        for hit, found in zip(top, sentences):
            if found:
                _, start, end = max(found, key=lambda sentence: similarity[sentence[0]])
                hit = replace(hit, answer_start=start, answer_end=end)
            marked.append(hit)
        confidence = float(max(similarity.values()))
        return Answer(question, mode, marked + hits[len(top):], confidence >= config.ANSWER_THRESHOLD, confidence)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def take_warnings(self) -> list[str]:
        """Warnings not given out before (so each reaches the user once)."""
        new = self.warnings[self._warnings_taken :]
        self._warnings_taken = len(self.warnings)
        return new


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = tokenize(text)
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["Index", "Hit", "QAError"]
