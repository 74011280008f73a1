"""Text for a terminal: inert (no escape sequence or control character from a document reaches it), and
plain lines when the output is not a terminal."""

from __future__ import annotations

import os
import re
import sys
from typing import IO, cast

from rich.console import Console

# Whole escape sequences first (CSI, OSC up to BEL or ST, other two-byte ESC forms), then
# any control or bidirectional-override character left over.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def terminal_safe(text: str) -> str:
    """`text` with escape sequences and control characters removed (newlines kept, tabs as spaces)."""
    text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n").replace("\t", "    "))
    return _CONTROL.sub("", text)


#: Characters shown escaped in names and messages: C0 and C1 controls (newline and tab included), DEL,
#: and the invisible ones (zero-width, bidirectional controls, byte-order mark).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(text: str) -> str:
    """`text` with every control or invisible character shown as an escape (`\\n`, `\\x1b`, `\\u202e`).

    For file names and messages: a name holding a newline or an escape sequence stays on its line,
    inert and recognisable, instead of forging output or vanishing.
    """
    return _UNPRINTABLE.sub(lambda m: _NAMED.get(m.group()) or (
        f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"), text)


def say(message: str) -> None:
    """One line on stderr; control characters (from file or index names) are shown escaped."""
    print(visible(message), file=sys.stderr, flush=True)


class _PlainLines:
    """A text stream that drops the spaces rich pads lines with."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._stream.write(line.rstrip(" ") + "\n")
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._stream.write(self._partial)
            self._partial = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()


def console(stderr: bool = False) -> Console:
    """A console for stdout (or stderr). On a terminal: rich as usual. Otherwise plain lines: no colour
    (unless FORCE_COLOR is set), no wrapping (unless COLUMNS is set), no trailing spaces."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, highlight=False, emoji=False, markup=False)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else 1_000_000
    colour = bool(os.environ.get("FORCE_COLOR"))
    # rich only writes to and flushes its file: _PlainLines is that much of a text stream.
    return Console(file=cast(IO[str], _PlainLines(stream)), width=width, force_terminal=colour, color_system="standard" if colour else None,
                   highlight=False, emoji=False, markup=False)
