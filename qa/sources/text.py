"""Plain text: the extracted text is the file itself, decoded (UTF-8, or UTF-16 with a BOM), newlines untranslated.

Its content paragraphs are junk.find_paragraphs' with line wraps joined (`join_wrapped`: a line that ends
without terminal punctuation goes on on the next), a rule the PDF reader uses too.
"""

from __future__ import annotations

import codecs
import re

from qa.config import ReadLimits
from qa.sources.document import LINE_BREAK, Extracted, Paragraph, Unreadable
from qa.sources.junk import find_paragraphs


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding used: UTF-16 when it starts with a UTF-16 BOM, else UTF-8
    (BOM removed), else cp1252. Raises Unreadable for binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise Unreadable("starts like UTF-16 but is not valid UTF-16") from None
    head = data[:8192]
    if b"\x00" in head or sum(b < 32 and b not in b"\n\r\t\f" for b in head) > len(head) // 10:
        raise Unreadable("binary, not text")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    """A text file's content paragraphs (web junk lines left out)."""
    text, encoding = decode(data)
    if not text.strip():
        raise Unreadable("empty")
    paragraphs, junk = find_paragraphs(text)
    return Extracted(text, join_wrapped(text, paragraphs), junk, encoding)


# --- wrapped lines ----------------------------------------------------------------

#: A line that ends a sentence or introduces what follows: . ! ? : ; (and CJK stops), maybe closed by quotes
#: or brackets.
_ENDS = re.compile(r"[.!?:;。！？：；…][\"'”’)\]」』]*\s*$")
#: A line that is no prose: code (a prompt, braces, an assignment, a call, a trailing backslash), a list
#: item, a Markdown heading, quote, table row or fence.
_NOT_PROSE = re.compile(r"^\s*(>>>|\.\.\.|[-*+•▪◦]\s|\d{1,3}[.)]\s|#|>|\||```|~~~|\$\s)|[{}=\\]|[\w\]]\(|^\s*[)\]]")
#: Words that never end a sentence or a heading: a line ending in one goes on, whatever starts the next.
_GOES_ON = frozenset(
    """a an the of to in on at by for with from into onto over under about than as and or nor but if that
    which who whom whose when where while is are was were be been being has have had will would can could
    should may might must shall its their his her our your my this these those such per via not no""".split()
)
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Prose lines are at least this long; a shorter line ending in a lower-case word (a heading, a label) stands alone.
_PROSE_CHARS = 40


def continues(line: str, following: str, width: int = 0) -> bool:
    """Whether the sentence on `line` goes on on the `following` line (a line wrap, as in PDF text and
    hard-wrapped paragraphs): `line` ends without terminal punctuation, neither line is code, a list item or
    markup, both are indented alike, and `line` fills the text's `width` (the length its wrapped lines
    reach, `wrap_width`: only a wrap ends a line there, even after a capitalised word), or the next starts in
    lower case, with a digit or an opening quote or bracket, or `line` ends with a comma, a dash or a word no
    sentence ends with, or is a long line of prose ending in a lower-case word (a short one is a heading or a
    label). CJK text goes on at a wrap."""
    stripped, after = line.rstrip(), following.rstrip()
    if not stripped.strip() or not after.strip() or _ENDS.search(stripped):
        return False
    if _NOT_PROSE.search(stripped) or _NOT_PROSE.search(after):
        return False
    if len(stripped) - len(stripped.lstrip()) != len(after) - len(after.lstrip()):
        return False
    if width >= _PROSE_CHARS and len(stripped.strip()) >= FULL_LINE * width:
        return True
    first, last = after.lstrip()[0], stripped[-1]
    if _CJK.match(last) and _CJK.match(first):
        return True
    if first.islower() or first.isdigit() or first in "(\"'“‘[":
        return True
    if last in ",-–—/&+":
        return True
    word = stripped.split()[-1]
    if not word.isalpha() or not word.islower():
        return False
    return word in _GOES_ON or len(stripped.strip()) >= _PROSE_CHARS


#: A line at least this share of the wrap width is full: the text was wrapped there.
FULL_LINE = 0.8


def wrap_width(text: str) -> int:
    """The length the lines of a wrapped text reach: the 90th percentile of its lines' lengths (0 for a
    text of fewer than 10 lines, whose widest lines say nothing of a wrap)."""
    lengths = sorted(len(line.strip()) for line in text.splitlines() if line.strip())
    return lengths[len(lengths) * 9 // 10] if len(lengths) >= 10 else 0


def join_wrapped(text: str, paragraphs: list[Paragraph]) -> list[Paragraph]:
    """`paragraphs` with each one that a line wrap cut joined to the next: consecutive paragraphs of one
    block, one line break apart, where the first's last line `continues` on the second's first line."""
    joined: list[Paragraph] = []
    width = wrap_width(text)
    for paragraph in paragraphs:
        if joined:
            previous = joined[-1]
            between = text[previous.end : paragraph.start]
            if (previous.block == paragraph.block and not between.strip() and len(LINE_BREAK.findall(between)) == 1
                    and continues(_last_line(text, previous.end), _first_line(text, paragraph.start), width)):
                joined[-1] = Paragraph(previous.start, paragraph.end, previous.block)
                continue
        joined.append(paragraph)
    return joined


def _last_line(text: str, end: int) -> str:
    """The line of `text` that ends at `end`, with its indentation."""
    start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
    return text[start:end]


def _first_line(text: str, start: int) -> str:
    """The line of `text` that holds `start`, with its indentation, up to its end."""
    first = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    match = LINE_BREAK.search(text, start)
    return text[first : match.start() if match else len(text)]
