"""`qa batch`: many questions in, one JSON line out per question, flushed as each is ready."""

from __future__ import annotations

import codecs
import json
import os
import select
from typing import IO, Any, Iterator

from qa.errors import LineError, QAError
from qa.index import Index
from qa.query import clean
from qa.ui.render import answer_json, below_minimum, say


def line_batches(fd: int, size: int) -> Iterator[list[bytes]]:
    """Lines from a file descriptor, grouped up to `size` while more input is already waiting.

    A file or a fast pipe gives full groups (so questions are embedded together);
    a script that writes one question and waits for its answer gets it at once.
    """
    buffer = b""
    lines: list[bytes] = []
    eof = False
    while not eof or lines:
        if not eof:
            ready, _, _ = select.select([fd], [], [], 0 if lines else None)
            if ready:
                data = os.read(fd, 1 << 16)
                if data:
                    buffer += data
                    *complete, buffer = buffer.split(b"\n")
                    lines += complete
                    if len(lines) < size:
                        continue
                else:
                    eof = True
                    if buffer:
                        lines.append(buffer)
                        buffer = b""
        if lines:
            yield lines[:size]
            del lines[:size]


def parse_line(raw: bytes, number: int) -> tuple[Any, str]:
    """`(id, question)` from a plain line or a JSON line with `question` (and optional `id`)."""
    text = raw.decode("utf-8", errors="replace").strip()
    if not text.startswith("{"):
        return number, text
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        raise LineError(f"line {number} is not valid JSON ({error.msg})", number) from None
    except RecursionError:
        raise LineError(f"line {number} is JSON nested too deeply to read", number) from None
    if not isinstance(item, dict):
        raise LineError(f"line {number} is JSON but not an object", number)
    item_id = item.get("id", number)
    if isinstance(item_id, str):
        item_id = clean(item_id)     # written back in the answer: a lone surrogate could not be
    if not isinstance(item.get("question"), str):
        raise LineError(f'line {number} has no "question" string', item_id)
    if not item["question"].strip():
        raise LineError(f"line {number} has an empty question", item_id)
    return item_id, item["question"]


def run_batch(
    index: Index, fd: int, k: int, mode: str, out: IO[str], batch_size: int,
    max_per_file: int | None = None, explain: bool = False, progress: Any = None,
    min_confidence: float | None = None,
) -> int:
    """Answer every question read from `fd`; returns the exit code (1 if any line failed)."""
    failed = 0
    number = 0
    answered = 0
    for group in line_batches(fd, batch_size):
        jobs: list[tuple[int, Any, str]] = []
        outputs: dict[int, dict[str, Any]] = {}
        for raw in group:
            number += 1
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)   # as editors on Windows save UTF-8 (CRLF is stripped below)
            if not raw.strip():
                continue
            try:
                item_id, question = parse_line(raw, number)
                jobs.append((number, item_id, question))
            except LineError as error:
                outputs[number] = {"id": error.id, "line": number, "error": str(error)}
        if jobs:
            try:
                answers = index.answer_many([q for _, _, q in jobs], k, mode, max_per_file)
            except QAError:
                answers = None   # answer one by one, so one bad question does not sink the others
            for position, (line, item_id, question) in enumerate(jobs):
                try:
                    answer = answers[position] if answers is not None else index.answer(question, k, mode, max_per_file)
                    outputs[line] = answer_json(below_minimum(answer, min_confidence), explain, id=item_id)
                except QAError as error:
                    outputs[line] = {"id": item_id, "line": line, "question": question, "error": str(error)}
        for line in sorted(outputs):
            failed += "error" in outputs[line]
            out.write(json.dumps(outputs[line], ensure_ascii=False) + "\n")
        out.flush()
        answered += len(outputs)
        if progress is not None:
            progress(answered)
        for warning in index.take_warnings():
            say(f"warning: {warning}")
    return 1 if failed else 0
