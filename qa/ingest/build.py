"""Building an index: read, clean, split, embed (only what changed), write atomically."""

from __future__ import annotations

import bisect
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from qa import config
from qa.ingest import embedding
from qa.search.bm25 import BM25
from qa.sources import Document, Skipped, discover
from qa.sources.pool import read_all
from qa.model.embedder import (
    ONNX_FILES, Embedder, SentenceTransformerEmbedder, export, exported, fingerprint, interrupts_kept, onnx_embedder,
    token_counter,
)
from qa.ingest.embedding import EmbedJob
from qa.errors import IndexFormatError, ModelUnavailableError, NothingReadableError, QAError, UsageError
from qa.ingest.split import Passage, TokenCounter, sentence_spans, split_document
from qa.store.ownership import claim, remove_owned, reuse_or_make_owned_folder
from qa.search.dense import APPROXIMATE_FILE, DenseIndex, dense_kind
from qa.store.manifest import FileRecord, Manifest, ModelRecord
from qa.store.generation import (
    KEYS, BuildLock, Sentences, SourceFile, StoredIndex, clean_leftovers, link_or_copy, write_error, write_generation,
)

#: progress(stage, done, total): stage "reading" or "splitting" (files), "embedding" (passages); "exporting the
#: model" and "loading the model" are stages without a count (total 0).
Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did."""

    index_dir: Path
    files: int = 0
    passages: int = 0
    embedded: int = 0            # passages embedded (one model pass each, sentence vectors included)
    reused: int = 0              # distinct passage texts whose vectors came from the previous index or checkpoint
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
    embed_seconds: float = 0.0      # of which embedding


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
) -> BuildReport:
    """Build or update the index of `paths` in `index_dir`, embedding only passages not embedded before.

    `progress(stage, done, total)` is called from the start: stage "reading" counts files, "splitting"
    files, "embedding" passages. `follow_links`: also read symbolic links that lead outside `paths`.
    `cluster`: the address of a dask.distributed scheduler whose workers do the embedding.
    `dense_index`: the dense index kind (qa.search.DENSE_KINDS), or "auto" to choose by size.
    `limits`: what reading one file may cost (default: config.ReadLimits.current()).
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
                      limits or config.ReadLimits.current())
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
    """One build's state, from the files read to the generation written."""

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
    report: BuildReport = field(init=False)
    root: Path = field(init=False)
    documents: list[Document] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    jobs: list[EmbedJob] = field(default_factory=list)       # what the embedder sees, per passage
    bm25_contexts: list[str] = field(default_factory=list)   # the context BM25 counts with each passage ("": none)

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
        """Read every supported file under the paths, each in a worker process within the read limits;
        skip the unreadable with a reason."""
        self.root, files, skipped = discover(existing, self.follow_links)
        self.report.skipped += skipped
        self._progress("reading", 0, len(files))
        for outcome in read_all(files, self.root, self.limits, lambda done, total: self._progress("reading", done, total)):
            if isinstance(outcome, Skipped):
                self.report.skipped.append(outcome)
                continue
            document = outcome
            self.documents.append(document)
            if document.encoding not in ("utf-8", "utf-16"):
                self.report.notes.append(f"{document.name}: not valid UTF-8, read as {document.encoding}")
            self.report.notes += [f"{document.name}: {note}" for note in document.notes]
        if not self.documents:
            raise NothingReadableError(
                f"No readable documents (.txt, .md, .html, .pdf, .docx) under {', '.join(map(str, self.paths))}; "
                "nothing was indexed.", self.report.skipped)

    def split(self) -> None:
        """Passages of every document (split anew: vectors, not passages, are what is reused)."""
        report, previous = self.report, self.previous
        old = self.previous_files
        for document in self.documents:
            before = old.get(document.name)
            same = before is not None and before.sha256 == document.sha256
            report.unchanged += same
            report.changed += before is not None and not same
            report.added += before is None
            report.junk_lines += document.junk_lines
        report.removed = len(set(old) - {d.name for d in self.documents})
        report.files = len(self.documents)
        report.up_to_date = bool(previous and not (report.changed or report.added or report.removed)
                                 and previous.root == str(self.root) and previous.settings == self.settings
                                 and previous.manifest.dense_kind == dense_kind(self.dense_index, previous.size)
                                 and self._previous_model_intact()
                                 # the same files read differently (a newer reader: footnotes kept, ...)
                                 and all(previous.document_text(d.name) == d.text for d in self.documents))
        if report.up_to_date:
            report.passages = previous.size
            return
        # The model sees at most 254 word pieces of text; leave room for the context when it is given.
        context_room = CONTEXT_TOKENS + 1 if self.settings.title_context else 0
        max_tokens = min(self.settings.max_tokens, 254 - context_room)
        for number, document in enumerate(self.documents):
            self._progress("splitting", number, len(self.documents))
            passages = split_document(document, self.counter, max_tokens, self.settings.overlap)
            self.sources.append(SourceFile(document.name, document.sha256, document.size,
                                           document.mtime_ns, len(self.passages), len(passages)))
            sentences = document_sentences(document)
            for passage, (heading, bm25_context) in zip(passages, passage_contexts(document, passages, self.counter,
                                                                                    self.settings)):
                self.bm25_contexts.append(bm25_context)
                text = embedding_text(passage, heading) if heading else passage.text
                shift = len(text) - len(passage.text)
                spans = [(s - passage.start + shift, e - passage.start + shift)
                         for s, e in sentence_pieces(sentences, document.text, passage)]
                self.jobs.append(embedding.job(text, spans, self.salt))
            self.passages += passages
        report.passages = len(self.passages)

    def _previous_model_intact(self) -> bool:
        """The previous generation's ONNX files match their checksums (a damaged model is never kept)."""
        if not (self.previous.manifest.model and self.previous.manifest.model.onnx):
            return True
        try:
            for name in ONNX_FILES:
                self.previous.verify(name)
        except IndexFormatError:
            self.report.notes.append("the current index's model files are damaged; rebuilding them")
            return False
        return True

    def embed_and_write(self) -> None:
        """Embed what is new and write a complete generation beside the current one.

        Vectors come from the previous generation or the checkpoint when their key is there; what is
        embedded is checkpointed, so a killed build resumes. The checkpoint goes once the generation is written.
        """
        index_id = claim(self.index_dir)
        scratch = reuse_or_make_owned_folder(self.index_dir, self.checkpoint.name, index_id)
        onnx = self._onnx(scratch / "onnx")
        vectors, sentences = self._vectors(scratch, onnx)
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
        if vectors is not None:
            extra[KEYS] = scratch / KEYS
            np.save(extra[KEYS], np.asarray([j.key for j in self.jobs], dtype=f"S{embedding.KEY_BYTES}"))
        manifest = Manifest(
            root=str(self.root),
            paths=tuple(os.path.abspath(p) for p in self.paths),
            settings=self.settings,
            passages=len(self.passages),
            model=None if vectors is None else ModelRecord(
                self.model, int(vectors.shape[1]), self.fingerprint, bool(onnx),
                self.quantization if onnx else "none"),
            dense=dense,
            files=tuple(FileRecord(s.path, s.size, s.sha256, s.count) for s in self.sources),
            skipped=tuple(s.path for s in self.report.skipped),
            follow_links=self.follow_links,
            bm25={"k1": config.BM25_K1, "b": config.BM25_B, "epsilon": config.BM25_EPSILON},
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            splitter_version=config.SPLITTER_VERSION,
        )
        bm25 = BM25.build([bm25_text(p, c) for p, c in zip(self.passages, self.bm25_contexts)], self.settings.bm25_terms)
        write_generation(self.index_dir, manifest, self.passages, self.sources, self.documents_text, vectors, bm25,
                         extra, sentences, regions={d.name: d.regions for d in self.documents})
        remove_owned(scratch, index_id)

    @property
    def documents_text(self) -> dict[str, str]:
        return {d.name: d.text for d in self.documents}

    def _vectors(self, scratch: Path, onnx: dict[str, Path]) -> tuple[np.ndarray | None, Sentences | None]:
        """Passage vectors, and every passage's sentence pieces with their vectors (None: no model)."""
        known = self._previous_vectors()
        known.update(embedding.load_checkpoint(scratch))
        made = onnx_embedder if onnx else None

        def make_embedder() -> Embedder:
            # The one place a build's embedder is made.
            self._progress("loading the model", 0, 0)
            if self.cluster:
                return _cluster_embedder(self.cluster, self.model, scratch / "onnx" if onnx else None)
            return made(scratch / "onnx") if made else SentenceTransformerEmbedder(self.model)

        started = time.perf_counter()
        try:
            results, embedded = embedding.embed_jobs(
                self.jobs, known, make_embedder, scratch,
                lambda done, total: self._progress("embedding", done, total))
        except ModelUnavailableError as error:
            self.report.warnings.append(f"{error}; the index has BM25 only (dense and hybrid search fall back to BM25).")
            self.report.vectors = False
            return None, None
        self.report.embed_seconds = time.perf_counter() - started
        self.report.embedded = embedded
        self.report.reused = len({j.key for j in self.jobs}) - embedded
        dimension = len(next(iter(results.values())).vector) if results else 384
        vectors = np.zeros((len(self.jobs), dimension), dtype=np.float32)
        keys: list[tuple[str, int, int, int]] = []
        pieces: list[np.ndarray] = []
        for row, (item, passage) in enumerate(zip(self.jobs, self.passages)):
            found = results[item.key]
            vectors[row] = found.vector
            shift = passage.start - (len(item.text) - len(passage.text))
            keys += [(passage.file, s + shift, e + shift, row) for s, e in item.spans]
            pieces.append(found.sentences)
        stacked = np.concatenate(pieces) if pieces else np.zeros((0, dimension), dtype=np.float16)
        return vectors, (keys, stacked)

    def _previous_vectors(self) -> dict[bytes, embedding.Vectors]:
        """The previous generation's vectors by key (none when it was made another way)."""
        previous = self.previous
        if previous is None or previous.sentence_vectors is None:
            return {}
        table = previous.input_keys()
        if table is None:
            return {}
        keys, sentence_rows = table
        vectors = np.asarray(previous.vectors)
        sentences = previous.sentence_vectors
        return {key: embedding.Vectors(vectors[row], np.asarray(sentences[rows]))
                for row, (key, rows) in enumerate(zip(keys, sentence_rows))}

    def _onnx(self, folder: Path) -> dict[str, Path]:
        """The model's ONNX files in `folder`: from the previous index after checking them, from a killed
        build's checkpoint if complete, or exported anew."""
        if self.fingerprint is None:
            return {}
        files = {name: folder / name for name in ONNX_FILES}
        if self.previous and self.previous.manifest.model and self.previous.manifest.model.onnx:
            try:
                for name in ONNX_FILES:
                    self.previous.verify(name)      # same fingerprint and quantization, or it would not be reused
            except IndexFormatError:
                self.report.notes.append("the current index's model is damaged; exporting the model again")
            else:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                for name, path in files.items():
                    link_or_copy(self.previous.folder / name, path)
                return files
        if exported(folder, self.quantization):
            return files
        shutil.rmtree(folder, ignore_errors=True)
        self._progress("exporting the model", 0, 0)
        try:
            with interrupts_kept():
                export(self.model, folder, self.quantization)
        except Exception as error:  # an unsupported architecture, no torch...: fall back, never guess
            self.report.notes.append(f"ONNX export failed ({str(error).splitlines()[0] if str(error) else type(error).__name__})")
            shutil.rmtree(folder, ignore_errors=True)
            return {}
        return files


def document_sentences(document: Document) -> list[tuple[int, int]]:
    """Every sentence of a document as (start, end), in order."""
    text = document.text
    return [span for p in document.paragraphs for span in sentence_spans(text, p.start, p.end)]


def sentence_pieces(sentences: list[tuple[int, int]], text: str, passage: Passage) -> list[tuple[int, int]]:
    """The sentences inside a passage; a sentence that runs past the passage's edge is cut there, so a
    sentence longer than a passage is marked by its pieces."""
    first = bisect.bisect_right(sentences, (passage.start, 1 << 62)) - 1
    pieces = []
    for start, end in sentences[max(first, 0):]:
        if start >= passage.end:
            break
        start, end = max(start, passage.start), min(end, passage.end)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            pieces.append((start, end))
    return pieces


#: Word pieces of a document title given to the embedder with each passage.
TITLE_TOKENS = 32


def title(document: Document, counter: TokenCounter) -> str:
    """A document's title (its reader's, else its first content line), cut to TITLE_TOKENS word pieces."""
    first = document.paragraphs[0]
    line = document.title or document.text[first.start : first.end].split("\n")[0].strip()
    line = line[: TITLE_TOKENS * 16]    # a word piece is rarely longer: no need to tokenize a 10 MB first line
    offsets = counter.offsets(line)
    return line if len(offsets) <= TITLE_TOKENS else line[: offsets[TITLE_TOKENS][0]].rstrip()


#: Word pieces of the context (title and heading path) given with each passage.
CONTEXT_TOKENS = 48
#: A line alone between blank lines is a plain-text heading when it is this short and reads like one; a
#: text with fewer such lines is not organised by headings (a news article's "Leave a Reply").
HEADING_CHARS = 80
MIN_HEADINGS = 3
_NOT_HEADING = re.compile(r"[.,;:!?]$|\s\|\s|^(?:new|changed|deprecated) in version|\s=\s|^>>>|^source code:"
                          r"|^(?:note|notes|see also|warning|tip|hint|important|caution|example|examples)$", re.IGNORECASE)
#: A heading that names code (an entry of a reference: "os.environ", "zip(*iterables)") rather than a section.
_CODE_HEADING = re.compile(r"\(|[^\W\d]\w*[._]\w")


def plain_headings(text: str) -> list[tuple[int, str]]:
    """Headings of plain text and where each starts: short lines alone between blank lines that start with
    a letter and do not end like a sentence ("Built-in Functions", "zip(*iterables, strict=False)")."""
    lines = text.splitlines(keepends=True)
    found, offset = [], 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        alone = (number == 0 or not lines[number - 1].strip()) and (number + 1 < len(lines) and not lines[number + 1].strip())
        if alone and not line[0].isspace() and reads_like_heading(stripped):
            found.append((offset, stripped))
        offset += len(line)
    return found


def reads_like_heading(line: str) -> bool:
    """Whether a line is short, starts with a letter or a section number, and does not end like a sentence."""
    return (0 < len(line) <= HEADING_CHARS and re.match(r"(?:\d+(?:\.\d+)*\.?\s+)?[^\W\d_]", line) is not None
            and not _NOT_HEADING.search(line))


def heading_paths(text: str) -> list[tuple[int, str]]:
    """Where each plain-text heading starts and its path: the section it is in, then the entry it names
    ("Process Parameters > os.environ"); a section heading ends the entry above it. None in a text with
    fewer than MIN_HEADINGS headings."""
    headings = plain_headings(text)
    if len(headings) < MIN_HEADINGS:
        return []
    paths, section = [], None
    for start, line in headings:
        if _CODE_HEADING.search(line) and not line[0].isdigit():     # "4.3. The range() Function" is a section
            paths.append((start, f"{section} > {line}" if section else line))
        else:
            section = line
            paths.append((start, line))
    return paths


def heading_at(paths: list[tuple[int, str]], offset: int) -> str | None:
    """The heading path in force at `offset` of the text (None before the first heading)."""
    at = bisect.bisect_right(paths, (offset, "\U0010ffff")) - 1
    return paths[at][1] if at >= 0 else None


def passage_contexts(document: Document, passages: list[Passage], counter: TokenCounter,
                     settings: config.IndexSettings) -> list[tuple[str, str]]:
    """For each passage, what the embedder and what BM25 see before it ("": nothing).

    The embedder: with `title_context` the document's title, and with `heading_context` the heading
    path of the passage's section after it. BM25 (with `bm25_context`): the same, but a title only when
    it reads like one (a first line that is a whole sentence would add its words to every passage).
    """
    if not settings.title_context:
        return [("", "")] * len(passages)
    name = title(document, counter)
    paths = heading_paths(document.text) if document.kind == "text" else []
    for_bm25 = name if reads_like_heading(name) else ""
    found = []
    for passage in passages:
        heading = None
        if settings.heading_context:
            heading = passage.heading if document.kind != "text" else heading_at(paths, passage.start)
        embedded = context(name, heading, counter)
        counted = context(for_bm25, heading, counter) if settings.bm25_context else ""
        found.append((embedded, counted))
    return found


def context(title: str, heading: str | None, counter: TokenCounter) -> str:
    """The title and the heading path under it ("os — Miscellaneous... > os.environ"), cut to CONTEXT_TOKENS."""
    line = title if not heading or heading == title else heading if heading.startswith(title) else f"{title} > {heading}"
    line = line[: CONTEXT_TOKENS * 16]
    offsets = counter.offsets(line)
    return line if len(offsets) <= CONTEXT_TOKENS else line[: offsets[CONTEXT_TOKENS][0]].rstrip()


def embedding_text(passage: Passage, title: str) -> str:
    """What the embedder sees: the passage, after its document's title unless it starts with it."""
    return passage.text if passage.text.startswith(title) else f"{title}\n{passage.text}"


def bm25_text(passage: Passage, context: str) -> str:
    """What BM25 counts the terms of: the passage, after its context (none: "") unless it starts with it."""
    return embedding_text(passage, context) if context else passage.text


def _cluster_embedder(address: str, model: str, onnx_folder: Path | None) -> Embedder:
    """The embedder that sends the work to a Dask cluster (imported only when asked for)."""
    from qa.ingest.cluster import ClusterEmbedder

    return ClusterEmbedder(address, model, onnx_folder)
