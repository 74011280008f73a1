"""The `qa` command's arguments: the parser, its subcommands and the checks of option values (a bad value
is one line and exit 2)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, NoReturn, TypeVar

from qa import config


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}. See: {self.prog} --help\n")


N = TypeVar("N", int, float)


def _checked(convert: Callable[[str], N], ok: Callable[[N], bool], rule: str) -> Callable[[str], N]:
    """An option value's check: the text converted, or one line saying what is wrong with it."""
    noun = "a whole number" if convert is int else "a number"

    def check(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{rule}, not {text}")
        return value

    return check


_positive = _checked(int, lambda value: value >= 1, "must be at least 1")
_amount = _checked(float, lambda value: value > 0, "must be more than 0")   # NaN is not more than 0
_confidence = _checked(float, lambda value: 0.0 <= value <= 1.0, "must be between 0 and 1")


def parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the README test)."""
    search = _Parser(add_help=False)
    search.add_argument("-k", type=_positive, default=argparse.SUPPRESS,
                        help=f"passages per answer (default {config.DEFAULT_K})")
    search.add_argument("--mode", choices=config.MODES, default=argparse.SUPPRESS,
                        help=f"search mode (default {config.DEFAULT_MODE}: reciprocal-rank fusion of dense and bm25)")
    search.add_argument("--max-per-file", type=_positive, default=argparse.SUPPRESS, metavar="N",
                        help="at most N passages from one file (default: no cap; overlapping passages are always merged)")
    search.add_argument("--explain", action="store_true", default=argparse.SUPPRESS,
                        help="show each hit's dense rank and similarity, BM25 rank and score, and fused score")
    search.add_argument("--full", action="store_true", default=argparse.SUPPRESS,
                        help="show whole passages (default: the answering sentence with a sentence either side)")
    search.add_argument("--min-confidence", type=_confidence, default=argparse.SUPPRESS, metavar="X",
                        help="answers whose answer confidence is below X (0 to 1) are reported as not answered and "
                             "their passages withheld (for scripts; default: every answer is shown, a weak one "
                             "labelled)")
    where = _Parser(add_help=False)
    where.add_argument("--index", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help=f"index folder (default {config.DEFAULT_INDEX})")

    main = _Parser(prog="qa", description="Ask questions of a folder of documents; answers are cited passages.",
                   parents=[search, where],
                   epilog="With no command, qa opens the interactive loop (same as: qa repl).")
    commands = main.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    index = commands.add_parser("index", parents=[where], help="build or update the index",
                                description="Build or update the index of the documents under PATHs "
                                            "(.txt, .md, .html, .htm, .xhtml, .pdf, .docx).")
    index.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help=f"files or folders to index, replacing the indexed set (default: the paths the index "
                            f"was built from, or {config.DEFAULT_CORPUS} for a new index)")
    index.add_argument("--add", type=Path, action="append", default=[], metavar="PATH",
                       help="add PATH to the indexed paths (repeatable)")
    index.add_argument("--cluster", default=config.DEFAULT_CLUSTER, metavar="tcp://HOST:8786",
                       help="embed on this running dask.distributed scheduler's workers (default $QA_CLUSTER, "
                            "or here); needs: pip install 'qa[cluster]'")
    index.add_argument("--dense-index", choices=("auto", "flat", "ivf", "ivfpq"), default="auto",
                       help="dense index kind: exact flat scan, IVF, or IVF with product-quantised vectors "
                            "(48 bytes a passage); default auto: flat below 200,000 passages, ivf below 2M, then ivfpq")
    index.add_argument("--watch", action="store_true",
                       help="stay running and update the index whenever files under its paths change (Ctrl-C stops)")
    index.add_argument("--model", default=config.DEFAULT_MODEL,
                       help=f"sentence-transformers model name or local folder (default {config.DEFAULT_MODEL})")
    index.add_argument("--follow-links", action="store_true",
                       help="also read symbolic links (to files and folders) that lead outside the PATHs")
    index.add_argument("--verbose", action="store_true",
                       help="list each file of an unsupported type instead of one summary line")
    index.add_argument("--read-seconds", type=_amount, metavar="S",
                       help=f"skip a file that takes longer to read (default $QA_READ_SECONDS or {config.READ_SECONDS:g})")
    index.add_argument("--read-memory", type=_amount, metavar="MB",
                       help=f"skip a file whose reading needs more memory (default $QA_READ_MEMORY_MB or {config.READ_MEMORY_MB:g})")
    index.add_argument("--max-file", type=_amount, metavar="MB",
                       help=f"skip larger files (default $QA_MAX_FILE_MB or {config.MAX_FILE_MB:g})")
    index.add_argument("--quantization", choices=config.QUANTIZATIONS, default=config.DEFAULT_QUANTIZATION,
                       help="run the model as exported (none) or with dynamic int8 quantisation "
                            f"(default {config.DEFAULT_QUANTIZATION})")

    ask = commands.add_parser("ask", parents=[search, where], help="answer one question",
                              description="Print the passages that best answer QUESTION.")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    commands.add_parser("repl", parents=[search, where], help="interactive loop (the default)",
                        description="Ask questions one after another; :help inside lists the commands.")

    batch = commands.add_parser("batch", parents=[search, where], help="answer a file of questions as JSON lines",
                                description="Answer one question a line (plain text, or JSON with id and question); "
                                            "write one JSON object a line to stdout.")
    batch.add_argument("file", metavar="FILE|-", help="questions file, or - for standard input")

    evaluate = commands.add_parser("eval", parents=[where], help="measure retrieval quality on a question set",
                                   description="Recall@1/5/10 and MRR@10 per mode on QUESTIONS.jsonl "
                                               '(lines of {"id", "question", "gold": [{"file", "contains"}]}).')
    evaluate.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of tables")

    show = commands.add_parser("show", parents=[where], help="print a cited passage with its context",
                               description="Print the passage a citation names (as qa ask prints it: file:12-18, "
                                           "page.html:212 § Heading, report.pdf p. iv, doc.docx § Heading ¶ 3) "
                                           "with the lines around it, from the text stored in the index.")
    show.add_argument("citation", metavar="CITATION", help="a citation, in quotes")
    show.add_argument("--context", type=int, default=3, metavar="N", help="lines shown before and after (default 3)")

    serve = commands.add_parser("serve", parents=[where], help="answer over HTTP for scripts (loopback unless given a token)",
                                description="A warm HTTP server over one index: POST /ask and /batch, GET /show and "
                                            "/health, with the JSON qa ask --json prints. Needs: pip install 'qa[serve]'.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs --token)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' on every request (default $QA_TOKEN)")
    serve.add_argument("--watch", type=Path, action="append", default=[], metavar="PATH",
                       help="keep the index fresh with the files under PATH, in the same process (repeatable)")

    commands.add_parser("mcp", parents=[where], help="Model Context Protocol server over stdio, for agents",
                        description="Serve the tools ask and show over MCP on stdin/stdout. Needs: pip install 'qa[serve]'.")
    return main
