"""HTML: the main content only, as trafilatura finds it (navigation, ads, comments and footers left out).

The extracted text is the content's blocks (headings, paragraphs, list items, tables, code) one after
another, separated by blank lines; a code block or table is a paragraph per line, as the text reader
reads the same lines, so passages are cut between its lines. Headings do not end passages: a passage
runs on into the next section, as it does in the page's text form (held to one section, the Python
docs' many short sections made short passages, and the HTML form answered less well than the same
pages as text: tests/bench/html_vs_text.py). Each block records the heading path above it and the line
of the .html file where it starts, found by locating the block's first words in the page's own text,
so a citation names the section where its passage starts (`page.html:212 § Copying files`). Where
source line and heading do not tell a block from another (a minified page is one line; a page without
headings; a block whose words are not found in the page) the block is cited by its number under its
heading path instead, as in a Word file (`page.html ¶ 12`, `page.html § Owls > Part 4 ¶ 2`), and a
heading met again under the same parents is named with its position (`§ Warning (2nd)`): every citation
names one place. Ad boxes trafilatura keeps (a `<div class="ads">` inside the article: its vocabulary
knows "ad-" and " ad " but not "ads" or "advertisement") are removed first, with the other changes to
the tree before extraction (qa/sources/html_tree.py). The page's declared charset
(`<meta charset>`) is honoured. trafilatura (Apache-2.0) and lxml are imported here, so only when an
HTML file is read.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from qa.config import ReadLimits
from qa.sources.document import Blocks, Extracted, HeadingPath, Unreadable
from qa.sources.html_tree import HEADINGS as _HEADINGS
from qa.sources.html_tree import flat as _flat
from qa.sources.html_tree import prepare

if TYPE_CHECKING:   # lxml ships no type information: these name the objects, mypy reads them as Any
    from lxml.etree import _Element as XmlElement
    from lxml.html import HtmlElement

_SPACE = re.compile(r"\s+")
_PERMALINK = re.compile(r"\s*[¶#]\s*$")          # Sphinx and other generators end headings with a link mark
_PILCROW = re.compile(r"\s*¶\s*$")                # ... and API entries (`zip(*iterables)¶`); never content
_SKIPPED_TAGS = {"script", "style", "noscript", "template"}


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    """The main content of an HTML page, with its title, heading paths and source lines."""
    import trafilatura
    from lxml import etree
    from trafilatura.utils import load_html

    tree = load_html(data)
    if tree is None:
        raise Unreadable("not an HTML page qa can parse")
    prepare(tree)   # qa/sources/html_tree.py: ad boxes out, and what trafilatura would drop made whole
    lines = _SourceText(tree)
    declared = _declared_title(tree)
    # with_metadata=False: trafilatura's metadata step also looks for the page's date with dateparser,
    # which took two thirds of the reading time of the Python docs pages; qa needs only the title.
    xml = trafilatura.extract(tree, output_format="xml", include_comments=False, include_tables=True,
                              include_formatting=False, with_metadata=False, favor_recall=True)
    if not xml:
        raise Unreadable("no main content found in the page")
    document = etree.fromstring(xml.encode("utf-8"))
    builder = _Builder(lines)
    for element in document.iter("main"):
        builder.walk(element)
    builder.finish()
    title = _PERMALINK.sub("", (declared or "").strip()) or builder.first_heading
    return builder.out.extracted(title or None)


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
#: Blocks starting on one source line that the line still cites (`show` opens them all).
MAX_RUN = 2


def _declared_title(tree: HtmlElement) -> str | None:
    """The page's title as trafilatura's metadata step finds it (meta tags, JSON-LD, the lone <h1>,
    <title>), without that step's date search."""
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title

    metadata = examine_meta(tree)
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:   # trafilatura guards its JSON-LD reader the same way
        pass
    title: str | None = metadata.title or extract_title(tree)
    return title


class _SourceText:
    """The page's text, whitespace collapsed, with the source line of every stretch of it and whether that
    stretch is inside a heading (`<h1>`..`<h6>`)."""

    def __init__(self, tree: HtmlElement) -> None:
        from lxml import etree

        pieces: list[str] = []
        self.starts: list[int] = []
        self.lines: list[int] = []
        self.in_heading: list[bool] = []
        length = depth = 0
        body = tree.find(".//body")
        for event, element in etree.iterwalk(body if body is not None else tree, events=("start", "end")):
            tag = element.tag.lower() if isinstance(element.tag, str) else ""
            if event == "start":
                depth += tag in _HEADINGS
                piece = None if tag in _SKIPPED_TAGS else element.text
            else:
                depth -= tag in _HEADINGS
                piece = element.tail
            if piece:
                normal = _SPACE.sub(" ", piece)
                if normal.startswith(" ") and (not pieces or pieces[-1].endswith(" ")):
                    normal = normal[1:]
                if not normal:
                    continue
                self.starts.append(length)
                self.lines.append(element.sourceline or 0)
                self.in_heading.append(depth > 0)   # a tail inside a heading is in it too
                pieces.append(normal)
                length += len(normal)
        self.text = "".join(pieces)
        self.cursor = 0

    def line_of(self, block: str, heading: bool = False) -> int | None:
        """The source line where `block` (extracted text) starts, searching forward from the last block found;
        a heading is looked for in the page's headings first (its words also stand in menus and breadcrumbs)."""
        normal = _SPACE.sub(" ", block).strip()
        for only_headings in (True, False) if heading else (False,):
            for key, since in ((normal[:40], self.cursor), (normal[:16], self.cursor), (normal[:40], 0)):
                if not key:
                    return None
                found = self._find(key, since, only_headings)
                if found >= 0:
                    self.cursor = found
                    line = self.lines[self._piece(found)]
                    return line or None
        return None

    def _find(self, key: str, since: int, only_headings: bool) -> int:
        found = self.text.find(key, since)
        while only_headings and found >= 0 and not self.in_heading[self._piece(found)]:
            found = self.text.find(key, found + 1)
        return found

    def _piece(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self.starts, offset) - 1


class _Builder:
    """Turns trafilatura's XML into the extracted text, paragraphs and regions.

    Every block is numbered under its heading path as a Word file's are (the heading and the block after it
    are ¶ 1); `finish` gives those numbers to the blocks that source line and heading do not tell apart."""

    def __init__(self, source: _SourceText) -> None:
        self.source = source
        self.out = Blocks()
        self.path = HeadingPath()
        self.first_heading: str | None = None
        self.number = 0                    # blocks under the current heading path
        self.after_heading = False         # the next block is ¶ 1 with its heading
        self.numbers: list[int] = []       # per region

    def walk(self, element: XmlElement) -> None:
        for child in element:
            tag = child.tag
            if tag == "head":
                self.heading(child)
            elif tag in ("p", "quote") and not len(child.findall("p")):
                self.add(_flat(child))
            elif tag == "code" or tag == "pre":
                self.add("".join(child.itertext()).strip("\n"), verbatim=True)
            elif tag == "table":
                rows = [" | ".join(_flat(cell) for cell in row.iter("cell")) for row in child.iter("row")]
                self.add("\n".join(row for row in rows if row.strip()), verbatim=True)
            elif tag == "item" and not any(c.tag in ("p", "list", "code", "table", "quote") for c in child):
                self.add(_flat(child))
            elif tag in ("graphic", "ref", "lb"):
                pass                     # no text of their own here; the text after them follows
            elif len(child):
                if (child.text or "").strip():
                    self.add(_SPACE.sub(" ", child.text).strip())
                self.walk(child)
            elif "".join(child.itertext()).strip():
                self.add(_flat(child))
            if (child.tail or "").strip():   # text after a block in a list item ("value: <code>…</code> true: …")
                self.add(_SPACE.sub(" ", child.tail).strip())

    def heading(self, element: XmlElement) -> None:
        text = _PERMALINK.sub("", _flat(element))
        if not text:
            return
        rend = element.get("rend") or "h2"
        level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
        self.path.enter(level, text)
        self.first_heading = self.first_heading or text
        self.number = 0
        self.after_heading = False
        self.add(text, heading=True)
        self.after_heading = True

    def add(self, text: str, verbatim: bool = False, heading: bool = False) -> None:
        text = text if verbatim else _PILCROW.sub("", _SPACE.sub(" ", text).strip())
        if not text.strip():
            return
        if self.after_heading:
            self.after_heading = False
        else:
            self.number += 1
        regions = self.out.regions
        line = self.source.line_of(text, heading) or (regions[-1].source_line if regions else None)
        # One block: passages run on across headings, as in the page's text form (see the module's doc).
        self.out.append(text, 0, lines=verbatim, heading=self.path.current, source_line=line)
        self.numbers.append(max(self.number, 1))

    def finish(self) -> None:
        """Blocks that `page.html:LINE § Heading` would not single out are cited by their number under their
        heading path instead: every block of a source line that starts more than MAX_RUN blocks (a minified
        page, a page without headings on one line), and blocks whose line and heading are shared by others
        apart from them. A heading with its paragraph, or a term with its definition, on one line stay
        cited by line: `show` opens both, and little else."""
        from collections import Counter

        regions = self.out.regions
        per_line = Counter(r.source_line for r in regions)
        keys = [(r.source_line, None if r.heading is None else r.heading.rsplit(" > ", 1)[-1]) for r in regions]
        runs = Counter(key for i, key in enumerate(keys) if not i or keys[i - 1] != key)   # runs of each key
        for i, (region, key) in enumerate(zip(regions, keys)):
            if region.source_line is None or per_line[region.source_line] > MAX_RUN or runs[key] > 1:
                regions[i] = replace(region, paragraph=self.numbers[i])
