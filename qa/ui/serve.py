"""`qa serve`: a warm HTTP server over one index, answering with the JSON `qa ask --json` prints.

Endpoints (all JSON; errors are `{"error": "..."}` with the status that fits):

- `POST /ask` `{"question", "k"?, "mode"?, "max_per_file"?, "explain"?}`: the object `qa ask --json` prints
  for the same arguments.
- `POST /batch[?k=&mode=&max_per_file=&explain=]`: a body of lines as `qa batch` reads them (plain
  questions, or JSON with `question` and optional `id`); streams back one JSON line a question, as
  `qa batch` writes them, a group of questions at a time.
- `GET /show?citation=...[&context=N]`: the passage a citation names with the lines around it.
- `GET /health`: the index, its generation and size, the model, the uptime.
- `GET /openapi.json`: an OpenAPI description of the above.

The model is loaded once at start. One lock serialises every use of the index (its SQLite connection is
shared between threads, and its text cache, lazy model load and `refresh()` are not thread-safe); the
HTTP work around it (reading, parsing, validating, encoding) runs concurrently. Before each use the server
checks, with one stat, whether a build replaced the index's generation (as the REPL does) and switches to
it between two requests, so none is dropped. Loopback only unless given a token; with a token every
request needs `Authorization: Bearer TOKEN`. Starlette and uvicorn are imported only here, inside
functions (the `serve` extra), so `qa --help` and `qa ask` never load them.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Callable

from qa import config
from qa.errors import QAError, UsageError
from qa.ui.cli import open_index

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
#: Seconds the server waits at shutdown for requests in flight before closing their connections.
SHUTDOWN_GRACE_SECONDS = 5.0
#: Seconds after --watch starts watching that it updates the index once, for changes made before it watched.
WATCH_CATCH_UP_SECONDS = 1.0
#: Seconds --watch waits at shutdown for an index update in progress (the index stays as before it if cut).
WATCH_STOP_SECONDS = 2.0

NEEDS_EXTRA = "{command} needs the serve extra: pip install 'qa[serve]'"
ASK_FIELDS = ("question", "k", "mode", "max_per_file", "explain")


def say(message: str) -> None:
    """A log line on stderr (stdout stays free; names from the index are shown escaped)."""
    from qa.ui.render import say as render_say

    render_say(message)


# --- checks shared by qa serve and qa mcp ------------------------------------------------------------


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


def check_question(question: Any) -> str:
    """The question of a request, or BadRequest(400)."""
    if not isinstance(question, str):
        raise BadRequest(400, '"question" must be a string.')
    if not question.strip():
        raise BadRequest(400, "The question is empty; send some words to search for.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadRequest(400, f"The question is {len(question):,} characters long; the limit is "
                              f"{MAX_QUESTION_CHARS:,}. Ask a shorter question.")
    return question


def check_options(k: Any = None, mode: Any = None, max_per_file: Any = None, explain: Any = None,
                  ) -> tuple[int, str, int | None, bool]:
    """`(k, mode, max_per_file, explain)` from a request's values (None: the default), or BadRequest(400)."""
    k = config.DEFAULT_K if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadRequest(400, f'"k" must be a whole number from 1 to {MAX_K}, not {json.dumps(k)}.')
    mode = config.DEFAULT_MODE if mode is None else mode
    if mode not in config.MODES:
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
        data = json.loads(body)
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


def shown_json(shown: Any) -> dict[str, Any]:
    """A `qa.ui.show.Shown` as plain data: its fields (but the file's whole text), the cited text, and the
    lines shown, each `{"number", "cited", "text"}`."""
    data = {f.name: _plain(getattr(shown, f.name)) for f in fields(shown) if f.name != "text"}
    data["cited_text"] = shown.text[shown.start:shown.end]
    data["lines"] = [{"number": number, "cited": cited, "text": line} for number, cited, line in shown.lines()]
    return data


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class Engine:
    """One open index, used by one request at a time (see the module docstring), kept on its newest generation."""

    def __init__(self, index: Any, log: Callable[[str], None] = say) -> None:
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
            explain: bool = False) -> dict[str, Any]:
        """The `qa ask --json` object for these arguments (QAError as `qa ask` raises it)."""
        from qa.ui.render import answer_json

        with self.lock:
            self._refresh()
            answer = self.index.answer(question, k, mode, max_per_file)
            self._warnings()
        return answer_json(answer, explain)

    def show(self, citation: str, context: int) -> dict[str, Any]:
        """What `qa show CITATION` shows, as JSON (UsageError: not a citation; NotInIndexError: unknown)."""
        from qa.ui.show import show

        with self.lock:
            self._refresh()
            shown = show(self.index, citation, context)
        return shown_json(shown)

    def batch_group(self, lines: list[tuple[int, bytes]], k: int, mode: str, max_per_file: int | None,
                    explain: bool) -> list[dict[str, Any]]:
        """The `qa batch` output objects for `(line number, raw line)`s, in line order (blank lines: none).

        As qa.ui.batch.run_batch does for one group: parsed by its `parse_line`, answered together, and
        one by one when the group as a whole fails, so one bad question does not sink the others."""
        from qa.ui.batch import LineError, parse_line
        from qa.ui.render import answer_json

        jobs: list[tuple[int, Any, str]] = []
        outputs: dict[int, dict[str, Any]] = {}
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

    def health(self) -> dict[str, Any]:
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


def split_lines(body: bytes) -> list[tuple[int, bytes]]:
    """`(line number, raw line)` for every line of a /batch body, as `qa batch` numbers them."""
    import codecs

    lines = body.removeprefix(codecs.BOM_UTF8).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return list(enumerate(lines, start=1))


# --- the HTTP application ----------------------------------------------------------------------------


def _dumps(data: Any) -> bytes:
    """JSON as `qa ask --json` prints it (ensure_ascii=False), encoded as UTF-8."""
    return json.dumps(data, ensure_ascii=False).encode("utf-8", errors="replace")


def create_app(engine: Engine, token: str | None = None) -> Any:
    """The ASGI application over `engine`; with a `token`, every request needs `Authorization: Bearer TOKEN`."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    from qa.ui.show import NotInIndexError

    def reply(data: Any, status: int = 200) -> Response:
        return Response(_dumps(data), status_code=status, media_type="application/json")

    def endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """`handler` with every failure as a JSON error: never a traceback, never a 500 for a bad request."""
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except BadRequest as error:
                return reply({"error": str(error)}, error.status)
            except NotInIndexError as error:
                return reply({"error": str(error)}, 404)
            except UsageError as error:
                return reply({"error": str(error)}, 400)
            except QAError as error:   # e.g. dense search asked for and the model cannot run
                return reply({"error": str(error)}, 503)
            except Exception as error:   # a bug: one line in the log, a JSON 500 to the client
                engine.log(f"error: {request.method} {request.url.path} failed: {type(error).__name__}: {error}")
                return reply({"error": "internal error; the server log says more"}, 500)
        return wrapped

    async def body(request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length", "")
        too_big = BadRequest(413, f"The body is over {limit:,} bytes, the limit for {request.url.path}.")
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    @endpoint
    async def ask(request: Request) -> Response:
        arguments = ask_arguments(await body(request, MAX_BODY_BYTES))
        return reply(await run_in_threadpool(engine.ask, *arguments))

    def query_options(request: Request) -> tuple[int, str, int | None, bool]:
        query = request.query_params
        unknown = sorted(set(query) - {"k", "mode", "max_per_file", "explain"})
        if unknown:
            raise BadRequest(400, f"Unknown parameter(s) {', '.join(unknown)}; the parameters are "
                                  "k, mode, max_per_file, explain.")

        def number(name: str) -> Any:
            value = query.get(name)
            if value is None:
                return None
            if not value.isdigit() or len(value) > 9:
                raise BadRequest(400, f"{name} must be a whole number, not {value!r}.")
            return int(value)

        explain = query.get("explain")
        if explain is not None and explain.lower() not in ("true", "false", "1", "0", ""):
            raise BadRequest(400, f"explain must be true or false, not {explain!r}.")
        return check_options(number("k"), query.get("mode"), number("max_per_file"),
                             None if explain is None else explain.lower() in ("true", "1", ""))

    @endpoint
    async def batch(request: Request) -> Response:
        k, mode, max_per_file, explain = query_options(request)
        lines = split_lines(await body(request, MAX_BATCH_BYTES))

        async def answers() -> Any:
            for start in range(0, len(lines), config.BATCH_GROUP):
                group = lines[start:start + config.BATCH_GROUP]
                try:
                    outputs = await run_in_threadpool(engine.batch_group, group, k, mode, max_per_file, explain)
                except Exception as error:   # a bug: say so in the stream, which has begun, and stop
                    engine.log(f"error: /batch failed: {type(error).__name__}: {error}")
                    yield _dumps({"error": "internal error; the server log says more"}) + b"\n"
                    return
                yield b"".join(_dumps(output) + b"\n" for output in outputs)

        return StreamingResponse(answers(), media_type="application/x-ndjson")

    @endpoint
    async def show(request: Request) -> Response:
        query = request.query_params
        citation = query.get("citation")
        if citation is None or not citation.strip():
            raise BadRequest(400, "Name a citation: /show?citation=notes.txt:12-18 (as /ask gives it).")
        if len(citation) > MAX_QUESTION_CHARS:
            raise BadRequest(400, f"The citation is over {MAX_QUESTION_CHARS:,} characters; no citation is that long.")
        context = query.get("context", "3")
        if not context.isdigit() or int(context) > MAX_CONTEXT_LINES:
            raise BadRequest(400, f"context must be a whole number from 0 to {MAX_CONTEXT_LINES}, not {context!r}.")
        return reply(await run_in_threadpool(engine.show, citation, int(context)))

    @endpoint
    async def health(request: Request) -> Response:
        return reply(await run_in_threadpool(engine.health))

    @endpoint
    async def openapi(request: Request) -> Response:
        return reply(OPENAPI)

    async def not_found(request: Request, error: Exception) -> Response:
        status = getattr(error, "status_code", 404)
        message = ("No such endpoint; see /openapi.json." if status == 404
                   else f"{request.method} is not allowed on {request.url.path}; see /openapi.json.")
        return reply({"error": message}, status)

    app = Starlette(routes=[
        Route("/ask", ask, methods=["POST"]),
        Route("/batch", batch, methods=["POST"]),
        Route("/show", show, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ], exception_handlers={404: not_found, 405: not_found})
    return _BearerAuth(app, token) if token is not None else app


class _BearerAuth:
    """ASGI middleware: requests without `Authorization: Bearer TOKEN` get 401 (compared in constant time)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token.encode("ascii")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    given = value
            scheme, _, credentials = given.strip().partition(b" ")
            # compare_digest takes as long whatever the credentials are; the scheme is no secret.
            if not (hmac.compare_digest(credentials.strip(), self.token) and scheme.lower() == b"bearer"):
                body = _dumps({"error": "This server needs 'Authorization: Bearer TOKEN' with the token it was "
                                        "started with."})
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="qa"')]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


# --- running it --------------------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (port 0: a free one), or QAError saying why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as error:
        raise UsageError(f"Cannot listen on {host}: {getattr(error, 'strerror', None) or error}. "
                         "Give an address of this machine with --host.") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise QAError(f"Cannot listen on {host}:{port}: {error.strerror or error}. "
                      "Choose another --port (0 picks a free one) or stop what is using it.") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def serve(index_dir: Path, host: str, port: int, token: str | None, watch: list[Path]) -> int:
    """`qa serve`: answer over HTTP until Ctrl-C or SIGTERM; returns the exit code (0 when stopped so)."""
    check_bind(host, port, token)
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise UsageError(NEEDS_EXTRA.format(command="qa serve")) from None
    watched = _watch_plan(index_dir, watch) if watch else None
    engine = Engine(open_index(index_dir))
    engine.warm()
    app = create_app(engine, token)
    sock = listen(host, port)
    server = _server_class()(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                    timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS, server_header=False))
    stop_watching = threading.Event()
    watcher = None
    if watched is not None:
        watcher = threading.Thread(target=_keep_fresh, args=(index_dir, watched, engine, stop_watching),
                                   name="qa-serve-watch", daemon=True)
        watcher.start()
    say(f"Serving {index_dir} ({engine.index.size:,} passages) on {url_of(sock)}"
        f"{' (token required)' if token else ''}; Ctrl-C stops.")
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
        stop_watching.set()
        if watcher is not None:
            watcher.join(WATCH_STOP_SECONDS)
            if watcher.is_alive():
                say("Stopped during an index update; the index is as it was before it.")
    say("Stopped.")
    return 0


def _server_class() -> type:
    """uvicorn.Server with qa's signal handling (a class made on first use: uvicorn is imported only here)."""
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopping on SIGINT/SIGTERM without raising the signal again afterwards
        (uvicorn re-raises it so a plain script dies of it; qa serve exits 0 instead)."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def _watch_plan(index_dir: Path, watch: list[Path]) -> list[Path]:
    """The paths the index is built from, after checking that each watched path exists and lies under one."""
    from qa.ingest.plan import recorded_paths

    recorded = [Path(p) for p in recorded_paths(index_dir) or []]
    for path in watch:
        if not path.exists():
            raise UsageError(f"--watch {path}: it does not exist. Name a folder or file the index covers.")
        inside = any(Path(os.path.abspath(path)).is_relative_to(os.path.abspath(p)) for p in recorded)
        if not inside:
            covered = ", ".join(map(str, recorded)) or "nothing yet"
            raise UsageError(f"--watch {path}: the index does not cover it (it covers {covered}). "
                             f"Add it first with: qa index --index {index_dir} --add {path}")
    return recorded


def _keep_fresh(index_dir: Path, paths: list[Path], engine: Engine, stop: threading.Event) -> None:
    """Update the index from `paths` after each burst of changes under them, until `stop`; the server picks
    each new generation up at its next request.

    One catch-up update runs WATCH_CATCH_UP_SECONDS after watching begins (watchfiles gives no sign of when it
    is ready): it takes in what changed before, so a file saved while the watch was starting is not missed."""
    from qa.ingest.build import build_index
    from qa.ingest.watch import watch_paths

    manifest = engine.index.stored.manifest
    model = engine.index.model or config.DEFAULT_MODEL
    quantization = manifest.model.quantization if manifest.model else config.DEFAULT_QUANTIZATION
    follow_links = manifest.follow_links
    one_at_a_time = threading.Lock()

    def update(changed: set[str] | None = None) -> None:
        with one_at_a_time:
            if stop.is_set():
                return
            try:
                report = build_index(paths, index_dir, model, quantization=quantization, follow_links=follow_links)
            except QAError as error:
                say(f"error: updating the index failed: {error}")
                return
            except Exception as error:   # keep serving the generation in use
                say(f"error: updating the index failed: {type(error).__name__}: {error}")
                return
        if not report.up_to_date:
            say(f"Index updated: {report.changed} changed, {report.added} added, {report.removed} removed; "
                f"{report.passages:,} passages.")

    catch_up = threading.Timer(WATCH_CATCH_UP_SECONDS, update)
    catch_up.daemon = True
    catch_up.start()
    say(f"Watching {', '.join(map(str, paths))} for changes.")
    try:
        watch_paths(paths, index_dir, update, stop_event=stop)
    except QAError as error:
        say(f"error: watching stopped: {error}")
    finally:
        catch_up.cancel()


# --- OpenAPI -----------------------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/schemas/Error"}
_ANSWER = {"$ref": "#/components/schemas/Answer"}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {400: "Malformed JSON, an unknown or ill-typed field, an empty or over-long question",
               401: "Missing or wrong bearer token (servers started with a token)",
               404: "The citation names nothing in the index", 413: "The body is over the limit",
               503: "The index cannot answer that now (e.g. dense search without a model)"}
    return {str(s): {"description": reasons[s], "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "qa serve", "version": "1",
             "description": "Cited passages from one local index; the JSON `qa ask --json` prints."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "AskRequest": {"type": "object", "required": ["question"], "additionalProperties": False, "properties": {
                "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS},
                "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": config.DEFAULT_K},
                "mode": {"enum": list(config.MODES), "default": config.DEFAULT_MODE},
                "max_per_file": {"type": ["integer", "null"], "minimum": 1, "default": None},
                "explain": {"type": "boolean", "default": False}}},
            "Answer": {"type": "object", "description": "As `qa ask --json` prints it.",
                       "required": ["question", "mode", "answered", "confidence", "answer_confidence", "why", "results"],
                       "properties": {"question": {"type": "string"}, "mode": {"type": "string"},
                                      "answered": {"type": ["boolean", "null"]},
                                      "confidence": {"type": ["number", "null"]},
                                      "answer_confidence": {"type": ["number", "null"]},
                                      "why": {"type": ["array", "null"], "items": {"type": "object"}},
                                      "results": {"type": "array", "items": {"type": "object", "properties": {
                                          "rank": {"type": "integer"}, "citation": {"type": "string"},
                                          "file": {"type": "string"}, "text": {"type": "string"}}}}}},
        },
    },
    "paths": {
        "/ask": {"post": {
            "summary": "Answer one question",
            "requestBody": {"required": True, "description": f"At most {MAX_BODY_BYTES:,} bytes.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}}},
            "responses": {"200": {"description": "The answer", "content": {"application/json": {"schema": _ANSWER}}},
                          **_errors(400, 401, 413, 503)}}},
        "/batch": {"post": {
            "summary": "Answer one question a line, streamed back one JSON line each (as qa batch)",
            "parameters": [
                {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K}},
                {"name": "mode", "in": "query", "schema": {"enum": list(config.MODES)}},
                {"name": "max_per_file", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                {"name": "explain", "in": "query", "schema": {"type": "boolean"}}],
            "requestBody": {"required": True, "description": f"Plain questions or JSON lines {{\"id\", \"question\"}}; "
                                                             f"at most {MAX_BATCH_BYTES:,} bytes.",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                        "text/plain": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "One JSON line a question: an answer with its id, or "
                                                 "{id, line, error}",
                                  "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                          **_errors(400, 401, 413)}}},
        "/show": {"get": {
            "summary": "The passage a citation names, with the lines around it",
            "parameters": [
                {"name": "citation", "in": "query", "required": True, "schema": {"type": "string"},
                 "example": "notes.txt:12-18"},
                {"name": "context", "in": "query",
                 "schema": {"type": "integer", "minimum": 0, "maximum": MAX_CONTEXT_LINES, "default": 3}}],
            "responses": {"200": {"description": "citation, file, start, end, cited lines, cited_text, and lines "
                                                 "[{number, cited, text}]",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(400, 401, 404)}}},
        "/health": {"get": {
            "summary": "The index in use (generation, passages, files), the model, the uptime",
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(401)}}},
        "/openapi.json": {"get": {"summary": "This description", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
}
