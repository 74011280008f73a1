"""Tell real content from web junk in plain text, and find the content paragraphs.

Junk is recognised by general rules about the line itself (navigation and share
buttons, copyright and licence footers, comment forms, "See also" links, menus and
link-farm spam), never by file name. The rules leave alone what documents are made
of: Markdown headings, numbers, code (`{`, `}`), shell pipelines (`a | b | c | d`)
and full sentences, even ones that start with "Copyright". The text is kept exactly
as read: cleaning only marks which line ranges are content.
"""

from __future__ import annotations

import re

from qa.sources.document import LINE_BREAK, Paragraph

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
#: What makes a line starting with "Copyright" a notice rather than a sentence about copyright.
_NOTICE = re.compile(r"©|\(c\)|\b(1[89]|20)\d\d\b|all rights reserved", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s*$")
_BRACKETS_ONLY = re.compile(r"^(\s*\[[^\]]*\]){2,}\s*$")     # a row of badges; one `[section]` is content
#: Separator lines (`|`, `»`, `• • •`, `----`) carry nothing; braces, brackets and digits do (code, numbers).
_SEPARATORS_ONLY = re.compile(r"^[\s|｜·•»«›‹/\\\-–—_=*~>]+$")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
#: Code and markup: backticks, prompts, braces, assignments, calls `f(`, quoted list items, fences, table rows.
_CODE = re.compile(r"`|>>>|[{}=]|[A-Za-z0-9_\]]\(|\[(\(|['\"<]|b['\"])|^(\|.*\||\+[-=+]+\+|```|~~~)")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def is_junk(line: str) -> bool:
    """True when a (non-blank) line is web chrome rather than content."""
    stripped = line.strip()
    if _SEPARATORS_ONLY.match(stripped):
        return True
    if not any(ch.isalpha() for ch in stripped) or _MARKDOWN_HEADING.match(stripped) or _CODE.search(stripped):
        return False                  # numbers, code, headings, tables
    words = stripped.split()
    if len(words) <= 40 and (_PHRASES.search(stripped) or _is_copyright_notice(stripped, words)):
        return True
    if _LEADS.search(stripped) and not _SENTENCE_END.search(stripped):
        return True
    if _BRACKETS_ONLY.match(stripped):
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


def _is_copyright_notice(line: str, words: list[str]) -> bool:
    """A copyright or licence notice; a sentence that only starts with the word "Copyright" is not one."""
    match = _COPYRIGHT.search(line)
    if not match:
        return False
    if match.group().strip(" \t*#_>").lower().startswith("copyright"):
        return bool(_NOTICE.search(line))
    return True


def _is_link_list(line: str) -> bool:
    """A line of four or more short labels between bars: a menu or a link farm (not a pipeline or table)."""
    if line.startswith("|"):          # a Markdown table row is content
        return False
    items = [item.strip() for item in re.split(r"[|｜]", line)]
    items = [item for item in items if item]
    if len(items) < 4:
        return False
    labels = sum(len(item) <= 60 and len(item.split()) <= 8 and _label_like(item) for item in items)
    return labels * 4 >= len(items) * 3


def _label_like(item: str) -> bool:
    """Menu entries start with a capital or a non-Latin letter; commands (`grep -v x`) start lower-case."""
    first = item[0]
    return first.isalpha() and not (first.isascii() and first.islower())


# --- paragraphs -----------------------------------------------------------------


def lines(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """`(start, end)` of each line of `text[start:end]`, without its line break (CR LF, LF or CR)."""
    end = len(text) if end is None else end
    spans = []
    position = start
    for match in LINE_BREAK.finditer(text, start, end):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, end))
    return spans


def find_paragraphs(
    text: str, start: int = 0, end: int | None = None, first_block: int = 0,
) -> tuple[list[Paragraph], int]:
    """Content paragraphs of `text[start:end]` (exact, whitespace-trimmed spans) and the junk-line count.

    A blank line ends a paragraph. Within a run of lines, each line is its own
    paragraph unless the run looks hard-wrapped (lines of similar width), in
    which case the run is one paragraph. A junk line ends the block: passages
    are never built across it. Blocks are numbered from `first_block`.
    """
    paragraphs: list[Paragraph] = []
    junk = 0
    block = first_block
    run: list[tuple[int, int]] = []   # (start, end) of the current run of content lines

    def flush() -> None:
        if not run:
            return
        if _hard_wrapped(run):
            paragraphs.append(Paragraph(run[0][0], run[-1][1], block))
        else:
            paragraphs.extend(Paragraph(s, e, block) for s, e in run)
        run.clear()

    for line_start, line_end in lines(text, start, end):
        line = text[line_start:line_end]
        if not line.strip():
            flush()
            continue
        if is_junk(line):
            flush()
            junk += 1
            block += 1
            continue
        lead = len(line) - len(line.lstrip())
        trail = len(line) - len(line.rstrip())
        run.append((line_start + lead, line_end - trail))
    flush()
    return paragraphs, junk


def _hard_wrapped(run: list[tuple[int, int]]) -> bool:
    if len(run) < 3:
        return False
    widths = [end - start for start, end in run[:-1]]
    widest = max(widths)
    return widest <= 100 and min(widths) >= 0.6 * widest
