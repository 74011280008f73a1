"""The interactive loop: questions in, cited passages out; `:` commands change settings."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.text import Text

from qa import config
from qa.errors import QAError
from qa.index import Index
from qa.search.hits import Answer
from qa.query import clean
from qa.ui.render import answer_renderable, below_minimum, say, terminal_safe, visible

HELP = """\
Type a question and press Enter. Commands:
  :k N       show N passages per answer
  :mode M    search mode: hybrid (default), dense or bm25
  :explain   show or hide why each passage ranked where it did
  :full      show whole passages, or (again) the answering sentence with its neighbours
  :show N    open hit N of the last answer in its document, with the lines around it
  :help      this help
  :quit      leave (so do exit, quit and Ctrl-D); Ctrl-C abandons the current line"""


def history_file() -> Path:
    """Where line history is kept between sessions."""
    return Path(os.environ.get("QA_HISTORY", Path.home() / ".qa_history"))


class Repl:
    """Settings and command handling, independent of where lines come from."""

    def __init__(self, index: Index, console: Console, k: int, mode: str,
                 max_per_file: int | None = None, explain: bool = False, full: bool = False,
                 min_confidence: float | None = None) -> None:
        self.index, self.console, self.k, self.mode = index, console, k, mode
        self.max_per_file, self.explain, self.full = max_per_file, explain, full
        self.min_confidence = min_confidence
        self.last: Answer | None = None

    def handle(self, line: str, echo: bool = False) -> bool:
        """Act on one line; False means leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self.command(line)
        if line.lower() in ("exit", "quit"):     # what people type to leave, whatever the prompt says
            return False
        if echo:
            self.console.print(Text(f"? {terminal_safe(clean(line))}", style="bold"))
        try:
            update = self.index.refresh()
            if update:
                self.console.print(Text(update.describe(), style="dim"))
        except QAError as error:   # a damaged new generation: say so, and answer from the one in use
            self.console.print(Text(f"error: {error}", style="red"))
        try:
            answer = below_minimum(self.index.answer(line, self.k, self.mode, self.max_per_file), self.min_confidence)
        except QAError as error:
            self.console.print(Text(f"error: {error}", style="red"))
            return True
        self.warn()
        self.last = answer
        self.console.print(answer_renderable(answer, self.explain, self.full))
        return True

    def show(self, argument: str) -> None:
        """`:show N`: hit N of the last answer, opened as `qa show CITATION` opens it."""
        from qa.ui.render import shown_renderable
        from qa.ui.show import show

        hits = self.last.hits if self.last else []
        if not re.fullmatch(r"[0-9]{1,4}", argument) or not 1 <= int(argument) <= len(hits):
            usage = f":show N, N from 1 to {len(hits)}" if hits else ":show N after an answer with hits"
            self.console.print(Text(f"usage: {usage}", style="red"))
            return
        try:
            self.console.print(shown_renderable(show(self.index, hits[int(argument) - 1].citation)))
        except QAError as error:
            self.console.print(Text(f"error: {error}", style="red"))

    def command(self, line: str) -> bool:
        name, _, argument = line[1:].strip().partition(" ")
        argument = argument.strip()
        if name in ("q", "quit", "exit"):
            return False
        if name in ("h", "help", "?"):
            self.console.print(Text(HELP))
        elif name == "explain":
            self.explain = not self.explain if not argument else argument == "on"
            self.console.print(Text(f"explain = {'on' if self.explain else 'off'}", style="dim"))
        elif name == "full":
            self.full = not self.full if not argument else argument == "on"
            self.console.print(Text(f"full = {'on' if self.full else 'off'}", style="dim"))
        elif name == "k" and re.fullmatch(r"[0-9]+", argument) and int(argument) > 0:
            self.k = int(argument)
            self.console.print(Text(f"k = {self.k}", style="dim"))
        elif name == "mode" and argument in config.MODES:
            self.mode = argument
            self.console.print(Text(f"mode = {self.mode}", style="dim"))
        elif name == "show":
            self.show(argument)
        elif name in ("k", "mode"):
            usage = ":k N (a whole number ≥ 1)" if name == "k" else f":mode {'|'.join(config.MODES)}"
            self.console.print(Text(f"usage: {usage}", style="red"))
        else:
            self.console.print(Text(f"unknown command :{terminal_safe(name)}; type :help", style="red"))
        return True

    def warn(self) -> None:
        for warning in self.index.take_warnings():
            say(f"warning: {warning}")


def run(index: Index, console: Console, k: int, mode: str, read_line: Callable[[str], str] | None = None,
        max_per_file: int | None = None, explain: bool = False, full: bool = False,
        min_confidence: float | None = None) -> int:
    """The loop. On a terminal: prompt, line editing and history; otherwise one question a line."""
    repl = Repl(index, console, k, mode, max_per_file, explain, full, min_confidence)
    if not sys.stdin.isatty() and read_line is None:
        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(errors="replace")     # a stray byte that is not UTF-8 costs that character only
        for line in sys.stdin:
            if not repl.handle(line, echo=True):
                break
        return 0
    _load_history()
    console.print(Text(f"qa: {index.size} passages in {visible(str(index.path))}. Ask a question; :help for commands, :quit to leave.",
                       style="dim"))
    if mode != "bm25":
        with console.status("Loading the embedding model…"):
            index.dense_error()
    repl.warn()
    prompt = read_line or input
    try:
        while True:
            try:
                line = prompt("qa> ")
                if not repl.handle(line):
                    break
            except KeyboardInterrupt:   # abandons the line being typed, or the answer being found
                console.print()
            except EOFError:
                console.print()
                break
    finally:
        _save_history()
    return 0


def _load_history() -> None:
    try:
        import readline
    except ImportError:  # not on every platform
        return
    readline.set_history_length(1000)
    try:
        readline.read_history_file(history_file())
    except OSError:
        pass


def _save_history() -> None:
    try:
        import readline

        readline.write_history_file(history_file())
    except (ImportError, OSError):
        pass
