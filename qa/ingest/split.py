"""Split documents into passages: exact spans, sentence boundaries, sized in model tokens."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol

from qa.citation import Citation
from qa.sources import Document, Paragraph


@dataclass(frozen=True)
class Passage:
    """A verbatim span of the text extracted from a source file: `extracted_text[start:end] == text`.

    For text and Markdown the extracted text is the file itself. The locator fields say where the
    span is in terms a person can check; each format fills its own (see `locator`).
    """

    file: str          # path relative to the corpus root
    start: int
    end: int
    line_start: int    # 1-based, inclusive, lines of the extracted text
    line_end: int
    text: str
    page: int | None = None          # PDF: 1-based page the passage starts on
    page_label: str | None = None    # PDF: that page's own label (roman numerals...), when the PDF has labels
    heading: str | None = None       # HTML, DOCX, Markdown: heading path, "Built-in Functions > zip"
    source_line: int | None = None   # HTML: line of the .html file where the block the passage starts in starts
    paragraph: int | None = None     # DOCX: block number under its heading, 1-based
    # Where a merged passage (qa.search.hits.merged) ends, when that is another page, source line or section
    # than where it starts: its citation is then a range. A passage as split never runs across one.
    last_page: int | None = None     # PDF: the page it ends on
    last_page_label: str | None = None
    last_source_line: int | None = None   # HTML: source line of the block its last part starts in
    last_heading: str | None = None  # DOCX: heading path and block number of the block its last part starts in
    last_paragraph: int | None = None

    def cite(self, path: str | None = None, answer_heading: str | None = None) -> Citation:
        """The passage's citation (qa.citation.Citation), its file printed as `path` (default: `file`)."""
        path = self.file if path is None else path
        if self.page is not None:
            last = None if self.last_page is None else (self.last_page_label or str(self.last_page))
            return Citation(path, page=self.page_label or str(self.page), last_page=last, answer_heading=answer_heading)
        if self.paragraph is not None:
            return Citation(path, heading=self.heading or None, paragraph=self.paragraph,
                            last_heading=(self.last_heading or None) if self.last_paragraph is not None else None,
                            last_paragraph=self.last_paragraph, answer_heading=answer_heading)
        if self.source_line is not None:     # HTML: the nearest heading is enough beside a source line
            return Citation(path, line=self.source_line, last_line=self.last_source_line,
                            heading=nearest_heading(self.heading) if self.heading else None,
                            answer_heading=answer_heading)
        return Citation(path, line=self.line_start, last_line=None if self.line_start == self.line_end else self.line_end,
                        answer_heading=answer_heading)

    @property
    def locator(self) -> str:
        """What follows the file name in a citation: `:12-18` (text, Markdown), `:212 § Copying files`
        (HTML: source line and nearest heading), ` p. iv` (PDF), ` § Heading > Sub ¶ 7` (DOCX); a range for
        a merged passage that runs over pages, source lines or sections (` p. 1-2`). See qa/citation.py."""
        return self.cite().locator

    @property
    def citation(self) -> str:
        """The file and its locator: `file:12-18`, `page.html:212 § Copying files`, `report.pdf p. iv`..."""
        return str(self.cite())


def nearest_heading(path: str) -> str:
    """The last heading of a heading path ("Built-in Functions > zip" -> "zip"), as HTML citations name it."""
    return path.rsplit(" > ", 1)[-1]


class TokenCounter(Protocol):
    """What the splitter needs from a tokenizer."""

    def count(self, texts: list[str]) -> list[int]: ...

    def offsets(self, text: str) -> list[tuple[int, int]]: ...


class WordPieceCounter:
    """Counts the model's own word pieces (no special tokens) with the `tokenizers` library."""

    def __init__(self, tokenizer_json: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def count(self, texts: list[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)


# --- sentences ------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k u.n no nos fig figs vol pp
    jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp gov gen col lt
    sgt rep sen est approx dept univ""".split()
)
#: A list item's number before its text ("1. We are...", "iv. The..."): not a sentence of its own.
_ENUMERATOR = re.compile(r"\(?(\d{1,3}|[ivxlc]{1,6})\)?", re.IGNORECASE)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-Ý])|[。！？]+[”’」』]*")


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]` as exact, whitespace-trimmed `(start, end)` spans."""
    spans: list[tuple[int, int]] = []
    cursor = start
    segment = text[start:end]
    for match in _BOUNDARY.finditer(segment):
        stop = start + match.end()
        period = start + match.start()
        if match.group().startswith(".") and (_ends_with_abbreviation(text, cursor, period)
                                              or _ENUMERATOR.fullmatch(text[cursor:period].strip())):
            continue
        spans.append((cursor, stop))
        cursor = stop
    spans.append((cursor, end))
    return [span for span in (_trim(text, s, e) for s, e in spans) if span[0] < span[1]]


def _ends_with_abbreviation(text: str, start: int, period: int) -> bool:
    word = text[start:period].split()[-1:] or [""]
    token = word[0].lstrip("(\"'“‘").lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- packing --------------------------------------------------------------------


def split_document(
    document: Document,
    counter: TokenCounter,
    max_tokens: int,
    overlap: int = 1,
) -> list[Passage]:
    """Passages of a document: sentences packed up to `max_tokens`, never across junk.

    Consecutive passages of one block share their last `overlap` sentences. A
    sentence longer than `max_tokens` is cut at word-piece boundaries.
    """
    text = document.text
    passages: list[Passage] = []
    for block in _blocks(document.paragraphs):
        sentences = [span for p in block for span in _bounded(text, sentence_spans(text, p.start, p.end))]
        counts = counter.count([text[s:e] for s, e in sentences]) if sentences else []
        units: list[tuple[int, int, int]] = []
        for (s, e), n in zip(sentences, counts):
            if n <= max_tokens:
                units.append((s, e, n))
            else:
                units.extend(_cut_long(text, s, e, counter, max_tokens))
        for s, e in _pack(units, max_tokens, overlap):
            passages.append(_passage(document, s, e))
    return passages


#: A "sentence" longer than this (a 10 MB line without a full stop) is cut at a space before its word pieces
#: are counted: tokenizing it whole took gigabytes. Far above any passage (200 word pieces).
LONG_SENTENCE_CHARS = 10_000


def _bounded(text: str, spans: list[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    """The sentence spans, each longer than LONG_SENTENCE_CHARS cut into pieces at spaces where it can be."""
    for start, end in spans:
        while end - start > LONG_SENTENCE_CHARS:
            cut = text.rfind(" ", start + LONG_SENTENCE_CHARS // 2, start + LONG_SENTENCE_CHARS)
            cut = cut if cut > start else start + LONG_SENTENCE_CHARS
            first, last = _trim(text, start, cut)
            if first < last:
                yield first, last
            start = cut
        first, last = _trim(text, start, end)
        if first < last:
            yield first, last


def _blocks(paragraphs: list[Paragraph]) -> Iterable[list[Paragraph]]:
    block: list[Paragraph] = []
    for paragraph in paragraphs:
        if block and paragraph.block != block[-1].block:
            yield block
            block = []
        block.append(paragraph)
    if block:
        yield block


def _pack(units: list[tuple[int, int, int]], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    current: list[tuple[int, int, int]] = []
    total = 0
    for unit in units:
        if current and total + unit[2] > max_tokens:
            spans.append((current[0][0], current[-1][1]))
            kept = current[-overlap:] if overlap else []
            while kept and sum(u[2] for u in kept) + unit[2] > max_tokens:
                kept = kept[1:]
            current, total = list(kept), sum(u[2] for u in kept)
        current.append(unit)
        total += unit[2]
    if current:
        spans.append((current[0][0], current[-1][1]))
    return spans


def _cut_long(
    text: str, start: int, end: int, counter: TokenCounter, max_tokens: int
) -> list[tuple[int, int, int]]:
    """Cut an over-long sentence into pieces of at most `max_tokens` word pieces."""
    offsets = counter.offsets(text[start:end])
    pieces: list[tuple[int, int, int]] = []
    first = 0
    while first < len(offsets):
        last = min(first + max_tokens, len(offsets))
        if last < len(offsets):
            # Prefer to cut where a new word starts (whitespace before the token).
            for candidate in range(last, first + max_tokens // 2, -1):
                begin = offsets[candidate][0]
                if begin > 0 and text[start + begin - 1].isspace():
                    last = candidate
                    break
        piece_start = start + offsets[first][0]
        piece_end = start + offsets[last][0] if last < len(offsets) else end
        s, e = _trim(text, piece_start, piece_end)
        if s < e:
            pieces.append((s, e, last - first))
        first = last
    return pieces


def _passage(document: Document, start: int, end: int) -> Passage:
    region = document.region_at(start)
    return Passage(document.name, start, end, document.line_of(start), document.line_of(end), document.text[start:end],
                   region.page, region.page_label, region.heading, region.source_line, region.paragraph)


# --- the sentences of a passage -------------------------------------------------------------------------


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
