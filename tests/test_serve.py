"""`qa serve`: the real server (`qa serve --port 0`, a subprocess on 127.0.0.1) and a real HTTP client (httpx).

The server answers as the CLI does (/ask is `qa ask --json`, /batch is `qa batch`, /show is `qa show`),
turns every bad request into a JSON error with its status, serialises index use so concurrent requests
get the answers they would get alone, follows rebuilds and `--watch`, refuses a non-loopback address
without a token, checks the token, and stops cleanly (exit 0) on SIGTERM and SIGINT.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS, run_qa

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

STARTUP_SECONDS = 180   # generous: the machine may be busy; nothing here asserts a duration


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so no server outlives the run (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Served:
    """A `qa serve` subprocess: its URL once it listens, and everything it logged on stderr."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
        environment.pop("QA_TOKEN", None)
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa.ui.cli", "serve", "--port", "0", *args], cwd=REPO, env=environment,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_die_with_parent)
        self.log: list[str] = []
        self.listening = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        self.listening.wait(STARTUP_SECONDS)
        if not self.url:
            self.stop()
            raise AssertionError(f"qa serve did not start: {''.join(self.log)}")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r" on (http://127\.0\.0\.1:\d+)", line)
            if found and not self.url:
                self.url = found.group(1)
                self.listening.set()
        self.listening.set()

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **options)

    def stop(self, how: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def stderr(self) -> str:
        return "".join(self.log)


@pytest.fixture(scope="module")
def server(fake_seeds_index: Path):
    served = Served("--index", str(fake_seeds_index))
    yield served
    assert served.stop() == 0, served.stderr()


@pytest.fixture
def http(server: Served):
    with server.client() as client:
        yield client


def _cli_json(index: Path, question: str, *options: str) -> dict:
    result = run_qa("ask", "--json", "--index", str(index), *options, question)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- same answers as the CLI -------------------------------------------------------------------------


@pytest.mark.parametrize("request_fields, options", [
    ({}, ()),
    ({"k": 2, "mode": "bm25", "explain": True}, ("-k", "2", "--mode", "bm25", "--explain")),
    ({"k": 7, "mode": "dense", "max_per_file": 1}, ("-k", "7", "--mode", "dense", "--max-per-file", "1")),
    ({"mode": "hybrid", "explain": True, "max_per_file": 2}, ("--explain", "--max-per-file", "2")),
])
def test_ask_is_what_qa_ask_json_prints(http, fake_seeds_index: Path, request_fields, options) -> None:
    for question in ("What did the forum aim to strengthen?", "digital governance cooperation"):
        response = http.post("/ask", json={"question": question, **request_fields})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        expected = _cli_json(fake_seeds_index, question, *options)
        assert expected["results"], "a question with no hits would prove little"
        assert response.json() == expected


def test_batch_streams_what_qa_batch_writes(http, fake_seeds_index: Path) -> None:
    body = ("\ufeffWhat did the forum aim to strengthen?\n"
            '{"id": "q2", "question": "digital governance"}\n'
            "\n"
            "{not json\n"
            '{"id": 7, "question": "   "}\n'
            '["a list"]\n'
            '{"id": "no-question"}\n'
            "...\n"
            "Latin America technology cooperation")     # no final newline
    response = http.post("/batch?k=3&mode=hybrid", content=body.encode("utf-8"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    cli = run_qa("batch", "-k", "3", "--index", str(fake_seeds_index), "-", stdin=body)
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(expected) == 8 and sum("error" in e for e in expected) == 3
    assert lines == expected


def test_batch_with_explain_and_bm25(http, fake_seeds_index: Path) -> None:
    body = "digital governance\nforum cooperation\n"
    response = http.post("/batch", params={"k": "2", "mode": "bm25", "explain": "true", "max_per_file": "1"},
                         content=body)
    cli = run_qa("batch", "-k", "2", "--mode", "bm25", "--explain", "--max-per-file", "1",
                 "--index", str(fake_seeds_index), "-", stdin=body)
    assert [json.loads(line) for line in response.text.splitlines()] == [json.loads(x) for x in cli.stdout.splitlines()]


def test_show_is_what_qa_show_shows(http, fake_seeds_index: Path) -> None:
    from qa import Index
    from qa.ui.serve_checks import shown_json
    from qa.ui.show import show

    hit = http.post("/ask", json={"question": "digital governance", "k": 1}).json()["results"][0]
    response = http.get("/show", params={"citation": hit["citation"], "context": "2"})
    assert response.status_code == 200, response.text
    shown = response.json()
    here = os.getcwd()
    os.chdir(REPO)   # citations name files relative to where the server runs
    try:
        expected = shown_json(show(Index.open(fake_seeds_index), hit["citation"], 2))
    finally:
        os.chdir(here)
    assert shown == expected
    assert shown["citation"] == hit["citation"] and hit["text"].strip() in shown["cited_text"]
    assert [line["number"] for line in shown["lines"] if line["cited"]] == list(
        range(hit["line_start"], hit["line_end"] + 1))
    printed = run_qa("show", "--index", str(fake_seeds_index), "--context", "2", hit["citation"]).stdout
    for line in shown["lines"]:
        assert f"{'>' if line['cited'] else ' '} {line['number']:>5} |" in printed


@pytest.mark.parametrize("params, status", [
    ({"citation": "no-such-file.txt:1-3"}, 404),
    ({"citation": "seeds/000_ad54f42682f048e2.txt:900-901"}, 404),
    ({"citation": "not a citation at all"}, 400),
    ({}, 400),
    ({"citation": "   "}, 400),
    ({"citation": "seeds/000_ad54f42682f048e2.txt:1", "context": "-1"}, 400),
    ({"citation": "seeds/000_ad54f42682f048e2.txt:1", "context": "lots"}, 400),
    ({"citation": "/etc/passwd:1"}, 404),
    ({"citation": "../../../etc/passwd:1-2"}, 404),
])
def test_show_errors(http, params, status) -> None:
    response = http.get("/show", params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]


def test_health_and_openapi(http, fake_seeds_index: Path) -> None:
    from qa import Index

    index = Index.open(fake_seeds_index)
    health = http.get("/health").json()
    assert health["status"] == "ok" and health["passages"] == index.size and health["dense"] is True
    assert health["generation"] == index.stored.folder.name and health["model"] == index.model
    assert health["uptime_seconds"] >= 0
    spec = http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and {"/ask", "/batch", "/show", "/health"} <= set(spec["paths"])


# --- bad requests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"{",                                              # malformed JSON
    b"",                                               # no body
    b'["question"]',                                   # not an object
    b'"just a string"',
    b"{}",                                             # no question
    b'{"question": 42}',
    b'{"question": null}',
    b'{"question": ""}',
    b'{"question": "   \\t  "}',
    b'{"question": "ok", "k": 0}',
    b'{"question": "ok", "k": 101}',
    b'{"question": "ok", "k": "3"}',
    b'{"question": "ok", "k": true}',
    b'{"question": "ok", "k": 2.5}',
    b'{"question": "ok", "mode": "fuzzy"}',
    b'{"question": "ok", "mode": null, "max_per_file": 0}',
    b'{"question": "ok", "explain": "yes"}',
    b'{"question": "ok", "max-per-file": 1}',        # unknown field: a typo is not silently ignored
    b'{"question": "\xff\xfe not UTF-8"}',
    b"[" * 5000 + b"]" * 5000,                          # nested past what the parser takes
    json.dumps({"question": "why " * 600}).encode(),  # over MAX_QUESTION_CHARS
])
def test_bad_ask_is_400_with_a_json_error(http, body: bytes) -> None:
    response = http.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert isinstance(error, str) and error and "\n" not in error


def test_bodies_over_the_limit_are_413(http) -> None:
    from qa.ui.serve_checks import MAX_BATCH_BYTES, MAX_BODY_BYTES

    big = json.dumps({"question": "x" * MAX_BODY_BYTES}).encode()
    assert http.post("/ask", content=big).status_code == 413

    def chunks():   # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = http.post("/ask", content=chunks())
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert http.post("/batch", content=b"why?\n" * (MAX_BATCH_BYTES // 5 + 1)).status_code == 413
    # just under the limit is answered
    assert http.post("/ask", content=json.dumps({"question": "why"}).ljust(MAX_BODY_BYTES).encode()).status_code == 200


@pytest.mark.parametrize("question", [
    "\ud800 lone surrogate",                     # sent as the JSON escape \ud800
    "\x00\x01\x02 controls",
    "\u200b\u200c\u200d",                         # only invisible characters: nothing left to search
    "...?!",
    "🦜🦜🦜 emoji only",
    "\u202e reversed \u202c text",
    "ꙮ" * 1999,
    "a" * 2000,                                   # one enormous word
    "[CLS] [SEP] [MASK] [PAD] [UNK]",
    "<|endoftext|> {{question}} %s %n",
])
def test_questions_a_tokenizer_may_not_take_are_never_500(http, question: str) -> None:
    response = http.post("/ask", content=json.dumps({"question": question}).encode())
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert isinstance(response.json()["results"], list)
    batch = http.post("/batch", content=json.dumps({"question": question}).encode())
    assert batch.status_code == 200 and len(batch.text.splitlines()) == 1


def test_bad_batch_parameters(http) -> None:
    for params in ({"k": "0"}, {"k": "-1"}, {"k": "many"}, {"k": "101"}, {"mode": "x"}, {"explain": "perhaps"},
                   {"max_per_file": "0"}, {"count": "3"}):
        response = http.post("/batch", params=params, content=b"why?\n")
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"]
    long_line = json.dumps({"id": "long", "question": "why " * 600})
    lines = http.post("/batch", content=f"digital governance\n{long_line}\n".encode()).text.splitlines()
    assert "error" not in json.loads(lines[0])
    assert json.loads(lines[1])["id"] == "long" and "limit" in json.loads(lines[1])["error"]


def test_unknown_routes_and_methods_are_json(http) -> None:
    missing = http.get("/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]
    wrong = http.get("/ask")
    assert wrong.status_code == 405 and wrong.json()["error"]


# --- concurrency -------------------------------------------------------------------------------------


def test_concurrent_requests_get_the_answers_they_would_get_alone(server: Served) -> None:
    asks = [{"question": q, "k": k, "mode": mode}
            for q in ("What did the forum aim to strengthen?", "digital technology in Latin America",
                      "Who is the deputy director?", "global governance system")
            for k, mode in ((3, "hybrid"), (5, "dense"), (2, "bm25"))]
    with server.client() as client:
        alone = [client.post("/ask", json=a).json() for a in asks]

    def ask(position: int) -> tuple[int, dict]:
        with server.client() as client:
            if position % 5 == 4:
                shown = client.get("/show", params={"citation": alone[0]["results"][0]["citation"]})
                assert shown.status_code == 200
            return position % len(asks), client.post("/ask", json=asks[position % len(asks)]).json()

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(ask, range(8 * len(asks))))
    for position, answer in together:
        assert answer == alone[position]


# --- security ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.com"])
def test_non_loopback_without_a_token_is_refused(fake_seeds_index: Path, host: str) -> None:
    result = run_qa("serve", "--index", str(fake_seeds_index), "--host", host, "--port", "0",
                    env={"QA_TOKEN": None})
    assert result.returncode == 2, result.stderr
    assert "--token" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and not result.stdout


def test_loopback_names() -> None:
    from qa.errors import UsageError
    from qa.ui.serve_checks import check_bind, is_loopback

    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
        check_bind(host, 8765, None)
    for host in ("0.0.0.0", "::", "10.0.0.1", "example.com", "127.0.0.1.example.com"):
        assert not is_loopback(host)
        with pytest.raises(UsageError):
            check_bind(host, 8765, None)
        check_bind(host, 8765, "s3cret-token")    # with a token it may listen there
    for token in ("has space", "", "tab\there", "naïve"):
        with pytest.raises(UsageError):
            check_bind("127.0.0.1", 8765, token)
    with pytest.raises(UsageError):
        check_bind("127.0.0.1", 70000, None)


def test_with_a_token_every_request_needs_it(fake_seeds_index: Path) -> None:
    served = Served("--index", str(fake_seeds_index), env={"QA_TOKEN": "t0k3n-of-the-test"})
    try:
        with served.client() as client:
            for path, method in (("/health", "GET"), ("/openapi.json", "GET"), ("/ask", "POST"), ("/batch", "POST"),
                                 ("/show", "GET"), ("/nothing", "GET")):
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer t0k3n-of-the-tes"},
                                {"Authorization": "Basic t0k3n-of-the-test"}, {"Authorization": "t0k3n-of-the-test"},
                                {"Authorization": "Bearer t0k3n-of-the-test-and-more"}):
                    response = client.request(method, path, headers=headers, json={"question": "why"})
                    assert response.status_code == 401, (path, headers, response.text)
                    assert response.json()["error"] and response.headers["www-authenticate"].startswith("Bearer")
            good = {"Authorization": "Bearer t0k3n-of-the-test"}
            assert client.get("/health", headers=good).status_code == 200
            assert client.post("/ask", headers=good, json={"question": "digital governance"}).status_code == 200
            assert client.post("/ask", headers={"authorization": "bearer t0k3n-of-the-test"},
                               json={"question": "why"}).status_code == 200
    finally:
        assert served.stop() == 0


def test_without_the_extra_it_says_how_to_install_it(fake_seeds_index: Path) -> None:
    for command, module in (("serve", "uvicorn"), ("serve", "starlette"), ("mcp", "mcp")):
        code = (f"import sys; sys.modules[{module!r}] = None; from qa.ui.cli import main; "
                f"sys.exit(main([{command!r}, '--index', {str(fake_seeds_index)!r}]))")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "pip install 'qa[serve]'" in result.stderr and "Traceback" not in result.stderr


def test_the_cli_does_not_import_the_server_stack(fake_seeds_index: Path) -> None:
    code = ("import sys, contextlib, io\nfrom qa.ui.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n    except SystemExit: pass\n"
            f"    main(['ask', '--index', {str(fake_seeds_index)!r}, 'digital governance'])\n"
            "import qa.ui.serve, qa.ui.serve_app, qa.ui.serve_checks, qa.ui.serve_engine, qa.ui.serve_openapi, qa.ui.mcp\n"
            "print(sorted(m for m in ('starlette', 'uvicorn', 'mcp', 'httpx', 'anyio') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- life cycle --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_cleanly(fake_seeds_index: Path, how: int) -> None:
    served = Served("--index", str(fake_seeds_index))
    with served.client() as client:
        assert client.post("/ask", json={"question": "why"}).status_code == 200
    assert served.stop(how) == 0
    assert "Stopped." in served.stderr() and "Traceback" not in served.stderr()


def test_a_port_in_use_is_one_line_and_exit_1(fake_seeds_index: Path, server: Served) -> None:
    port = server.url.rsplit(":", 1)[1]
    result = run_qa("serve", "--index", str(fake_seeds_index), "--port", port)
    assert result.returncode == 1, result.stderr
    assert "Cannot listen" in result.stderr and "--port" in result.stderr and "Traceback" not in result.stderr


def test_no_index_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_qa("serve", "--index", str(tmp_path / "none"), "--port", "0")
    assert result.returncode == 1 and "qa index" in result.stderr and "Traceback" not in result.stderr


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    for source in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(source, folder / source.name)
    return folder


def _finds(client: httpx.Client, word: str) -> bool:
    response = client.post("/ask", json={"question": word, "mode": "bm25", "k": 1})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return bool(results) and word in results[0]["text"]


def test_a_rebuild_is_answered_from_without_a_restart(tmp_path: Path, fake_model: Path) -> None:
    from qa import Index

    corpus, index_dir = _corpus(tmp_path / "docs"), tmp_path / "index"
    Index.build([corpus], index_dir, model=str(fake_model))
    served = Served("--index", str(index_dir))
    try:
        with served.client() as client:
            before = client.get("/health").json()
            assert not _finds(client, "zorblaxian")
            (corpus / "new.txt").write_text("The zorblaxian treaty was signed by every delegate in the hall.\n")
            Index.build([corpus], index_dir, model=str(fake_model))
            assert _finds(client, "zorblaxian")
            after = client.get("/health").json()
            assert after["generation"] != before["generation"] and after["files"] == before["files"] + 1
    finally:
        assert served.stop() == 0
    assert "index updated" in served.stderr()


def test_watch_keeps_the_index_fresh(tmp_path: Path, fake_model: Path) -> None:
    from qa import Index

    corpus, index_dir = _corpus(tmp_path / "docs"), tmp_path / "index"
    Index.build([corpus], index_dir, model=str(fake_model))
    served = Served("--index", str(index_dir), "--watch", str(corpus))
    try:
        with served.client() as client:
            assert not _finds(client, "quuxfrobnic")
            (corpus / "later.txt").write_text("A quuxfrobnic lantern lit the negotiating room all night.\n")
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _finds(client, "quuxfrobnic"):
                assert time.monotonic() < deadline, served.stderr()
                time.sleep(0.5)
            (corpus / "later.txt").unlink()
            while _finds(client, "quuxfrobnic"):
                assert time.monotonic() < deadline, served.stderr()
                time.sleep(0.5)
    finally:
        assert served.stop() == 0, served.stderr()
    assert "Watching" in served.stderr() and "Traceback" not in served.stderr()


def test_watch_of_a_path_the_index_does_not_cover_is_refused(tmp_path: Path, fake_seeds_index: Path) -> None:
    result = run_qa("serve", "--index", str(fake_seeds_index), "--watch", str(tmp_path), "--port", "0")
    assert result.returncode == 2 and "--add" in result.stderr, result.stderr
    result = run_qa("serve", "--index", str(fake_seeds_index), "--watch", str(tmp_path / "gone"), "--port", "0")
    assert result.returncode == 2 and "does not exist" in result.stderr, result.stderr


def test_requests_during_rebuilds_get_whole_answers_from_one_generation(tmp_path: Path, fake_model: Path) -> None:
    """Rebuilds that shift every row (a file that sorts first comes and goes) while 8 clients ask: each
    answer is the one the old or the new generation gives, never a mixture and never an error."""
    from qa import Index

    corpus, index_dir = _corpus(tmp_path / "docs"), tmp_path / "index"
    first = corpus / "000_first.txt"
    Index.build([corpus], index_dir, model=str(fake_model))
    asks = [{"question": q, "k": 4, "mode": mode} for q in ("digital governance cooperation", "forum in Latin America")
            for mode in ("hybrid", "dense", "bm25")]
    served = Served("--index", str(index_dir))
    try:
        with served.client() as client:
            without = [client.post("/ask", json=a).json() for a in asks]
            first.write_text("Digital governance forum notes. " * 40 + "\n\nLatin America cooperation. " * 40 + "\n")
            Index.build([corpus], index_dir, model=str(fake_model))
            with_first = [client.post("/ask", json=a).json() for a in asks]
            assert without != with_first
        stop = threading.Event()
        seen: list[tuple[int, int, dict]] = []

        def ask(worker: int) -> None:
            with served.client() as client:
                count = 0
                while not stop.is_set() or count < 3:
                    position = (worker + count) % len(asks)
                    response = client.post("/ask", json=asks[position])
                    seen.append((position, response.status_code, response.json()))
                    count += 1

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        try:
            for round_ in range(4):
                first.unlink() if round_ % 2 == 0 else first.write_text(
                    "Digital governance forum notes. " * 40 + "\n\nLatin America cooperation. " * 40 + "\n")
                Index.build([corpus], index_dir, model=str(fake_model))
        finally:
            stop.set()
            for thread in threads:
                thread.join(300)
    finally:
        assert served.stop() == 0
    assert len(seen) >= 8 * 3
    for position, status, answer in seen:
        assert status == 200, answer
        assert answer in (without[position], with_first[position])
    assert "Traceback" not in served.stderr()
