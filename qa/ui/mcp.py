"""`qa mcp`: a Model Context Protocol server over stdio (the official `mcp` SDK, 2.x) with two tools.

- `ask(question, k, mode)`: the answer as structured content, exactly the object `qa ask --json` prints
  (cited passages, the answering sentence of each as `answer_start`/`answer_end`, the verdict), plus a
  short text rendering: the verdict, then each citation with its answering sentence.
- `show(citation, context)`: the cited passage with the lines around it, as text (and the same JSON as
  `qa serve`'s /show as structured content).

stdout is the protocol: every log line goes to stderr (the SDK also points file descriptor 1 at stderr
while it serves, so a stray print cannot corrupt the stream). Register it with a client by its command,
e.g. `{"mcpServers": {"qa": {"command": "qa", "args": ["mcp", "--index", "/path/to/index"]}}}`.
The SDK is imported only here, inside `run` (the `serve` extra).
"""

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from qa import config
from qa.errors import QAError, UsageError
from qa.ui.cli import open_index
from qa.ui.serve_checks import MAX_CONTEXT_LINES, NEEDS_EXTRA, BadRequest, check_options, check_question, say
from qa.ui.serve_engine import Engine

if TYPE_CHECKING:
    from types import FrameType

    from mcp.server.mcpserver import MCPServer

Mode = Literal["hybrid", "dense", "bm25"]

#: Characters of an answering sentence shown in the text rendering (the structured content has it whole).
SENTENCE_CHARS = 400

INSTRUCTIONS = ("Answers questions from a local folder of documents with cited passages (no generated text). "
                "Call ask with a question; each result has a citation you can pass to show to read the passage "
                "in its context. 'answered': false means the documents likely do not answer the question.")


def render_answer(data: dict[str, Any]) -> str:   # Any: render.answer_json's type
    """A short plain-text rendering of a `qa ask --json` object: the verdict, then each hit's citation and
    answering sentence (or the start of its passage)."""
    if data["answered"] is None:
        verdict = "not judged"
    else:
        verdict = "answered" if data["answered"] else "probably not answered by these documents"
    confidence = data.get("answer_confidence")
    lines = [f"{verdict}" + (f" (answer confidence {confidence:.2f})" if confidence is not None else "")
             + f"; {len(data['results'])} passage(s):"]
    for hit in data["results"]:
        text = hit["text"]
        if hit.get("answer_start") is not None and hit.get("answer_end") is not None:
            text = text[hit["answer_start"] - hit["start"]:hit["answer_end"] - hit["start"]]
        text = " ".join(text.split())
        if len(text) > SENTENCE_CHARS:
            text = text[:SENTENCE_CHARS].rstrip() + "…"
        lines.append(f"[{hit['rank']}] {hit['citation']}\n    {text}")
    return "\n".join(lines)


def render_shown(data: dict[str, Any]) -> str:   # Any: serve_checks.shown_json's fields
    """`qa show`'s text: the citation, then each line shown, numbered, the cited ones marked `>`."""
    head = (f"{data['citation']}  ({data['file']}, lines {data['cited_first_line']}-{data['cited_last_line']} "
            "of the text qa extracted)")
    return "\n".join([head] + [f"{'>' if line['cited'] else ' '} {line['number']:>5} | {line['text']}"
                               for line in data["lines"]])


def build_server(engine: Engine) -> "MCPServer":
    """The MCPServer with the tools `ask` and `show` over `engine`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent

    server = MCPServer("qa", instructions=INSTRUCTIONS, log_level="WARNING")

    def failure(error: Exception) -> ToolError:
        return ToolError(str(error))

    @server.tool(description="Find the passages of the indexed documents that answer a question, best first, each "
                             "with a citation, its answering sentence, and whether the documents answer it at all "
                             "(the JSON `qa ask --json` prints).")
    def ask(question: str, k: int = config.DEFAULT_K, mode: Mode = cast(Mode, config.DEFAULT_MODE)) -> CallToolResult:
        try:
            question = check_question(question)
            k, checked_mode, _, _ = check_options(k, mode)
            data = engine.ask(question, k, checked_mode)
        except (BadRequest, QAError) as error:
            raise failure(error) from None
        return CallToolResult(content=[TextContent(type="text", text=render_answer(data))], structured_content=data)

    @server.tool(description="Show the passage a citation (as ask gives it, e.g. notes.txt:12-18) names, with the "
                             "lines around it, from the text stored in the index.")
    def show(citation: str, context: int = 3) -> CallToolResult:
        if not citation.strip():
            raise failure(ValueError("Name a citation as ask gives it, e.g. notes.txt:12-18."))
        if isinstance(context, bool) or not 0 <= context <= MAX_CONTEXT_LINES:
            raise failure(ValueError(f"context must be from 0 to {MAX_CONTEXT_LINES}, not {context}."))
        try:
            data = engine.show(citation, context)
        except QAError as error:
            raise failure(error) from None
        return CallToolResult(content=[TextContent(type="text", text=render_shown(data))], structured_content=data)

    return server


def run(index_dir: Path) -> int:
    """`qa mcp`: serve the tools over stdin/stdout until the client closes them (or Ctrl-C, SIGTERM); exit 0."""
    try:
        import anyio
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise UsageError(NEEDS_EXTRA.format(command="qa mcp")) from None
    engine = Engine(open_index(index_dir))
    engine.warm()
    server = build_server(engine)

    def stop(signum: int, frame: "FrameType | None") -> None:
        # The SDK reads stdin in a worker thread that no cancellation reaches until a line arrives, so a
        # graceful shutdown would wait for the client to write. The index is only read and every message
        # is written whole and flushed: leave now, exit 0.
        say("Stopped.")
        os._exit(0)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    say(f"qa mcp: serving {index_dir} ({engine.index.size:,} passages) on stdio; the client closing stdin, "
        "Ctrl-C or SIGTERM stops it.")
    try:
        anyio.run(server.run_stdio_async)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
