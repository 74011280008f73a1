"""Building an index: find the files, read what changed, split, embed what is new, write atomically.

The steps, in order, are methods of `Build`: `read` (a file the index holds unchanged is carried over, not
read: qa/ingest/carry.py), `split` (passages and what the embedder sees of each: qa/ingest/split.py and
context.py), `embed_and_write` (vectors reused by key or embedded: qa/ingest/embedding.py; the generation
written by qa/store/generation.py).

`BuildReport` and `Progress` live in qa/ingest/report.py and are imported from here as well. (Over 300
lines: `Build` is the one place that decides, step by step, what is read, carried over, embedded and
written; the work of each step is in the modules named above.)
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa import config
from qa.errors import ModelUnavailableError, NothingReadableError, QAError, UsageError
from qa.ingest import embedding
from qa.ingest.carry import Carry, Part, StoredVectors, recorded_mtime
from qa.ingest.context import document_context, embedding_text, passage_tokens
from qa.ingest.split import document_sentences, sentence_pieces, split_document
from qa.ingest.loaded import Models
from qa.ingest.model_export import model_intact, onnx_files
from qa.ingest.report import BuildReport, Progress
from qa.ingest.vectors import assemble
from qa.model.embedder import Embedder, SentenceTransformerEmbedder, fingerprint
from qa.search.bm25 import BM25
from qa.search.dense import APPROXIMATE_FILE, DenseIndex, dense_kind
from qa.sources import Document, Skipped, discover
from qa.sources.pool import read_all
from qa.store.generation import KEYS, Sentences, SourceFile, write_generation
from qa.store.lock import BuildLock, clean_leftovers, write_error
from qa.store.manifest import FileRecord, Manifest, ModelRecord
from qa.store.ownership import claim, remove_owned, reuse_or_make_owned_folder
from qa.store.stored import StoredIndex

if TYPE_CHECKING:
    from qa.ingest.cluster import ClusterEmbedder

__all__ = ["Build", "BuildReport", "Progress", "build_index"]


def build_index(
    paths: list[Path],
    index_dir: Path = config.DEFAULT_INDEX,
    model: str = config.DEFAULT_MODEL,
    settings: config.IndexSettings = config.IndexSettings(),
    progress: Progress | None = None,
    quantization: str = config.DEFAULT_QUANTIZATION,
    follow_links: bool = False,
    cluster: str | None = None,
    dense_index: str = "auto",
    limits: config.ReadLimits | None = None,
    models: Models | None = None,
) -> BuildReport:
    """Build or update the index of `paths` in `index_dir`, reading only files that changed and embedding
    only passages not embedded before.

    `progress(stage, done, total)` is called from the start: stage "reading" counts files, "splitting"
    files, "embedding" passages. `follow_links`: also read symbolic links that lead outside `paths`.
    `cluster`: the address of a dask.distributed scheduler whose workers do the embedding.
    `dense_index`: the dense index kind (qa.search.DENSE_KINDS), or "auto" to choose by size.
    `limits`: what reading one file may cost (default: config.ReadLimits.current()).
    `models`: the tokenizer and embedder kept loaded between builds (qa/ingest/loaded.py); a caller that
    updates the index again and again (watching) passes the same one each time.
    """
    started = time.perf_counter()
    if quantization not in config.QUANTIZATIONS:
        raise UsageError(f"Unknown quantization {quantization!r}; choose one of {', '.join(config.QUANTIZATIONS)}.")
    if cluster:
        from qa.ingest.cluster import check_address, reach

        check_address(cluster)   # malformed: misuse, at once
        reach(cluster)           # nothing there, or not a Dask scheduler: one line within the connect timeout
    existing = [p for p in paths if p.exists()]
    if not existing:
        raise UsageError(f"Nothing to index: {', '.join(map(str, paths))} does not exist. Name a folder or file that does.")
    with BuildLock(index_dir):
        build = Build(paths, index_dir, model, settings, progress, quantization, follow_links, cluster, dense_index,
                      limits or config.ReadLimits.current(), models or Models())
        clean_leftovers(index_dir, keep=build.checkpoint.name)
        build.report.skipped += [Skipped(str(p), "does not exist") for p in paths if not p.exists()]
        build.read(existing)
        build.split()
        if build.report.up_to_date:
            remove_owned(build.checkpoint, claim(index_dir))   # nothing left to resume
        else:
            try:
                build.embed_and_write()
            except (OSError, sqlite3.Error) as error:   # a full disk, in the scratch space too: one line
                raise write_error(error, index_dir) from None
    build.report.seconds = time.perf_counter() - started
    return build.report


@dataclass
class Build:
    """One build's state, from the files found to the generation written."""

    paths: list[Path]
    index_dir: Path
    model: str
    settings: config.IndexSettings
    progress: Progress | None
    quantization: str = config.DEFAULT_QUANTIZATION
    follow_links: bool = False
    cluster: str | None = None      # a Dask scheduler address: embed there (qa/ingest/cluster.py)
    dense_index: str = "auto"       # flat, ivf, ivfpq, or auto (by size)
    limits: config.ReadLimits = field(default_factory=config.ReadLimits)
    models: Models = field(default_factory=Models)
    report: BuildReport = field(init=False)
    root: Path = field(init=False)
    #: Every file to index, in order: its name and what became of it (its Document, or the modification
    #: time with which it is carried over unread).
    found: list[tuple[str, Document | int]] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.report = BuildReport(index_dir=self.index_dir)
        self.started_ns = time.time_ns()
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
        self.carry: Carry | None = None     # set by `read` when files can be carried over
        self.counter = self.models.counter(self.model, self.fingerprint)
        self.salt = embedding.salt(self.fingerprint, self.quantization)
        #: Scratch space of builds with this model and splitter: a killed build's vectors wait here.
        self.checkpoint = self.index_dir / embedding.checkpoint_name(self.salt)

    def _reusable(self, stored: StoredIndex) -> bool:
        """Whether an index's vectors were made by this build's model, runtime and splitter."""
        recorded = stored.manifest.model
        return (stored.vectors is not None and recorded is not None and recorded.name == self.model
                and recorded.fingerprint == self.fingerprint
                and recorded.quantization == self.quantization
                and stored.manifest.splitter_version == config.SPLITTER_VERSION)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(stage, done, total)

    def read(self, existing: list[Path]) -> None:
        """Find every supported file under the paths; read those the index does not hold unchanged, each in
        a worker process within the read limits; skip the unreadable with a reason."""
        self.root, files, skipped = discover(existing, self.follow_links)
        self.report.skipped += skipped
        previous = self.previous
        if previous and previous.root == str(self.root) and previous.settings == self.settings:
            self.carry = Carry(previous)
        names = [path.relative_to(self.root).as_posix() for path in files]
        unread = self.carry.unread(names, files, int(self.limits.file_mb * 1_000_000)) if self.carry else {}
        wanted = [path for name, path in zip(names, files) if name not in unread]
        self._progress("reading", 0, len(wanted))
        outcomes = read_all(wanted, self.root, self.limits, lambda done, total: self._progress("reading", done, total))
        read: dict[str, Document] = {}
        for outcome in outcomes:
            if isinstance(outcome, Skipped):
                self.report.skipped.append(outcome)
                continue
            read[outcome.name] = outcome
            if outcome.encoding not in ("utf-8", "utf-16"):
                self.report.notes.append(f"{outcome.name}: not valid UTF-8, read as {outcome.encoding}")
            self.report.notes += [f"{outcome.name}: {note}" for note in outcome.notes]
        self.report.read = len(read)
        self.found = [(name, read[name] if name in read else unread[name]) for name in names
                      if name in read or name in unread]
        if not self.found:
            raise NothingReadableError(
                f"No readable documents (.txt, .md, .html, .pdf, .docx) under {', '.join(map(str, self.paths))}; "
                "nothing was indexed.", self.report.skipped)

    def split(self) -> None:
        """Each file's part of the new generation: carried over when the index holds it unchanged (by size
        and time, or by hash and text when it was read), else split into passages and their embedder jobs."""
        report, carry = self.report, self.carry
        fresh: set[str] = set()    # names of the files to split: new, edited, or the same bytes read differently
        for name, what in self.found:
            before = self.previous_files.get(name)
            if isinstance(what, Document):
                report.junk_lines += what.junk_lines
                same = before is not None and before.sha256 == what.sha256
                if not (carry and carry.same(name, what.sha256, what.text)):
                    fresh.add(name)
            else:
                same = True
            report.unchanged += same
            report.changed += before is not None and not same
            report.added += before is None
        report.removed = len(set(self.previous_files) - {name for name, _ in self.found})
        report.files = len(self.found)
        previous = self.previous
        report.up_to_date = bool(previous and carry and not fresh and not report.removed
                                 and previous.manifest.dense_kind == dense_kind(self.dense_index, previous.size)
                                 and self._model_intact(previous))
        if previous and report.up_to_date:
            report.passages = previous.size
            return
        max_tokens = passage_tokens(self.settings)
        for number, (name, what) in enumerate(self.found):
            self._progress("splitting", number, len(self.found))
            if not isinstance(what, Document):
                assert carry is not None
                self.parts.append(carry.part(name, what))
            elif name not in fresh:
                assert carry is not None
                self.parts.append(carry.part(name, self._recorded_mtime(what)))
            else:
                self.parts.append(self._split(what, max_tokens))
        report.passages = sum(len(part.passages) for part in self.parts)

    def _model_intact(self, previous: StoredIndex) -> bool:
        """The current generation's model files are undamaged (a damaged model is never kept)."""
        if model_intact(previous):
            return True
        self.report.notes.append("the current index's model files are damaged; rebuilding them")
        return False

    def _recorded_mtime(self, document: Document) -> int:
        return recorded_mtime(document.mtime_ns, self.started_ns)

    def _split(self, document: Document, max_tokens: int) -> Part:
        """A file read now: its passages, and what the embedder sees of each with the spans of its sentences."""
        passages = split_document(document, self.counter, max_tokens, self.settings.overlap)
        sentences = document_sentences(document)
        context = document_context(document, self.counter, self.settings)
        jobs = []
        for passage in passages:
            text = embedding_text(passage, context)
            shift = len(text) - len(passage.text)
            spans = [(s - passage.start + shift, e - passage.start + shift)
                     for s, e in sentence_pieces(sentences, document.text, passage)]
            jobs.append(embedding.job(text, spans, self.salt))
        return Part(document.name, document.sha256, document.size, self._recorded_mtime(document), document.text,
                    document.regions, passages, jobs, junk_lines=document.junk_lines)

    def embed_and_write(self) -> None:
        """Embed what is new and write a complete generation beside the current one.

        Vectors of carried-over files come from the current generation; the others' from it or the
        checkpoint when their key is there; what is embedded is checkpointed, so a killed build resumes.
        The checkpoint goes once the generation is written.
        """
        index_id = claim(self.index_dir)
        scratch = reuse_or_make_owned_folder(self.index_dir, self.checkpoint.name, index_id)
        onnx = {} if self.fingerprint is None else onnx_files(
            scratch / "onnx", self.model, self.quantization, self.previous, lambda stage: self._progress(stage, 0, 0),
            self.report.notes)
        made = self._vectors(scratch, onnx)
        if made is None:
            onnx = {}
        elif not onnx:
            self.report.notes.append("questions will load sentence-transformers (a slower start) "
                                     "because the model could not be exported to ONNX")
        passages = [p for part in self.parts for p in part.passages]
        sources, first = [], 0
        for part in self.parts:
            sources.append(SourceFile(part.name, part.sha256, part.size, part.mtime_ns, first, len(part.passages)))
            first += len(part.passages)
        extra: dict[str, Path] = dict(onnx)
        dense: dict[str, object] = {"kind": dense_kind(self.dense_index, len(passages))}
        vectors, sentences = (made[0], made[1]) if made else (None, None)
        if made is not None:
            if dense["kind"] != "flat":
                extra[APPROXIMATE_FILE] = scratch / APPROXIMATE_FILE
                dense = DenseIndex.build_approximate(made[0], extra[APPROXIMATE_FILE], str(dense["kind"]))
            extra[KEYS] = scratch / KEYS
            np.save(extra[KEYS], np.asarray(made[2], dtype=f"S{embedding.KEY_BYTES}"))
        manifest = Manifest(
            root=str(self.root),
            paths=tuple(os.path.abspath(p) for p in self.paths),
            settings=self.settings,
            passages=len(passages),
            model=None if vectors is None else ModelRecord(
                self.model, int(vectors.shape[1]), self.fingerprint, bool(onnx),
                self.quantization if onnx else "none"),
            dense=dense,
            files=tuple(FileRecord(s.path, s.size, s.sha256, s.count) for s in sources),
            skipped=tuple(s.path for s in self.report.skipped),
            follow_links=self.follow_links,
            bm25={"k1": config.BM25_K1, "b": config.BM25_B, "epsilon": config.BM25_EPSILON},
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            splitter_version=config.SPLITTER_VERSION,
        )
        bm25 = BM25.build([p.text for p in passages], self.settings.bm25_terms)
        write_generation(self.index_dir, manifest, passages, sources, {part.name: part.text for part in self.parts},
                         vectors, bm25, extra, sentences, regions={part.name: part.regions for part in self.parts})
        remove_owned(scratch, index_id)

    def _vectors(self, scratch: Path, onnx: dict[str, Path]) -> tuple[np.ndarray, Sentences, list[bytes]] | None:
        """Passage vectors, every passage's sentence pieces with their vectors, and each passage's key (None:
        no model)."""
        stored = StoredVectors.of(self.previous) if self.previous else None
        jobs = [job for part in self.parts for job in part.jobs]
        known = stored.known({job.key for job in jobs}) if stored else {}
        known.update(embedding.load_checkpoint(scratch))

        remote: list[ClusterEmbedder] = []   # closed when the embedding ends: a client has a thread of its own

        def make_embedder() -> Embedder:
            # The one place a build's embedder is made.
            self._progress("loading the model", 0, 0)
            if self.cluster:
                remote.append(_cluster_embedder(self.cluster, self.model, scratch / "onnx" if onnx else None))
                return remote[-1]
            if onnx:
                return self.models.embedder(self.model, self.fingerprint, self.quantization, scratch / "onnx")
            return SentenceTransformerEmbedder(self.model)

        started = time.perf_counter()
        try:
            results, embedded = embedding.embed_jobs(
                jobs, known, make_embedder, scratch, lambda done, total: self._progress("embedding", done, total))
        except ModelUnavailableError as error:
            self.report.warnings.append(f"{error}; the index has BM25 only (dense and hybrid search fall back to BM25).")
            self.report.vectors = False
            return None
        finally:
            for embedder in remote:
                embedder.close()
        self.report.embed_seconds = time.perf_counter() - started
        self.report.embedded = embedded
        arrays = assemble(self.parts, results, stored)
        self.report.reused = len(set(arrays[2])) - embedded
        return arrays


def _cluster_embedder(address: str, model: str, onnx_folder: Path | None) -> ClusterEmbedder:
    """The embedder that sends the work to a Dask cluster (imported only when asked for)."""
    from qa.ingest.cluster import ClusterEmbedder

    return ClusterEmbedder(address, model, onnx_folder)
