"""The HTTP application of `qa serve` (Starlette, imported inside `create_app` only): its routes, each
failure as a JSON error with the status that fits, and the bearer-token check.

Endpoints (all JSON; errors are `{"error": "..."}`):

- `POST /ask` `{"question", "k"?, "mode"?, "max_per_file"?, "explain"?}`: the object `qa ask --json` prints
  for the same arguments.
- `POST /batch[?k=&mode=&max_per_file=&explain=]`: a body of lines as `qa batch` reads them (plain
  questions, or JSON with `question` and optional `id`); streams back one JSON line a question, as
  `qa batch` writes them, a group of questions at a time.
- `GET /show?citation=...[&context=N]`: the passage a citation names with the lines around it.
- `GET /health`: the index, its generation and size, the model, the uptime.
- `GET /openapi.json`: an OpenAPI description of the above.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Callable

from qa import config
from qa.errors import QAError, UsageError
from qa.ui.serve_checks import (MAX_BATCH_BYTES, MAX_BODY_BYTES, MAX_CONTEXT_LINES, MAX_QUESTION_CHARS, BadRequest,
                                ask_arguments, check_options, split_lines)
from qa.ui.serve_engine import Engine

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send


def _dumps(data: object) -> bytes:
    """JSON as `qa ask --json` prints it (ensure_ascii=False), encoded as UTF-8."""
    return json.dumps(data, ensure_ascii=False).encode("utf-8", errors="replace")


def create_app(engine: Engine, token: str | None = None) -> ASGIApp:
    """The ASGI application over `engine`; with a `token`, every request needs `Authorization: Bearer TOKEN`."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    from qa.ui.serve_openapi import OPENAPI
    from qa.ui.show import NotInIndexError

    described = _dumps(OPENAPI)   # encoded once: it is the same for every request (about 6 ms to encode)

    def reply(data: object, status: int = 200) -> Response:
        return Response(_dumps(data), status_code=status, media_type="application/json")

    def endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
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

        def number(name: str) -> int | None:
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

        async def answers() -> AsyncIterator[bytes]:
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
        return Response(described, media_type="application/json")

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

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
