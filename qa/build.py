"""Building an index: read, clean, split, embed (only what changed), write atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from qa import config
from qa.bm25 import BM25
from qa.documents import Document, Skipped, discover, read
from qa.embedder import SentenceTransformerEmbedder, token_counter
from qa.errors import ModelUnavailableError, QAError, UsageError
from qa.passages import Passage, TokenCounter, split_document
from qa.store import BuildLock, SourceFile, StoredIndex, write_generation

#: progress(done, total) while embedding.
Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    """What a build did."""

    index_dir: Path
    files: int = 0
    passages: int = 0
    embedded: int = 0
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


def build_index(
    paths: list[Path],
    index_dir: Path = config.DEFAULT_INDEX,
    model: str = config.DEFAULT_MODEL,
    settings: config.IndexSettings = config.IndexSettings(),
    progress: Progress | None = None,
) -> BuildReport:
    """Build or update the index of `paths` in `index_dir`, re-embedding only changed files."""
    started = time.perf_counter()
    report = BuildReport(index_dir=index_dir)
    existing = [p for p in paths if p.exists()]
    report.skipped += [Skipped(str(p), "does not exist") for p in paths if not p.exists()]
    if not existing:
        raise UsageError(f"Nothing to index: {', '.join(map(str, paths))} does not exist. Name a folder or file that does.")
    root, files, skipped = discover(existing)
    report.skipped += skipped

    with BuildLock(index_dir):
        previous = _previous(index_dir, model, settings)
        counter = token_counter(model)
        documents: list[Document] = []
        for path in files:
            try:
                document = read(path, root)
            except (OSError, ValueError) as error:
                report.skipped.append(Skipped(path.relative_to(root).as_posix(), _reason(error)))
                continue
            documents.append(document)
            if document.encoding != "utf-8":
                report.notes.append(f"{document.name}: not valid UTF-8, read as {document.encoding}")
        if not documents:
            raise QAError(f"No readable .txt or .md files under {', '.join(map(str, paths))}; nothing was indexed.")

        old = {f.path: f for f in previous.files} if previous else {}
        passages: list[Passage] = []
        sources: list[SourceFile] = []
        reused_rows: list[tuple[int, int]] = []  # (new row, old row) whose vector is kept
        titles: list[str] = []                   # per passage: its document's title, for the embedder
        # The model sees at most 254 word pieces of text; leave room for the title when it is given.
        max_tokens = min(settings.max_tokens, 254 - (TITLE_TOKENS + 1 if settings.title_context else 0))
        for document in documents:
            before = old.get(document.name)
            if before and before.sha256 == document.sha256:
                report.unchanged += 1
                kept = previous.passages(list(range(before.first_row, before.first_row + before.count)))
                reused_rows += [(len(passages) + i, before.first_row + i) for i in range(len(kept))]
                document_passages = kept
            else:
                report.changed += before is not None
                report.added += before is None
                document_passages = split_document(document, counter, max_tokens, settings.overlap)
            report.junk_lines += document.junk_lines
            sources.append(SourceFile(document.name, document.sha256, document.size,
                                      document.path.stat().st_mtime_ns, len(passages), len(document_passages)))
            passages += document_passages
            titles += [title(document, counter)] * len(document_passages)
        report.removed = len(set(old) - {d.name for d in documents})
        report.files, report.passages = len(documents), len(passages)

        if previous and not (report.changed or report.added or report.removed) and previous.root == str(root):
            report.up_to_date = True
            report.seconds = time.perf_counter() - started
            return report

        inputs = [_embedding_text(p, t) if settings.title_context else p.text for p, t in zip(passages, titles)]
        vectors, dimension = _vectors(inputs, reused_rows, previous, model, progress, report)
        manifest = {
            "format_version": config.FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "root": str(root),
            "paths": [str(p) for p in paths],
            "model": {"name": model, "dimension": dimension} if vectors is not None else None,
            "settings": settings.as_dict(),
            "passages": {"count": len(passages)},
            "bm25": {"k1": config.BM25_K1, "b": config.BM25_B, "epsilon": config.BM25_EPSILON},
            "files": [{"path": s.path, "size": s.size, "sha256": s.sha256, "passages": s.count} for s in sources],
        }
        bm25 = BM25.build([p.text for p in passages], settings.bm25_terms)
        sources_text = {d.name: d.text for d in documents}
        write_generation(index_dir, manifest, passages, sources, sources_text, vectors, bm25)
    report.seconds = time.perf_counter() - started
    return report


def _previous(index_dir: Path, model: str, settings: config.IndexSettings) -> StoredIndex | None:
    """The current index if its passages and vectors can be reused for these settings."""
    try:
        stored = StoredIndex(index_dir)
    except QAError:
        return None
    if stored.settings != settings:
        return None
    if stored.vectors is None or (stored.manifest.get("model") or {}).get("name") != model:
        return None
    return stored


#: Word pieces of a document title given to the embedder with each passage.
TITLE_TOKENS = 32


def title(document: Document, counter: TokenCounter) -> str:
    """A document's first content line, cut to TITLE_TOKENS word pieces."""
    first = document.paragraphs[0]
    line = document.text[first.start : first.end].split("\n")[0].strip()
    offsets = counter.offsets(line)
    return line if len(offsets) <= TITLE_TOKENS else line[: offsets[TITLE_TOKENS][0]].rstrip()


def _embedding_text(passage: Passage, title: str) -> str:
    """What the embedder sees: the passage, after its document's title unless it starts with it."""
    return passage.text if passage.text.startswith(title) else f"{title}\n{passage.text}"


def _vectors(
    texts: list[str],
    reused_rows: list[tuple[int, int]],
    previous: StoredIndex | None,
    model: str,
    progress: Progress | None,
    report: BuildReport,
) -> tuple[np.ndarray | None, int | None]:
    """Vectors for every passage: reused where the file is unchanged, embedded otherwise."""
    reused = dict(reused_rows)
    todo = [row for row in range(len(texts)) if row not in reused]
    if previous is not None and not todo:
        vectors = np.asarray(previous.vectors)[[reused[r] for r in range(len(texts))]]
        return vectors, vectors.shape[1]
    try:
        embedder = SentenceTransformerEmbedder(model)
    except ModelUnavailableError as error:
        report.warnings.append(f"{error}; the index has BM25 only (dense and hybrid search fall back to BM25).")
        report.vectors = False
        return None, None
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    if reused and previous is not None:
        new_rows, old_rows = zip(*reused.items())
        vectors[list(new_rows)] = np.asarray(previous.vectors)[list(old_rows)]
    step = 256
    for done in range(0, len(todo), step):
        rows = todo[done : done + step]
        vectors[rows] = embedder.encode([texts[r] for r in rows], batch_size=config.BATCH_SIZE)
        report.embedded += len(rows)
        if progress:
            progress(report.embedded, len(todo))
    return vectors, embedder.dimension


def _reason(error: BaseException) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, OSError):
        return (error.strerror or type(error).__name__).lower()
    return str(error) or type(error).__name__
