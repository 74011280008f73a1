"""Building an index: read, clean, split, embed (only what changed), write atomically."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from qa import config
from qa.bm25 import BM25
from qa.sources import Document, Skipped, discover, read
from qa.embedder import (
    ONNX_FILES, Embedder, SentenceTransformerEmbedder, export, fingerprint, onnx_embedder, token_counter,
)
from qa.errors import ModelUnavailableError, QAError, UsageError
from qa.passages import Passage, TokenCounter, sentence_spans, split_document
from qa.search import APPROXIMATE_FILE, DenseIndex, dense_kind, recorded_kind
from qa.store import BuildLock, SourceFile, StoredIndex, clean_leftovers, new_scratch, write_generation

#: progress(done, total) while embedding.
Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    """What a build did."""

    index_dir: Path
    files: int = 0
    passages: int = 0
    embedded: int = 0            # passages embedded (the rest were reused)
    sentences_embedded: int = 0  # sentences embedded, for marking answers
    junk_lines: int = 0
    unchanged: int = 0
    changed: int = 0
    added: int = 0
    removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vectors: bool = True
    up_to_date: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0      # of which embedding passages
    sentence_seconds: float = 0.0   # and embedding sentences


def build_index(
    paths: list[Path],
    index_dir: Path = config.DEFAULT_INDEX,
    model: str = config.DEFAULT_MODEL,
    settings: config.IndexSettings = config.IndexSettings(),
    progress: Progress | None = None,
    follow_links: bool = False,
    cluster: str | None = None,
    dense_index: str = "auto",
) -> BuildReport:
    """Build or update the index of `paths` in `index_dir`, re-embedding only changed files.

    `follow_links`: also read symbolic links that lead outside `paths`.
    `cluster`: the address of a dask.distributed scheduler whose workers do the embedding.
    `dense_index`: the dense index kind (qa.search.DENSE_KINDS), or "auto" to choose by size."""
    started = time.perf_counter()
    existing = [p for p in paths if p.exists()]
    if not existing:
        raise UsageError(f"Nothing to index: {', '.join(map(str, paths))} does not exist. Name a folder or file that does.")
    with BuildLock(index_dir):
        clean_leftovers(index_dir)
        build = Build(paths, index_dir, model, settings, progress, follow_links, cluster, dense_index)
        build.report.skipped += [Skipped(str(p), "does not exist") for p in paths if not p.exists()]
        build.read(existing)
        build.split()
        if not build.report.up_to_date:
            build.embed_and_write()
    build.report.seconds = time.perf_counter() - started
    return build.report


@dataclass
class Build:
    """One build's state, from the files read to the generation written."""

    paths: list[Path]
    index_dir: Path
    model: str
    settings: config.IndexSettings
    progress: Progress | None
    follow_links: bool = False
    cluster: str | None = None      # a Dask scheduler address: embed there (qa/cluster.py)
    dense_index: str = "auto"       # flat, ivf, ivfpq, or auto (by size)
    report: BuildReport = field(init=False)
    root: Path = field(init=False)
    documents: list[Document] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)          # what the embedder sees, per passage
    reused: dict[int, int] = field(default_factory=dict)     # new row -> old row whose vector is kept
    unchanged: set[str] = field(default_factory=set)          # files whose content hash did not change

    def __post_init__(self) -> None:
        self.report = BuildReport(index_dir=self.index_dir)
        try:
            self.fingerprint: str | None = fingerprint(self.model)
        except ModelUnavailableError:
            self.fingerprint = None
        try:
            current: StoredIndex | None = StoredIndex(self.index_dir)
        except QAError:
            current = None
        #: The files the current index holds (for the summary), and the index itself if it can be reused.
        self.previous_files = {f.path: f for f in current.files} if current else {}
        self.previous = current if current and self._reusable(current) else None
        self.counter = token_counter(self.model)

    def _reusable(self, stored: StoredIndex) -> bool:
        """Whether an index's passages and vectors fit this build's settings and model."""
        recorded = stored.manifest.get("model") or {}
        return (stored.settings == self.settings and stored.vectors is not None
                and recorded.get("name") == self.model and recorded.get("fingerprint") == self.fingerprint)

    def read(self, existing: list[Path]) -> None:
        """Read every supported file under the paths; skip the unreadable with a reason."""
        self.root, files, skipped = discover(existing, self.follow_links)
        self.report.skipped += skipped
        for path in files:
            try:
                document = read(path, self.root)
            except (OSError, ValueError) as error:
                self.report.skipped.append(Skipped(path.relative_to(self.root).as_posix(), _reason(error)))
                continue
            self.documents.append(document)
            if document.encoding not in ("utf-8", "utf-16"):
                self.report.notes.append(f"{document.name}: not valid UTF-8, read as {document.encoding}")
            self.report.notes += [f"{document.name}: {note}" for note in document.notes]
        if not self.documents:
            raise QAError(f"No readable documents (.txt, .md, .html, .pdf, .docx) under {', '.join(map(str, self.paths))}; nothing was indexed.")

    def split(self) -> None:
        """Passages of every document: kept from the previous index when the file is unchanged."""
        report, previous = self.report, self.previous
        old = self.previous_files
        # The model sees at most 254 word pieces of text; leave room for the title when it is given.
        title_room = TITLE_TOKENS + 1 if self.settings.title_context else 0
        max_tokens = min(self.settings.max_tokens, 254 - title_room)
        for document in self.documents:
            before = old.get(document.name)
            same = before is not None and before.sha256 == document.sha256
            report.unchanged += same
            report.changed += before is not None and not same
            report.added += before is None
            if previous and same:
                self.unchanged.add(document.name)
                passages = previous.passages(list(range(before.first_row, before.first_row + before.count)))
                self.reused.update({len(self.passages) + i: before.first_row + i for i in range(len(passages))})
            else:
                passages = split_document(document, self.counter, max_tokens, self.settings.overlap)
            report.junk_lines += document.junk_lines
            self.sources.append(SourceFile(document.name, document.sha256, document.size,
                                           document.path.stat().st_mtime_ns, len(self.passages), len(passages)))
            heading = title(document, self.counter)
            self.inputs += [embedding_text(p, heading) if self.settings.title_context else p.text for p in passages]
            self.passages += passages
        report.removed = len(set(old) - {d.name for d in self.documents})
        report.files, report.passages = len(self.documents), len(self.passages)
        report.up_to_date = bool(previous and not (report.changed or report.added or report.removed)
                                 and previous.root == str(self.root)
                                 and recorded_kind(previous.manifest.get("dense") or {})
                                 == dense_kind(self.dense_index, len(self.passages)))

    def embed_and_write(self) -> None:
        """Embed what is new and write a complete generation beside the current one."""
        scratch = new_scratch(self.index_dir)
        try:
            onnx = self._onnx(scratch)
            make = (lambda: onnx_embedder(scratch)) if onnx else (lambda: SentenceTransformerEmbedder(self.model))
            if self.cluster:
                make = _cluster_embedder(self.cluster, self.model, scratch if onnx else None)
            embedder = _Lazy(make)
            keys, sentence_reused = self._sentences()
            total = len(self.inputs) - len(self.reused) + len(keys) - len(sentence_reused)
            report = self.report
            progress = ((lambda: self.progress(report.embedded + report.sentences_embedded, total))
                        if self.progress else None)
            old = self.previous
            vectors = _vectors(self.inputs, self.reused, old and old.vectors, embedder, progress, report, "embedded")
            sentences = None
            if vectors is not None:
                texts = self.documents_text
                sentence_vectors = _vectors([texts[f][s:e] for f, s, e in keys], sentence_reused,
                                            old and old.sentence_vectors, embedder, progress, report,
                                            "sentences_embedded")
                sentences = (keys, sentence_vectors) if sentence_vectors is not None else None
            if vectors is None:
                onnx = {}
            elif not onnx:
                self.report.notes.append("questions will load sentence-transformers (a slower start) "
                                         "because the model could not be exported to ONNX")
            extra: dict[str, Path] = dict(onnx)
            dense: dict[str, object] = {"kind": dense_kind(self.dense_index, len(self.passages))}
            if vectors is not None and dense["kind"] != "flat":
                extra[APPROXIMATE_FILE] = scratch / APPROXIMATE_FILE
                dense = DenseIndex.build_approximate(vectors, extra[APPROXIMATE_FILE], str(dense["kind"]))
            manifest = {
                "format_version": config.FORMAT_VERSION,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "root": str(self.root),
                "paths": [os.path.abspath(p) for p in self.paths],
                "skipped": [s.path for s in self.report.skipped],
                "follow_links": self.follow_links,
                "model": None if vectors is None else {
                    "name": self.model, "dimension": int(vectors.shape[1]),
                    "fingerprint": self.fingerprint, "onnx": bool(onnx)},
                "dense": dense,
                "settings": self.settings.as_dict(),
                "passages": {"count": len(self.passages)},
                "bm25": {"k1": config.BM25_K1, "b": config.BM25_B, "epsilon": config.BM25_EPSILON},
                "files": [{"path": s.path, "size": s.size, "sha256": s.sha256, "passages": s.count}
                          for s in self.sources],
            }
            bm25 = BM25.build([p.text for p in self.passages], self.settings.bm25_terms)
            write_generation(self.index_dir, manifest, self.passages, self.sources, self.documents_text, vectors, bm25,
                             extra, sentences, regions={d.name: d.regions for d in self.documents})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @property
    def documents_text(self) -> dict[str, str]:
        return {d.name: d.text for d in self.documents}

    def _sentences(self) -> tuple[list[tuple[str, int, int]], dict[int, int]]:
        """Every sentence of every document once, as (file, start, end), and which keep a previous vector."""
        keys = [(d.name, s, e) for d in self.documents for p in d.paragraphs for s, e in sentence_spans(d.text, p.start, p.end)]
        reused: dict[int, int] = {}
        previous = self.previous
        if previous is not None and previous.sentence_vectors is not None:
            old_rows = {(f, s, e): row for f in self.unchanged for row, s, e in previous.sentences_in(f, 0, 1 << 62)}
            reused = {i: old_rows[key] for i, key in enumerate(keys) if key in old_rows}
        return keys, reused

    def _onnx(self, scratch: Path) -> dict[str, Path]:
        """The model's ONNX files in `scratch`: linked from the previous index, or exported anew."""
        if self.fingerprint is None:
            return {}
        files = {name: scratch / name for name in ONNX_FILES}
        if self.previous and (self.previous.manifest.get("model") or {}).get("onnx"):
            for name, path in files.items():       # same model fingerprint, or it would not be reused
                os.link(self.previous.folder / name, path)
            return files
        try:
            export(self.model, scratch)
        except Exception as error:  # an unsupported architecture, no torch...: fall back, never guess
            self.report.notes.append(f"ONNX export failed ({str(error).splitlines()[0] if str(error) else type(error).__name__})")
            return {}
        return files


#: Word pieces of a document title given to the embedder with each passage.
TITLE_TOKENS = 32


def title(document: Document, counter: TokenCounter) -> str:
    """A document's title (its reader's, else its first content line), cut to TITLE_TOKENS word pieces."""
    first = document.paragraphs[0]
    line = document.title or document.text[first.start : first.end].split("\n")[0].strip()
    offsets = counter.offsets(line)
    return line if len(offsets) <= TITLE_TOKENS else line[: offsets[TITLE_TOKENS][0]].rstrip()


def embedding_text(passage: Passage, title: str) -> str:
    """What the embedder sees: the passage, after its document's title unless it starts with it."""
    return passage.text if passage.text.startswith(title) else f"{title}\n{passage.text}"


def _cluster_embedder(address: str, model: str, onnx_folder: Path | None) -> Callable[[], Embedder]:
    """A maker of the embedder that sends the work to a Dask cluster (imported only when asked for)."""
    from qa.cluster import ClusterEmbedder

    return lambda: ClusterEmbedder(address, model, onnx_folder)


class _Lazy:
    """An embedder made on first use, so a build that embeds nothing never loads the model."""

    def __init__(self, make: Callable[[], Embedder]) -> None:
        self._make = make
        self._embedder: Embedder | None = None

    def get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._make()
        return self._embedder


def _vectors(
    texts: list[str],
    reused: dict[int, int],
    previous: np.ndarray | None,
    embedder: _Lazy,
    progress: Callable[[], None] | None,
    report: BuildReport,
    count: str,
) -> np.ndarray | None:
    """Vectors for every text: reused where the file is unchanged (`reused`: row -> previous row), embedded otherwise."""
    todo = [row for row in range(len(texts)) if row not in reused]
    if previous is not None and not todo:
        return np.asarray(previous)[[reused[r] for r in range(len(texts))]]
    try:
        model = embedder.get()
    except ModelUnavailableError as error:
        report.warnings.append(f"{error}; the index has BM25 only (dense and hybrid search fall back to BM25).")
        report.vectors = False
        return None
    vectors = np.zeros((len(texts), model.dimension), dtype=np.float32)
    if reused and previous is not None:
        new_rows, old_rows = zip(*reused.items())
        vectors[list(new_rows)] = np.asarray(previous)[list(old_rows)]
    step = 256
    started = time.perf_counter()
    for done in range(0, len(todo), step):
        rows = todo[done : done + step]
        vectors[rows] = model.encode([texts[r] for r in rows], batch_size=config.BATCH_SIZE)
        setattr(report, count, getattr(report, count) + len(rows))
        if progress:
            progress()
    seconds = "embed_seconds" if count == "embedded" else "sentence_seconds"
    setattr(report, seconds, getattr(report, seconds) + time.perf_counter() - started)
    return vectors


def _reason(error: BaseException) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, OSError):
        return (error.strerror or type(error).__name__).lower()
    return str(error) or type(error).__name__
