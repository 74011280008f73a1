"""`qa show CITATION`: find a cited passage in the index and show it with the text around it.

A citation is what every output prints (qa/citation.py owns its forms): `file:12-18` (text, Markdown; any
line range of the file works), `page.html:212 § Heading` (HTML: the source line and heading where the
passage starts; `:212-240` for a hit over later blocks), `report.pdf p. iv` (PDF: page label or number;
`p. 1-2` for a hit over two pages), `doc.docx § Heading > Sub ¶ 7` (DOCX; `¶ 7-9`, `¶ 7 to § Next ¶ 2`;
also HTML blocks that source line and heading do not tell apart: `page.html ¶ 12`), any of them with
`, answer under § Heading`. A line inside an HTML block opens the block. The file may be named as printed (relative to where you are)
or relative to the indexed folder. The text shown is the text qa extracted and stored at index time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from qa.citation import Citation, NotInIndexError
from qa.ingest.split import nearest_heading
from qa.sources.document import LINE_BREAK, Region

if TYPE_CHECKING:
    from qa.index import Index
    from qa.store.layout import SourceFile

__all__ = ["CONTEXT_LINES", "NotInIndexError", "Shown", "show"]

#: Lines of the extracted text shown before and after the cited span.
CONTEXT_LINES = 3


@dataclass(frozen=True)
class Shown:
    """A cited span of a file's extracted text, and the lines around it."""

    citation: str
    file: str
    start: int                  # the cited span, offsets into the extracted text
    end: int
    text: str                   # the whole extracted text of the file
    first_line: int             # 1-based lines of `text` shown (context included)
    last_line: int
    cited_first_line: int
    cited_last_line: int

    def lines(self) -> list[tuple[int, bool, str]]:
        """`(line number, cited?, line)` for every line shown."""
        spans = _lines(self.text)
        return [(n, self.cited_first_line <= n <= self.cited_last_line, self.text[spans[n - 1][0] : spans[n - 1][1]])
                for n in range(self.first_line, self.last_line + 1)]


def show(index: Index, citation: str, context: int = CONTEXT_LINES) -> Shown:
    """The span `citation` names in `index`, with `context` lines either side.

    Raises UsageError (exit 2) for something that is not a citation, NotInIndexError (exit 1) for a
    citation of a file or place the index does not hold.
    """
    stored = index.stored
    names: dict[str, SourceFile] = {}
    for source in stored.files:
        names[source.path] = source
        names[index.source_path(source.path)] = source
    cited = Citation.parse(citation, names)
    citation = citation.strip()
    found = names.get(cited.path)
    if found is None:
        raise NotInIndexError(f"{_visible(cited.path)} is not in the index at {index.path}. "
                              "Cite a file as qa ask prints it.")
    source = found
    text = stored.document_text(source.path)
    regions = stored.regions(source.path)
    html = any(r.source_line is not None for r in regions)
    if cited.kind == "lines" and not html:
        span = _line_span(text, cited.line or 0, cited.last_line if cited.last_line is not None else cited.line or 0)
        if span is None:
            raise NotInIndexError(f"{_visible(citation)}: {_visible(cited.path)} has no such lines in the index.")
        return _shown(citation, source.path, text, *span, context)
    span = _block_span(cited, regions, len(text))
    if span is None:
        raise NotInIndexError(f"{_visible(citation)}: no part of {_visible(cited.path)} in the index is cited so. "
                              "Cite it as qa ask printed it.")
    start, end = span
    # The passages that start in the cited blocks run to their own end (an HTML passage runs on across blocks).
    passages = stored.passages(list(range(source.first_row, source.first_row + source.count)))
    end = max([end, *(p.end for p in passages if start <= p.start < end)])
    while end > start and text[end - 1].isspace():
        end -= 1
    return _shown(citation, source.path, text, start, end, context)


def _block_span(cited: Citation, regions: list[Region], length: int) -> tuple[int, int] | None:
    """From the start of the first block the citation names to the end of the last, or None.

    The first block: the first region in text order that fits the citation's start (source line and
    heading, page, section and ¶). The last: the run of regions from there that fits its end (the same
    place, or the range's last one); for HTML the first block of the answer's section, when named and not
    among them, is taken in too.
    """
    ends = [r.start for r in regions[1:]] + [length]
    first: Callable[[Region], bool]
    last: Callable[[Region], bool]
    if cited.page is not None:
        first = _page(cited.page)
        last = first if cited.last_page is None else _page(cited.last_page)
    elif cited.paragraph is not None:
        first = _block(cited.heading, cited.paragraph)
        last = first if cited.last_paragraph is None else _block(cited.last_heading, cited.last_paragraph)
    else:
        line, heading, last_line = cited.line or 0, cited.heading, cited.last_line
        first = lambda r: r.source_line == line and (heading is None or _under(r, heading))   # noqa: E731
        last = first if last_line is None else (lambda r: r.source_line is not None and r.source_line <= last_line)
        if heading is None and any(r.source_line == line and not r.heading for r in regions):
            first = lambda r: r.source_line == line and not r.heading   # noqa: E731
        if not any(first(r) for r in regions):
            # A line inside a block (`csv.html:798`): the block that starts last at or before it.
            start = max((r.source_line for r in regions if r.source_line is not None and r.source_line <= line
                         and (heading is None or _under(r, heading))), default=None)
            first = lambda r: start is not None and r.source_line == start and (   # noqa: E731
                heading is None or _under(r, heading))
            last = first if last_line is None else last
    s = next((i for i, r in enumerate(regions) if first(r)), None)
    if s is None:
        return None
    e = _run(regions, s, last)
    if e is None:
        return None
    answer_heading = cited.answer_heading
    if answer_heading is not None and regions[s].source_line is not None and not any(
            _under(regions[i], answer_heading) for i in range(s, e + 1)):
        # The hit's own blocks hold its answer; a section named that they do not reach is taken in up to
        # its first block (the whole section would be more than the hit).
        e = max(e, next((i for i in range(s, len(regions)) if _under(regions[i], answer_heading)), e))
    return regions[s].start, ends[e]


def _run(regions: list[Region], s: int, fits: Callable[[Region], bool]) -> int | None:
    """The last region of the first run of regions fitting `fits` at or after `s` (None: there is none).
    For a range (`fits` is its end) the run is read on from `s`: what lies between belongs to it."""
    i = next((i for i in range(s, len(regions)) if fits(regions[i])), None)
    if i is None:
        return None
    while i + 1 < len(regions) and fits(regions[i + 1]):
        i += 1
    return i


def _page(label: str) -> Callable[[Region], bool]:
    return lambda r: r.page is not None and (r.page_label or str(r.page)) == label


def _block(heading: str | None, paragraph: int) -> Callable[[Region], bool]:
    return lambda r: r.paragraph == paragraph and (r.heading or None) == heading


def _under(region: Region, heading: str) -> bool:
    """Whether an HTML region is under `heading`, named by its last part (as cited) or its whole path."""
    return bool(region.heading) and heading in (region.heading, nearest_heading(region.heading or ""))


def _visible(text: str) -> str:
    from qa.ui.render import visible

    shown = visible(text)
    return shown if len(shown) <= 200 else shown[:195] + "…"


def _lines(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of every line, without its break (CR LF, LF or a lone CR, as in citations)."""
    spans, position = [], 0
    for match in LINE_BREAK.finditer(text):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, len(text)))
    return spans


def _line_span(text: str, first: int, last: int) -> tuple[int, int] | None:
    """Offsets of lines `first..last` (1-based, inclusive) of `text`, or None when they are not all there."""
    lines = _lines(text)
    if first < 1 or last < first or last > len(lines):
        return None
    return lines[first - 1][0], lines[last - 1][1]


def _shown(citation: str, file: str, text: str, start: int, end: int, context: int) -> Shown:
    import bisect

    starts = [s for s, _ in _lines(text)]
    count = len(starts)

    def line_of(offset: int) -> int:
        return max(1, min(count, bisect.bisect_right(starts, offset)))

    first, last = line_of(start), line_of(max(start, end - 1))
    return Shown(citation, file, start, end, text, max(1, first - context), min(count, last + context),
                 first, last)
