"""The open index behind `qa serve` and `qa mcp`: one request at a time, kept on its newest generation.

One lock serialises every use of the index (its SQLite connection is shared between threads, and its text
cache, lazy model load and `refresh()` are not thread-safe); the work around it (reading, parsing,
validating, encoding) runs concurrently. Before each use it checks, with one stat, whether a build replaced
the index's generation (as the REPL does) and switches to it between two requests, so none is dropped.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

from qa.errors import QAError
from qa.ui.serve_checks import MAX_QUESTION_CHARS, say

if TYPE_CHECKING:
    from qa.index import Index


class Engine:
    """One open index, used by one request at a time, kept on its newest generation."""

    def __init__(self, index: Index, log: Callable[[str], None] = say) -> None:
        self.index = index
        self.lock = threading.Lock()
        self.log = log
        self.started = time.monotonic()

    def warm(self) -> None:
        """Load the model now, so the first question does not wait for it."""
        with self.lock:
            error = self.index.dense_error()
        if error:
            self.log(f"warning: dense search is unavailable ({error}); hybrid questions are answered with BM25 only.")

    def _refresh(self) -> None:
        """Switch to a generation a build wrote since the last request (call with the lock held)."""
        try:
            update = self.index.refresh()
        except QAError as error:
            self.log(f"warning: the index was rebuilt but cannot be opened ({error}); "
                     "still answering from the generation in use.")
            return
        if update:
            self.log(update.describe())

    def _warnings(self) -> None:
        for warning in self.index.take_warnings():
            self.log(f"warning: {warning}")

    def ask(self, question: str, k: int, mode: str, max_per_file: int | None = None,
            explain: bool = False) -> dict[str, object]:
        """The `qa ask --json` object for these arguments (QAError as `qa ask` raises it)."""
        from qa.ui.render import answer_json

        with self.lock:
            self._refresh()
            answer = self.index.answer(question, k, mode, max_per_file)
            self._warnings()
        return answer_json(answer, explain)

    def show(self, citation: str, context: int) -> dict[str, object]:
        """What `qa show CITATION` shows, as JSON (UsageError: not a citation; NotInIndexError: unknown)."""
        from qa.ui.serve_checks import shown_json
        from qa.ui.show import show

        with self.lock:
            self._refresh()
            shown = show(self.index, citation, context)
        return shown_json(shown)

    def batch_group(self, lines: list[tuple[int, bytes]], k: int, mode: str, max_per_file: int | None,
                    explain: bool) -> list[dict[str, object]]:
        """The `qa batch` output objects for `(line number, raw line)`s, in line order (blank lines: none).

        As qa.ui.batch.run_batch does for one group: parsed by its `parse_line`, answered together, and
        one by one when the group as a whole fails, so one bad question does not sink the others."""
        from qa.search.hits import Answer
        from qa.ui.batch import LineError, parse_line
        from qa.ui.render import answer_json

        jobs: list[tuple[int, object, str]] = []
        outputs: dict[int, dict[str, object]] = {}
        for number, raw in lines:
            if not raw.strip():
                continue
            try:
                item_id, question = parse_line(raw, number)
            except LineError as error:
                outputs[number] = {"id": error.id, "line": number, "error": str(error)}
                continue
            if len(question) > MAX_QUESTION_CHARS:
                outputs[number] = {"id": item_id, "line": number, "question": question[:MAX_QUESTION_CHARS] + "…",
                                   "error": f"the question is {len(question):,} characters long; the limit is "
                                            f"{MAX_QUESTION_CHARS:,}. Ask a shorter question."}
                continue
            jobs.append((number, item_id, question))
        if jobs:
            with self.lock:
                self._refresh()
                answers: list[Answer] | None
                try:
                    answers = self.index.answer_many([q for _, _, q in jobs], k, mode, max_per_file)
                except QAError:
                    answers = None
                for position, (number, item_id, question) in enumerate(jobs):
                    try:
                        answer = (answers[position] if answers is not None
                                  else self.index.answer(question, k, mode, max_per_file))
                        outputs[number] = answer_json(answer, explain, id=item_id)
                    except QAError as error:
                        outputs[number] = {"id": item_id, "line": number, "question": question, "error": str(error)}
                self._warnings()
        return [outputs[number] for number in sorted(outputs)]

    def health(self) -> dict[str, object]:
        """The index in use (after a refresh when no request holds it), the model, the uptime."""
        if self.lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self.lock.release()
        index = self.index
        stored = index.stored
        return {"status": "ok", "index": str(index.path), "generation": stored.folder.name, "passages": stored.size,
                "files": len(stored.files), "model": index.model, "dense": index.dense_error() is None,
                "uptime_seconds": round(time.monotonic() - self.started, 1)}
