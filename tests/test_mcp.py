"""`qa mcp`: the MCP SDK's own stdio client against the real `qa mcp` subprocess.

The tools answer as the CLI does (`ask`'s structured content is the `qa ask --json` object), errors come
back as tool errors (never a crashed server), stdout carries nothing but the protocol, and the server stops
when the client goes and on SIGTERM (exit 0).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.conftest import REPO, run_qa

anyio = pytest.importorskip("anyio")
pytest.importorskip("mcp")


def _session(index: Path, calls, errlog_path: Path):
    """Start `qa mcp --index INDEX` with the SDK's stdio client and run `calls(client)` in one session."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "qa.ui.cli", "mcp", "--index", str(index)],
                                   cwd=str(REPO), env={"HF_HUB_OFFLINE": "1"})

    async def main():
        with open(errlog_path, "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client:
                return await calls(client)

    return anyio.run(main)


@pytest.fixture(scope="module")
def results(fake_seeds_index: Path, tmp_path_factory: pytest.TempPathFactory):
    """One session's tool listing and calls (each start of qa mcp loads the model: share one)."""
    errlog = tmp_path_factory.mktemp("mcp") / "stderr.txt"

    async def calls(client):
        out = {"tools": await client.list_tools()}
        out["ask"] = await client.call_tool("ask", {"question": "What did the forum aim to strengthen?"})
        out["ask_bm25"] = await client.call_tool("ask", {"question": "digital governance", "k": 2, "mode": "bm25"})
        citation = out["ask"].structured_content["results"][0]["citation"]
        out["citation"] = citation
        out["show"] = await client.call_tool("show", {"citation": citation, "context": 1})
        out["show_missing"] = await client.call_tool("show", {"citation": "no-such-file.txt:1-2"})
        out["show_bad"] = await client.call_tool("show", {"citation": "not a citation"})
        out["ask_k0"] = await client.call_tool("ask", {"question": "why", "k": 0})
        out["ask_mode"] = await client.call_tool("ask", {"question": "why", "mode": "fuzzy"})
        out["ask_empty"] = await client.call_tool("ask", {"question": "  "})
        out["ask_long"] = await client.call_tool("ask", {"question": "why " * 600})
        out["ask_odd"] = await client.call_tool("ask", {"question": "\x00\x1b[31m 🦜 \u202e ..."})
        out["after"] = await client.call_tool("ask", {"question": "digital governance", "k": 1})
        return out

    out = _session(fake_seeds_index, calls, errlog)
    out["stderr"] = errlog.read_text()
    return out


def test_tools_are_ask_and_show(results) -> None:
    tools = {tool.name: tool for tool in results["tools"].tools}
    assert set(tools) == {"ask", "show"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["ask"].input_schema["properties"]) == {"question", "k", "mode"}
    assert tools["ask"].description and tools["show"].description


def test_ask_is_what_qa_ask_json_prints(results, fake_seeds_index: Path) -> None:
    for key, options in (("ask", ()), ("ask_bm25", ("-k", "2", "--mode", "bm25"))):
        result = results[key]
        assert not result.is_error
        question = result.structured_content["question"]
        cli = run_qa("ask", "--json", "--index", str(fake_seeds_index), *options, question)
        assert result.structured_content == json.loads(cli.stdout)
        text = result.content[0].text
        for hit in result.structured_content["results"]:   # the text names every citation, in order
            assert f"[{hit['rank']}] {hit['citation']}" in text
        assert text.splitlines()[0].startswith(("answered", "probably not answered"))


def test_ask_text_gives_the_answering_sentence(results) -> None:
    from qa.ui.mcp import render_answer

    data = results["ask"].structured_content
    hit = next(h for h in data["results"] if h["answer_start"] is not None)
    sentence = " ".join(hit["text"][hit["answer_start"] - hit["start"]:hit["answer_end"] - hit["start"]].split())
    assert sentence[:80] in render_answer(data)


def test_show_gives_the_cited_lines(results, fake_seeds_index: Path) -> None:
    result = results["show"]
    assert not result.is_error
    shown = result.structured_content
    assert shown["citation"] == results["citation"] and any(line["cited"] for line in shown["lines"])
    printed = run_qa("show", "--index", str(fake_seeds_index), "--context", "1", results["citation"]).stdout
    for line in shown["lines"]:
        assert f"{'>' if line['cited'] else ' '} {line['number']:>5} |" in result.content[0].text
        assert f"{'>' if line['cited'] else ' '} {line['number']:>5} |" in printed


@pytest.mark.parametrize("key, words", [
    ("show_missing", "not in the index"),
    ("show_bad", "not a citation"),
    ("ask_k0", "from 1 to"),
    ("ask_mode", "mode"),
    ("ask_empty", "empty"),
    ("ask_long", "limit"),
])
def test_bad_calls_are_tool_errors(results, key: str, words: str) -> None:
    result = results[key]
    assert result.is_error and words in result.content[0].text


def test_odd_questions_are_answered_and_the_server_goes_on(results) -> None:
    assert not results["ask_odd"].is_error
    assert not results["after"].is_error and results["after"].structured_content["results"]


def test_logs_go_to_stderr(results) -> None:
    assert "qa mcp: serving" in results["stderr"] and "Traceback" not in results["stderr"]


def _raw(index: Path, errors) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "qa.ui.cli", "mcp", "--index", str(index)],
                               cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    threading.Timer(300, lambda: process.poll() is None and process.kill()).start()   # never outlives the test
    return process


def _send(process: subprocess.Popen, message: dict) -> None:
    process.stdin.write((json.dumps(message) + "\n").encode())
    process.stdin.flush()


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}


def test_stdout_is_only_the_protocol(fake_seeds_index: Path) -> None:
    """Raw JSON-RPC over the pipes: every line qa mcp writes to stdout is a JSON-RPC message, and closing
    stdin ends it with exit 0."""
    with tempfile.TemporaryFile() as errors:
        process = _raw(fake_seeds_index, errors)
        _send(process, INITIALIZE)
        lines = [process.stdout.readline()]
        _send(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(process, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "ask", "arguments": {"question": "digital governance"}}})
        lines.append(process.stdout.readline())
        process.stdin.close()
        lines += process.stdout.readlines()
        assert process.wait(60) == 0
        errors.seek(0)
        assert b"qa mcp: serving" in errors.read()
    replies = [json.loads(line) for line in lines if line.strip()]
    assert all(reply.get("jsonrpc") == "2.0" for reply in replies) and len(replies) == len(lines)
    answer = next(reply for reply in replies if reply.get("id") == 2)
    assert answer["result"]["structuredContent"]["results"]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_with_exit_0(fake_seeds_index: Path, how: int) -> None:
    with tempfile.TemporaryFile() as errors:
        process = _raw(fake_seeds_index, errors)
        try:
            _send(process, INITIALIZE)
            assert json.loads(process.stdout.readline())["id"] == 1   # serving, stdin still open
            process.send_signal(how)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
        errors.seek(0)
        assert b"Traceback" not in errors.read()


def test_no_index_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    result = run_qa("mcp", "--index", str(tmp_path / "none"), stdin="")
    assert result.returncode == 1 and not result.stdout
    assert "qa index" in result.stderr and len(result.stderr.strip().splitlines()) == 1
