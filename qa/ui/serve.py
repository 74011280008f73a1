"""`qa serve`: run the HTTP server over one index until Ctrl-C or SIGTERM (exit 0), and, with `--watch`,
keep the index fresh in the same process.

The parts: what a request may hold (`serve_checks`), the index behind every request (`serve_engine`, shared
with `qa mcp`), the routes (`serve_app`), the OpenAPI description (`serve_openapi`); this module binds the
socket, starts uvicorn and stops it. Loopback only unless given a token; with a token every request needs
`Authorization: Bearer TOKEN`. Starlette and uvicorn are imported only inside functions (the `serve` extra),
so `qa --help` and `qa ask` never load them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from qa import config
from qa.errors import QAError, UsageError
from qa.ui.cli import open_index
from qa.ui.serve_checks import NEEDS_EXTRA, check_bind, say
from qa.ui.serve_engine import Engine

if TYPE_CHECKING:
    import uvicorn

#: Seconds the server waits at shutdown for requests in flight before closing their connections.
SHUTDOWN_GRACE_SECONDS = 5
#: Seconds after --watch starts watching that it updates the index once, for changes made before it watched.
WATCH_CATCH_UP_SECONDS = 1.0
#: Seconds --watch waits at shutdown for an index update in progress (the index stays as before it if cut).
WATCH_STOP_SECONDS = 2.0


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
    from qa.ui.serve_app import create_app

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


def _server_class() -> type[uvicorn.Server]:
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
    from qa.ingest.loaded import Models
    from qa.ingest.watch import watch_paths

    manifest = engine.index.stored.manifest
    model = engine.index.model or config.DEFAULT_MODEL
    quantization = manifest.model.quantization if manifest.model else config.DEFAULT_QUANTIZATION
    follow_links = manifest.follow_links
    one_at_a_time = threading.Lock()

    models = Models()   # the tokenizer and embedder stay loaded from one update to the next

    def update(changed: set[str] | None = None) -> None:
        with one_at_a_time:
            if stop.is_set():
                return
            try:
                report = build_index(paths, index_dir, model, quantization=quantization, follow_links=follow_links,
                                     models=models)
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
