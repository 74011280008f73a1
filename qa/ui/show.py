"""`qa show CITATION`: find a cited passage in the index and show it with the text around it.

A citation is what every output prints: `file:12-18` (text, Markdown; any line range of the file
works), `page.html:212 § Heading` (HTML: the source line and heading where the passage starts),
`report.pdf p. iv` (PDF: page label or number), `doc.docx § Heading > Sub ¶ 7` (DOCX). The file may be
named as printed (relative to where you are) or relative to the indexed folder. The text shown is the
text qa extracted and stored at index time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.errors import QAError, UsageError
from qa.ingest.split import nearest_heading
from qa.sources.document import LINE_BREAK

#: Lines of the extracted text shown before and after the cited span.
CONTEXT_LINES = 3

_DOCX = re.compile(r"^(?P<file>.+?)(?: § (?P<heading>.+?))? ¶ (?P<paragraph>\d+)$")
_PDF = re.compile(r"^(?P<file>.+?) p\. (?P<page>\S+)$")
_HTML = re.compile(r"^(?P<file>.+?):(?P<line>\d+) § (?P<heading>.+)$")
_LINES = re.compile(r"^(?P<file>.+?):(?P<first>\d+)(?:-(?P<last>\d+))?$")


class NotInIndexError(QAError):
    """The citation is well formed but names nothing in the index."""


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


def show(index: object, citation: str, context: int = CONTEXT_LINES) -> Shown:
    """The span `citation` names in `index` (an `qa.Index`), with `context` lines either side.

    Raises UsageError (exit 2) for something that is not a citation, NotInIndexError (exit 1) for a
    citation of a file or place the index does not hold.
    """
    citation = citation.strip()
    kind, match = _parse(citation)
    stored = index.stored                                       # type: ignore[attr-defined]
    names = {}
    for source in stored.files:
        names[source.path] = source
        names[index.source_path(source.path)] = source          # type: ignore[attr-defined]
    source = names.get(match["file"])
    if source is None:
        raise NotInIndexError(f"{match['file']} is not in the index at {index.path}. "   # type: ignore[attr-defined]
                              "Cite a file as qa ask prints it.")
    passages = stored.passages(list(range(source.first_row, source.first_row + source.count)))
    text = stored.document_text(source.path)
    html = any(p.source_line is not None for p in passages)
    if kind == "lines" and not html:
        span = _line_span(text, int(match["first"]), int(match["last"] or match["first"]))
        if span is None:
            raise NotInIndexError(f"{citation}: {match['file']} has no such lines in the index.")
        return _shown(citation, source.path, text, *span, context)
    # The blocks (pages, paragraphs) the citation names, and the passages that start in them.
    regions = stored.regions(source.path)
    ends = [r.start for r in regions[1:]] + [len(text)]
    if kind in ("html", "lines"):
        line = int(match["line"] if kind == "html" else match["first"])
        # The heading too: a minified page has every block on one line.
        section = match["heading"] if kind == "html" else None
        named = lambda r: (r.source_line == line   # noqa: E731
                           and (section is None or nearest_heading(r.heading or "") == section))
    elif kind == "pdf":
        named = lambda r: r.page is not None and (r.page_label or str(r.page)) == match["page"]   # noqa: E731
    else:
        number, heading = int(match["paragraph"]), match["heading"]
        named = lambda r: r.paragraph == number and (r.heading or None) == heading   # noqa: E731
    spans = [(r.start, end) for r, end in zip(regions, ends) if named(r)]
    spans += [(p.start, p.end) for p in passages if named(p)]
    if not spans:
        raise NotInIndexError(f"{citation}: no part of {match['file']} in the index is cited so. "
                              "Cite it as qa ask printed it.")
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    while end > start and text[end - 1].isspace():
        end -= 1
    return _shown(citation, source.path, text, start, end, context)


def _parse(citation: str) -> tuple[str, dict[str, str]]:
    for kind, pattern in (("docx", _DOCX), ("pdf", _PDF), ("html", _HTML), ("lines", _LINES)):
        match = pattern.match(citation)
        if match:
            return kind, match.groupdict()
    raise UsageError(f"{citation!r} is not a citation. Give one as qa ask prints it, e.g. notes.txt:12-18, "
                     "page.html:212 § Heading, report.pdf p. iv or doc.docx § Heading ¶ 3.")


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
