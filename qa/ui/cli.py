"""The `qa` command: parse arguments, call the core, render. Exit 0 ok, 1 failure, 2 misuse."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from qa import config
from qa.errors import QAError, UsageError
from qa.startup import configure
from qa.ui.arguments import parser

if TYPE_CHECKING:
    from qa.ingest.loaded import Models


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        config.apply_environment()
    except UsageError as error:
        _say(f"error: {error}")
        return error.exit_code
    args = parser().parse_args(argv)
    try:
        command = args.command or "repl"
        configure(command)
        return {"index": _index, "ask": _ask, "repl": _repl, "batch": _batch, "eval": _eval,
                "show": _show, "serve": _serve, "mcp": _mcp}[command](args)
    except QAError as error:
        for skipped in getattr(error, "skipped", ()):
            if not skipped.other:
                _say(f"skipped {skipped.path}: {skipped.reason}")
        _say(f"error: {error}")
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (e.g. `qa batch … | head -1`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so the interpreter's final flush cannot complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:   # a disk or permission problem outside what the core checks
        _say(f"error: {error.strerror or error}: {error.filename or ''}. Check the path and try again.")
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _opt(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, {"k": config.DEFAULT_K, "mode": config.DEFAULT_MODE, "index": config.DEFAULT_INDEX,
                                "max_per_file": None, "explain": False, "full": False,
                                "min_confidence": None}[name])


def _say(message: str) -> None:
    from qa.ui.render import say

    say(message)


def _console(stderr: bool = False) -> Any:
    from qa.ui.render import console

    return console(stderr)


def _open(args: argparse.Namespace) -> Any:
    return open_index(_opt(args, "index"))


def open_index(index_dir: Path) -> Any:
    """Open the index (model and settings checked) and say, in one line, if its files changed since it was
    built. qa serve and qa mcp open theirs the same way."""
    from qa.index import Index

    index = Index.open(index_dir, model=os.environ.get("QA_MODEL") or None, expect=config.IndexSettings())
    stale = index.stale_files()
    if stale:
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        _say(f"warning: {len(stale)} file(s) changed since the index was built ({shown}); "
             f"update with: {index.update_command()}")
    return index


def _warn(index: Any) -> None:
    for warning in index.take_warnings():
        _say(f"warning: {warning}")


def _index(args: argparse.Namespace) -> int:
    from qa.ingest.loaded import Models
    from qa.ingest.plan import plan_build

    index_dir = _opt(args, "index")
    plan = plan_build(index_dir, args.paths, args.add, args.model)
    models = Models()   # the tokenizer and embedder stay loaded from one update to the next
    _build_and_report(plan, index_dir, args, models=models)
    if args.watch:
        _watch(replace(plan, dropped=(), replaced_by=()), index_dir, args, models)
    return 0


def _watch(plan: Any, index_dir: Path, args: argparse.Namespace, models: Models) -> None:
    """Update the index after each burst of changes, one summary line each, until Ctrl-C."""
    from qa.ingest.watch import watch_paths

    def update(changed: set[str]) -> None:
        try:
            _build_and_report(plan, index_dir, args, quiet_if_current=True, models=models)
        except QAError as error:   # e.g. every file deleted: say so and keep watching
            _say(f"error: {error}")

    _say(f"Watching {', '.join(map(str, plan.paths))} for changes; Ctrl-C stops.")
    watch_paths(plan.paths, index_dir, update, say=_say)
    _say("Stopped watching.")


def _build_and_report(plan: Any, index_dir: Path, args: argparse.Namespace, quiet_if_current: bool = False,
                      models: Models | None = None) -> Any:
    """One build of `plan`, its warnings on stderr and its one-line summary on stdout; returns the report.

    `quiet_if_current`: print nothing when the index was already up to date."""
    from qa.ingest.build import build_index
    from qa.ui.render import terminal_safe

    paths = plan.paths
    limits = replace(config.ReadLimits.current(), **{name: value for name, value in (
        ("seconds", args.read_seconds), ("memory_mb", args.read_memory), ("file_mb", args.max_file)) if value})
    console = _console(stderr=True)
    if console.is_terminal:
        from qa.ui.progress import BuildProgress

        with BuildProgress(console) as progress:
            report = build_index(paths, index_dir, args.model, progress=progress.update,
                                 quantization=args.quantization, follow_links=args.follow_links,
                                 cluster=args.cluster, dense_index=args.dense_index, limits=limits, models=models)
    else:
        report = build_index(paths, index_dir, args.model, quantization=args.quantization,
                             follow_links=args.follow_links, cluster=args.cluster, dense_index=args.dense_index,
                             limits=limits, models=models)
    if quiet_if_current and report.up_to_date:
        return report
    for warning in report.warnings:
        _say(f"warning: {warning}")
    others = [s for s in report.skipped if s.other]
    for skipped in report.skipped:
        if not skipped.other or args.verbose:
            _say(f"skipped {skipped.path}: {skipped.reason}")
    if others and not args.verbose:
        from qa.sources.summary import other_files

        _say(other_files([s.path for s in others]))
    for note in report.notes:
        _say(f"note: {note}")
    from qa.ui.render import visible

    state = "up to date" if report.up_to_date else f"written to {visible(str(index_dir))}"
    replaced = plan.replacement()
    print(
        f"Indexed {report.files} {'file' if report.files == 1 else 'files'} ({report.unchanged} unchanged, "
        f"{report.changed} changed, {report.added} added, "
        f"{report.removed} removed; {len(report.skipped)} skipped): {report.passages} passages, "
        f"{report.embedded} embedded, {report.junk_lines} junk lines dropped from the {report.read} read, "
        f"{report.seconds:.1f} s. Index {state}."
        + (f" {terminal_safe(replaced)}" if replaced else ""), flush=True
    )
    return report


def _ask(args: argparse.Namespace) -> int:
    from qa.ui.render import answer_json, answer_renderable, below_minimum

    index = _open(args)
    answer = index.answer(args.question, _opt(args, "k"), _opt(args, "mode"), _opt(args, "max_per_file"))
    answer = below_minimum(answer, _opt(args, "min_confidence"))
    _warn(index)
    if args.json:
        print(json.dumps(answer_json(answer, _opt(args, "explain")), ensure_ascii=False))
    else:
        _console().print(answer_renderable(answer, _opt(args, "explain"), _opt(args, "full")))
    return 0


def _show(args: argparse.Namespace) -> int:
    from qa.ui.render import shown_renderable
    from qa.ui.show import show

    if args.context < 0:
        raise UsageError(f"--context must be 0 or more, not {args.context}.")
    index = _open(args)
    _console().print(shown_renderable(show(index, args.citation, args.context)))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from qa.ui.serve import serve

    return serve(_opt(args, "index"), args.host, args.port, args.token or os.environ.get("QA_TOKEN") or None, args.watch)


def _mcp(args: argparse.Namespace) -> int:
    from qa.ui.mcp import run

    return run(_opt(args, "index"))


def _repl(args: argparse.Namespace) -> int:
    from qa.ui import repl

    return repl.run(_open(args), _console(), _opt(args, "k"), _opt(args, "mode"),
                    max_per_file=_opt(args, "max_per_file"), explain=_opt(args, "explain"), full=_opt(args, "full"),
                    min_confidence=_opt(args, "min_confidence"))


def _batch(args: argparse.Namespace) -> int:
    from qa.ui.batch import run_batch

    index = _open(args)
    if args.file == "-":
        fd, close = sys.stdin.fileno(), False
    else:
        if os.path.isdir(args.file):
            raise UsageError(f"{args.file} is a folder. Name a file of questions, or - for stdin.")
        try:
            fd, close = os.open(args.file, os.O_RDONLY), True
        except OSError as error:
            raise UsageError(f"Cannot read {args.file}: {error.strerror}. Name a file of questions, or - for stdin.") from None
    console = _console(stderr=True)
    options = dict(k=_opt(args, "k"), mode=_opt(args, "mode"), max_per_file=_opt(args, "max_per_file"),
                   explain=_opt(args, "explain"), out=sys.stdout, batch_size=config.BATCH_GROUP,
                   min_confidence=_opt(args, "min_confidence"))
    try:
        if console.is_terminal:
            with console.status("Answering…") as status:
                return run_batch(index, fd, progress=lambda n: status.update(f"Answered {n} questions…"), **options)
        return run_batch(index, fd, **options)
    finally:
        if close:
            os.close(fd)


def _eval(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from qa.evaluate import evaluate, load_questions
    from qa.ui.render import kind_tables, terminal_safe, verdict_tables, visible

    questions = load_questions(args.questions)
    index = _open(args)
    scores = evaluate(index, questions)
    _warn(index)
    if args.json:
        print(json.dumps({"questions": len(questions), "modes": {m: s.as_dict() for m, s in scores.items()}},
                         ensure_ascii=False))
        return 0
    console = _console()
    table = Table(title=f"{visible(str(args.questions))}: {len(questions)} questions", title_justify="left")
    table.add_column("metric")
    for mode in scores:
        table.add_column(mode, justify="right")
    for label, value in (("recall@1", lambda s: f"{s.recall(1):.3f}"), ("recall@5", lambda s: f"{s.recall(5):.3f}"),
                         ("recall@10", lambda s: f"{s.recall(10):.3f}"), ("MRR@10", lambda s: f"{s.mrr(10):.3f}"),
                         ("no answer, flagged", lambda s: "—" if s.flagged is None else f"{s.flagged}/{s.unanswerable}"),
                         ("false alarms", lambda s: "—" if s.false_alarms is None else f"{s.false_alarms}/{s.answerable}")):
        table.add_row(label, *(value(s) for s in scores.values()))
    console.print(table)
    for verdict_table in [*kind_tables(scores), *verdict_tables(scores)]:
        console.print(verdict_table)
    hybrid = scores.get("hybrid")
    if hybrid and hybrid.misses:
        misses = Table(title="Not first in hybrid (rank per mode; what came first)", title_justify="left")
        for column in ("id", "question", *scores, "first instead"):
            misses.add_column(column, overflow="fold")
        for miss in hybrid.misses:
            ranks = [str(s.found_at.get(miss["id"]) or "—") for s in scores.values()]
            misses.add_row(Text(terminal_safe(miss["id"])), Text(terminal_safe(miss["question"])), *ranks,
                           Text(visible(miss["first"] or "")))
        console.print(misses)
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
