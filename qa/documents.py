"""Find text files, read them, and tell real content from web junk.

Junk is recognised by general rules about the line itself (navigation and share
buttons, copyright and licence footers, comment forms, "See also" links, link
lists such as link-farm spam), never by file name. The text is kept exactly as
read: cleaning only marks which line ranges are content, so every passage cut
from a document is a verbatim span of it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import MAX_FILE_MB, TEXT_SUFFIXES


@dataclass(frozen=True)
class Paragraph:
    """A run of content text: `text[start:end]`, in block `block` (junk separates blocks)."""

    start: int
    end: int
    block: int


@dataclass
class Document:
    """One source file: its exact text and where the content is."""

    path: Path                 # on disk
    name: str                  # relative to the corpus root, with "/" separators
    text: str
    sha256: str
    size: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    junk_lines: int = 0
    encoding: str = "utf-8"


@dataclass
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


# --- discovery ------------------------------------------------------------------


def discover(paths: list[Path]) -> tuple[Path, list[Path], list[Skipped]]:
    """The corpus root and the text files under `paths`, recursively, sorted.

    The root is the deepest folder holding every path, so each file's name
    relative to it is unique. Files of other types are returned as skipped.
    """
    if not paths:
        raise ValueError("no paths given")
    resolved = [Path(os.path.abspath(p)) for p in paths]
    folders = [p if p.is_dir() else p.parent for p in resolved]
    root = Path(os.path.commonpath([str(f) for f in folders]))
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for path in resolved:
        if path.is_dir():
            for folder, subfolders, names in os.walk(path, followlinks=False):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                for name in sorted(names):
                    if name.startswith("."):
                        continue
                    _take(Path(folder) / name, files, skipped, seen, root)
        else:
            _take(path, files, skipped, seen, root)
    return root, sorted(files), skipped


def _take(path: Path, files: list[Path], skipped: list[Skipped], seen: set[Path], root: Path) -> None:
    if path in seen:
        return
    seen.add(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        files.append(path)
    else:
        skipped.append(Skipped(path.relative_to(root).as_posix(), "not a .txt or .md file"))


# --- reading --------------------------------------------------------------------


class Unreadable(ValueError):
    """A file that cannot be indexed; the message says why, in a few words."""


def read(path: Path, root: Path) -> Document:
    """Read a file and mark its content paragraphs (raises Unreadable or OSError)."""
    size = path.stat().st_size
    if size > MAX_FILE_MB * 1_000_000:
        raise Unreadable(f"{size / 1e6:.0f} MB, over the {MAX_FILE_MB:g} MB limit (set QA_MAX_FILE_MB to raise it)")
    data = path.read_bytes()
    head = data[:8192]
    if b"\x00" in head or sum(b < 32 and b not in b"\n\r\t\f" for b in head) > len(head) // 10:
        raise Unreadable("binary, not text")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("cp1252", errors="replace"), "cp1252"
    if not text.strip():
        raise Unreadable("empty")
    document = Document(
        path=path,
        name=path.relative_to(root).as_posix(),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        encoding=encoding,
    )
    document.paragraphs, document.junk_lines = find_paragraphs(text)
    if not document.paragraphs:
        raise Unreadable("nothing but junk lines")
    return document


# --- junk -----------------------------------------------------------------------

_MARKERS = frozenset(
    """share shares sharing print email mail tweet twitter facebook linkedin whatsapp
    telegram reddit pinterest line wechat weibo instagram youtube tiktok copy link links
    comment comments reply replies leave login logout log sign register subscribe
    newsletter menu home homepage search next previous prev back top related read more
    most popular viewed trending latest news photo photos video videos gallery
    advertisement advertising ad ads sponsored download app apps about us contact jobs
    careers privacy policy terms cookie cookies sitemap rss feed follow friend suggest
    recommend text aa aaa font size close skip navigation toggle click here tags tag
    category categories posted filed editor""".split()
)
_STOP = frozenset("to in the of on and a an for this at by with our your you it is or".split())
_LEADS = re.compile(
    r"^\W*(see also|related:|read more|read also|also read|more on this|share this|click here|tags:)",
    re.IGNORECASE,
)
_PHRASES = re.compile(
    r"will not be published|required fields are marked|leave a (reply|comment)"
    r"|app download|download (our|the) app|we use cookies|accept (all )?cookies",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(
    r"^\W*(copyright\b|©|\(c\)\s*\d)|all rights reserved"
    r"|(reproduction|reprint|republication|copying)\b.{0,80}\b(prohibited|forbidden|not permitted)"
    r"|\bICP\s*[备證证]|licensed under (a |the )?(creative commons|cc[- ]by)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s*$")
_BRACKETS_ONLY = re.compile(r"^(\s*\[[^\]]*\])+\s*$")
_URLS_ONLY = re.compile(r"^(\s*(https?://|www\.)\S+)+\s*$", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def is_junk(line: str) -> bool:
    """True when a (non-blank) line is web chrome rather than content."""
    stripped = line.strip()
    if not any(ch.isalpha() for ch in stripped):
        return True
    words = stripped.split()
    if len(words) <= 40 and (_PHRASES.search(stripped) or _COPYRIGHT.search(stripped)):
        return True
    if _LEADS.search(stripped) and not _SENTENCE_END.search(stripped):
        return True
    if _BRACKETS_ONLY.match(stripped) or _URLS_ONLY.match(stripped):
        return True
    if _is_link_list(stripped):
        return True
    fragment = len(words) <= 12 and not _SENTENCE_END.search(stripped)
    if fragment:
        tokens = [
            t.lower()
            for w in _WORD.findall(stripped)
            for t in _CAMEL.split(w)
            if t and not any(c.isdigit() for c in t)
        ]
        tokens = [t for t in tokens if t not in _STOP]
        if tokens and sum(t in _MARKERS for t in tokens) * 2 > len(tokens):
            return True
    return False


def _is_link_list(line: str) -> bool:
    """A line of four or more short items between bars: a menu or a link farm."""
    if line.startswith("|"):          # a Markdown table row is content
        return False
    items = [item.strip() for item in re.split(r"[|｜]", line)]
    items = [item for item in items if item]
    if len(items) < 4:
        return False
    short = sum(len(item) <= 60 and len(item.split()) <= 8 for item in items)
    return short * 4 >= len(items) * 3


# --- paragraphs -----------------------------------------------------------------


def find_paragraphs(text: str) -> tuple[list[Paragraph], int]:
    """Content paragraphs of `text` (exact, whitespace-trimmed spans) and the junk-line count.

    A blank line ends a paragraph. Within a run of lines, each line is its own
    paragraph unless the run looks hard-wrapped (lines of similar width), in
    which case the run is one paragraph. A junk line ends the block: passages
    are never built across it.
    """
    paragraphs: list[Paragraph] = []
    junk = 0
    block = 0
    run: list[tuple[int, int]] = []   # (start, end) of the current run of content lines

    def flush() -> None:
        if not run:
            return
        if _hard_wrapped(text, run):
            paragraphs.append(Paragraph(run[0][0], run[-1][1], block))
        else:
            paragraphs.extend(Paragraph(s, e, block) for s, e in run)
        run.clear()

    position = 0
    for line in text.split("\n"):
        start, end = position, position + len(line)
        position = end + 1
        content = line.strip()
        if not content:
            flush()
            continue
        if is_junk(line):
            flush()
            junk += 1
            block += 1
            continue
        lead = len(line) - len(line.lstrip())
        trail = len(line) - len(line.rstrip())
        run.append((start + lead, end - trail))
    flush()
    return paragraphs, junk


def _hard_wrapped(text: str, run: list[tuple[int, int]]) -> bool:
    if len(run) < 3:
        return False
    widths = [end - start for start, end in run[:-1]]
    widest = max(widths)
    return widest <= 100 and min(widths) >= 0.6 * widest
