"""A citation: the record that formats itself (`str(citation)`) and parses itself (`Citation.parse`).

The forms, after the file's path as printed:

    notes.txt:12-18                         text, Markdown: lines of the extracted text (`:12` for one line)
    page.html:212 § Copying files           HTML: source line where the passage starts, the heading it starts under
    page.html:212-240 § Copying files       HTML: a merged hit whose later passages start on later source lines
    report.pdf p. iv                        PDF: the page's label (else its number)
    report.pdf p. 1-2                       PDF: a merged hit that runs over several pages, first-last
    survey.docx § Methods ¶ 2               DOCX: heading path, block number under it
    survey.docx § Methods ¶ 2-4             DOCX: a merged hit over blocks 2 to 4 of one section
    survey.docx § Methods ¶ 5 to § Results ¶ 2   DOCX: a merged hit that runs on into another section
    page.html ¶ 12                          HTML whose source lines do not tell blocks apart (a minified page,
    page.html § Owls > Part 4 ¶ 2-3         a page without headings): block number under the heading path

A heading met again under the same parents is named with its position by its reader (`§ Warning (2nd) ¶ 1`),
so every form names one place.

Any of them may end with `, answer under § Heading` (the section the answering sentence is in).

Headings and page labels are printed as they are when that is unambiguous. Otherwise they are quoted:
`"..."` with `\\"`, `\\\\` and Python-style escapes (`\\n`, `\\x1b`, `\\u200b`) for invisible characters.
A heading is quoted when it is empty, has space at either end, starts with a quote, or holds `§`, `¶`,
a backslash or an invisible character; a page label also when it holds a space, `-` or `,`
(`report.pdf p. "A 12"`, `p. "1-2"` is the page labelled 1-2, `p. 1-2` the range). So
`Citation.parse(str(c), files) == c` for every citation `c` of a file in `files`.

A file name may hold anything (" p. ", " § ", ":12"): `parse` is given the paths that can be cited and
matches the longest known path first, then reads the rest as the locator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from qa.errors import NotInIndexError, QAError, UsageError

#: A line, paragraph or page number of more digits than this names nothing in any index.
MAX_DIGITS = 18

ANSWER_UNDER = ", answer under § "


@dataclass(frozen=True)
class Citation:
    """Where a hit is: a file (as printed) and a locator in that file's own terms.

    Exactly one kind of locator is set: `line` (text, Markdown; HTML with `heading`), `page` (PDF) or
    `paragraph` (DOCX, and HTML blocks a source line does not tell apart; with `heading` when the block is
    under one).
    """

    path: str
    line: int | None = None            # text/Markdown: first line; HTML: source line where the passage starts
    last_line: int | None = None       # the last line of a range (None: one line)
    page: str | None = None            # PDF: the page's label, else its number, as printed
    last_page: str | None = None       # PDF: the last page of a hit that runs over several (None: one page)
    heading: str | None = None         # HTML: the nearest heading; DOCX: the heading path
    paragraph: int | None = None       # DOCX: block number under `heading`
    last_heading: str | None = None    # DOCX, a range: the section of its last block (== heading: the same one)
    last_paragraph: int | None = None  # DOCX, a range: its last block's number under `last_heading`
    answer_heading: str | None = None  # the section the answering sentence is in, when it is another one

    def __post_init__(self) -> None:
        kinds = (self.line is not None) + (self.page is not None) + (self.paragraph is not None)
        if kinds != 1:
            raise ValueError(f"a citation has one locator: line, page or paragraph ({self!r})")
        if self.last_line is not None and self.line is None or self.last_page is not None and self.page is None:
            raise ValueError(f"a range needs its first place ({self!r})")
        if (self.last_heading is not None or self.last_paragraph is not None) and self.paragraph is None:
            raise ValueError(f"a paragraph range needs its first paragraph ({self!r})")
        if self.last_heading is not None and self.last_paragraph is None:
            raise ValueError(f"a paragraph range names its last paragraph ({self!r})")
        if self.heading is not None and self.page is not None:
            raise ValueError(f"a PDF citation names a page, not a heading ({self!r})")

    @property
    def kind(self) -> str:
        """"lines" (text, Markdown, or HTML without a heading), "html", "pdf" or "docx" (numbered blocks: DOCX,
        and HTML blocks cited by number)."""
        if self.page is not None:
            return "pdf"
        if self.paragraph is not None:
            return "docx"
        return "html" if self.heading is not None else "lines"

    @property
    def locator(self) -> str:
        """What follows the path: `:12-18`, `:212 § Heading`, ` p. iv`, ` § Heading ¶ 2`, and the answer part."""
        if self.page is not None:
            text = f" p. {_label(self.page)}" + ("" if self.last_page is None else f"-{_label(self.last_page)}")
        elif self.paragraph is not None:
            text = ("" if self.heading is None else f" § {_heading(self.heading)}") + f" ¶ {self.paragraph}"
            if self.last_paragraph is not None:
                if self.last_heading == self.heading:
                    text += f"-{self.last_paragraph}"
                else:
                    section = "" if self.last_heading is None else f"§ {_heading(self.last_heading)} "
                    text += f" to {section}¶ {self.last_paragraph}"
        else:
            text = f":{self.line}" + ("" if self.last_line is None else f"-{self.last_line}")
            if self.heading is not None:
                text += f" § {_heading(self.heading)}"
        if self.answer_heading is not None:
            text += ANSWER_UNDER + _heading(self.answer_heading)
        return text

    def __str__(self) -> str:
        return f"{self.path}{self.locator}"

    @classmethod
    def parse(cls, text: str, files: Iterable[str] = ()) -> Citation:
        """The citation `text` writes. `files`: the paths that can be cited; the longest one `text` starts
        with, and whose rest is a locator, is the path. A path not among them is taken up to the first
        place where a locator can start.

        Raises UsageError (exit 2) when `text` is not a citation, NotInIndexError (exit 1) when a number in
        it is past anything an index can hold.
        """
        known = sorted({f for f in files if f}, key=len, reverse=True)
        for candidate in dict.fromkeys((text, text.strip())):
            for path in known:
                if candidate.startswith(path):
                    found = _locator(path, candidate[len(path):], text)
                    if found is not None:
                        return found
        stripped = text.strip()
        for start in _locator_starts(stripped):
            found = _locator(stripped[:start], stripped[start:], text)
            if found is not None:
                return found
        raise UsageError(f"{_short(text)} is not a citation. Give one as qa ask prints it, e.g. notes.txt:12-18, "
                         "page.html:212 § Heading, report.pdf p. iv or doc.docx § Heading ¶ 3.")


# --- formatting ----------------------------------------------------------------------------------------

_HEADING_UNSAFE = re.compile(r'^\s|\s$|^"|[§¶\\]')
_LABEL_UNSAFE = re.compile(r'[\s"\\§¶,-]')


def _heading(text: str) -> str:
    return _quoted(text) if not text or _HEADING_UNSAFE.search(text) or not text.isprintable() else text


def _label(text: str) -> str:
    return _quoted(text) if not text or _LABEL_UNSAFE.search(text) or not text.isprintable() else text


def _quoted(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c.isprintable() or c == " ":
            out.append(c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif ord(c) < 0x100:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNNAMED = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}

# --- parsing -------------------------------------------------------------------------------------------

_QUOTED = r'"(?:[^"\\]|\\.)*"'
#: A heading as printed: quoted, or bare (no §, ¶, backslash; no space at either end; not starting with ").
_TEXT = rf'(?:{_QUOTED}|[^\s"§¶\\](?:[^§¶\\]*[^\s§¶\\])?)'
_LABEL_TOKEN = rf'(?:{_QUOTED}|[^\s"\\§¶,-]+)'
_NUMBER = r"\d+"
_ANSWER = rf"(?:{re.escape(ANSWER_UNDER)}(?P<answer>{_TEXT}))?"
_LINES = re.compile(rf":(?P<line>{_NUMBER})(?:-(?P<last_line>{_NUMBER}))?(?: § (?P<heading>{_TEXT}))?{_ANSWER}",
                    re.DOTALL)
_PDF = re.compile(rf" p\. (?P<page>{_LABEL_TOKEN})(?:-(?P<last_page>{_LABEL_TOKEN}))?{_ANSWER}", re.DOTALL)
_DOCX = re.compile(
    rf"(?: § (?P<heading>{_TEXT}))? ¶ (?P<paragraph>{_NUMBER})"
    rf"(?:-(?P<same_last>{_NUMBER})| to (?:§ (?P<last_heading>{_TEXT}) )?¶ (?P<last_paragraph>{_NUMBER}))?{_ANSWER}",
    re.DOTALL)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_STARTS = re.compile(r"(?=:\d| p\. | § | ¶ )")


def _locator_starts(text: str) -> list[int]:
    """Offsets in `text` where a locator could begin (a path is at least one character)."""
    return [m.start() for m in _STARTS.finditer(text, 1)]


def _locator(path: str, rest: str, whole: str) -> Citation | None:
    """The citation of `path` that `rest` (what follows the path) locates, or None when it is not a locator."""
    for pattern in (_LINES, _PDF, _DOCX):
        match = pattern.fullmatch(rest)
        if match is None:
            continue
        g = match.groupdict()
        answer = _text(g["answer"])
        if pattern is _LINES:
            return Citation(path, line=_number(g["line"], whole), last_line=_number(g["last_line"], whole),
                            heading=_text(g["heading"]), answer_heading=answer)
        if pattern is _PDF:
            return Citation(path, page=_text(g["page"]), last_page=_text(g["last_page"]), answer_heading=answer)
        heading = _text(g["heading"])
        last_heading, last = ((heading, g["same_last"]) if g["same_last"] is not None
                              else (_text(g["last_heading"]), g["last_paragraph"]))
        return Citation(path, heading=heading, paragraph=_number(g["paragraph"], whole),
                        last_heading=last_heading if last is not None else None,
                        last_paragraph=_number(last, whole), answer_heading=answer)
    return None


def _text(token: str | None) -> str | None:
    if token is None or not token.startswith('"'):
        return token

    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        return _UNNAMED.get(code, chr(int(code[1:], 16)) if len(code) > 1 else code)

    return _ESCAPE.sub(unescape, token[1:-1])


def _number(digits: str | None, whole: str) -> int | None:
    if digits is None:
        return None
    digits = digits.lstrip("0") or "0"
    if len(digits) > MAX_DIGITS:
        raise NotInIndexError(f"{_short(whole)}: no file in the index has a line, page or paragraph "
                              f"{digits[:8]}… ({len(digits)} digits). Cite it as qa ask printed it.")
    return int(digits)


def _short(text: str, limit: int = 120) -> str:
    """`text` quoted on one line, cut to about `limit` characters, for a message."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 5] + "…" + shown[-4:]
