"""Checks of what a client sends `qa serve` and `qa mcp`: the limits, and each request's fields, as values or
`BadRequest` (an HTTP status and one line saying why). No server code: `qa mcp` uses the same checks."""

from __future__ import annotations

import codecs
import ipaddress
import json
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa import config
from qa.errors import UsageError

if TYPE_CHECKING:
    from qa.ui.show import Shown

#: Largest request body /ask accepts (and /show, which reads none); larger ones get 413.
MAX_BODY_BYTES = 64 * 1024
#: Largest request body /batch accepts; larger ones get 413 (split the questions over several requests).
MAX_BATCH_BYTES = 8 * 1024 * 1024
#: Largest k (passages per answer) a request may ask for; more is a 400.
MAX_K = 100
#: Longest question, in characters, a request may ask (the model reads 256 word pieces of it anyway); longer is
#: a 400 for /ask, and an error line for /batch.
MAX_QUESTION_CHARS = 2000
#: Most lines of context /show gives either side of the cited span.
MAX_CONTEXT_LINES = 200

NEEDS_EXTRA = "{command} needs the serve extra: pip install 'qa[serve]'"
ASK_FIELDS = ("question", "k", "mode", "max_per_file", "explain")

#: A JSON value as json.loads gives it.
JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]


def say(message: str) -> None:
    """A log line on stderr (stdout stays free; names from the index are shown escaped)."""
    from qa.ui.render import say as render_say

    render_say(message)


class BadRequest(Exception):
    """A request the server will not answer: `status` (400, 404, 413...) and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback(host: str) -> bool:
    """Whether `host` (an address, or the name localhost) is this machine only."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, token: str | None) -> None:
    """Raise UsageError for a port out of range, an unusable token, or a non-loopback host without a token."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535 (0: any free port), not {port}.")
    if token is not None and (not token or any(not 0x21 <= ord(c) <= 0x7e for c in token)):
        raise UsageError("The token must be printable ASCII without spaces (as an HTTP header carries it). "
                         "Choose another, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe())'")
    if token is None and not is_loopback(host):
        raise UsageError(f"qa serve listens on {host} only with a token: pass --token TOKEN or set QA_TOKEN "
                         "(clients then send 'Authorization: Bearer TOKEN'), or keep the default --host 127.0.0.1.")


def check_question(question: object) -> str:
    """The question of a request, or BadRequest(400)."""
    if not isinstance(question, str):
        raise BadRequest(400, '"question" must be a string.')
    if not question.strip():
        raise BadRequest(400, "The question is empty; send some words to search for.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadRequest(400, f"The question is {len(question):,} characters long; the limit is "
                              f"{MAX_QUESTION_CHARS:,}. Ask a shorter question.")
    return question


def check_options(k: object = None, mode: object = None, max_per_file: object = None, explain: object = None,
                  ) -> tuple[int, str, int | None, bool]:
    """`(k, mode, max_per_file, explain)` from a request's values (None: the default), or BadRequest(400)."""
    k = config.DEFAULT_K if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadRequest(400, f'"k" must be a whole number from 1 to {MAX_K}, not {json.dumps(k)}.')
    mode = config.DEFAULT_MODE if mode is None else mode
    if not isinstance(mode, str) or mode not in config.MODES:
        raise BadRequest(400, f'"mode" must be one of {", ".join(config.MODES)}, not {json.dumps(mode)}.')
    if max_per_file is not None and (isinstance(max_per_file, bool) or not isinstance(max_per_file, int)
                                     or max_per_file < 1):
        raise BadRequest(400, f'"max_per_file" must be a whole number of at least 1, or null, '
                              f"not {json.dumps(max_per_file)}.")
    explain = False if explain is None else explain
    if not isinstance(explain, bool):
        raise BadRequest(400, f'"explain" must be true or false, not {json.dumps(explain)}.')
    return k, mode, max_per_file, explain


def ask_arguments(body: bytes) -> tuple[str, int, str, int | None, bool]:
    """`(question, k, mode, max_per_file, explain)` from an /ask body, or BadRequest(400)."""
    try:
        data: JSON = json.loads(body)
    except RecursionError:
        raise BadRequest(400, "The body is JSON nested too deeply to read.") from None
    except ValueError as error:   # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        raise BadRequest(400, f'The body is not valid JSON ({reason}); send {{"question": "..."}}.') from None
    if not isinstance(data, dict):
        raise BadRequest(400, 'The body must be a JSON object: {"question": "..."}.')
    unknown = sorted(set(data) - set(ASK_FIELDS))
    if unknown:
        raise BadRequest(400, f"Unknown field(s) {', '.join(map(json.dumps, unknown))}; "
                              f"the fields are {', '.join(ASK_FIELDS)}.")
    if "question" not in data:
        raise BadRequest(400, 'The body has no "question"; send {"question": "..."}.')
    question = check_question(data["question"])
    return (question, *check_options(data.get("k"), data.get("mode"), data.get("max_per_file"), data.get("explain")))


def split_lines(body: bytes) -> list[tuple[int, bytes]]:
    """`(line number, raw line)` for every line of a /batch body, as `qa batch` numbers them."""
    lines = body.removeprefix(codecs.BOM_UTF8).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return list(enumerate(lines, start=1))


def shown_json(shown: Shown) -> dict[str, object]:
    """A `qa.ui.show.Shown` as plain data: its fields (but the file's whole text), the cited text, and the
    lines shown, each `{"number", "cited", "text"}`."""
    data = {f.name: _plain(getattr(shown, f.name)) for f in fields(shown) if f.name != "text"}
    data["cited_text"] = shown.text[shown.start:shown.end]
    data["lines"] = [{"number": number, "cited": cited, "text": line} for number, cited, line in shown.lines()]
    return data


def _plain(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
