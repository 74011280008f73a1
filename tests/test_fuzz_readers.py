"""Fuzzing the reader boundary: whatever bytes a file of a supported type holds, `qa.sources.read` returns a
Document or raises `Unreadable`; any other exception escaping it is a bug (the build would see it).

For each suffix, hypothesis draws random bytes, and mutations of a valid file of that type (bytes
flipped, cut, inserted, deleted, repeated; tokens of the format spliced in; for .docx also one zip member's
XML mutated and the archive rebuilt, or its compressed bytes damaged), with a fixed budget
(`EXAMPLES` per suffix, no deadline, no example database). Each example is read in a forked child whose
address space is capped and whose time is bounded by an alarm, so a bomb costs the child, not the test.

`python -m tests.test_fuzz_readers [EXAMPLES]` runs the same inputs without stopping at the first escape
and prints a tally of what escaped from which reader.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import sys
import tempfile
import traceback
import zipfile
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 200
#: Address space a child may add to what it inherits, and its seconds before it is called hung.
CHILD_MEMORY_MB = 1024
CHILD_SECONDS = 60

SUFFIXES = (".txt", ".md", ".html", ".pdf", ".docx")

#: Tokens spliced into a file of each type: the syntax its parser trips on.
TOKENS: dict[str, list[bytes]] = {
    ".txt": [b"\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\r", b"\x1b[2J", b"\xc3", b"\n" * 50],
    ".md": [b"---\n", b"```", b"#" * 7, b"|", b"\n# ", b"> " * 50, b"- " * 50, b"*", b"[x](", b"\xed\xa0\x80"],
    ".html": [b"<", b">", b"<!--", b"<![CDATA[", b"<script>", b"</html>", b"&#0;", b"&#x110000;", b"<?xml version='1.0'?>",
              b'<meta charset="utf-16">', b"<!DOCTYPE x [<!ENTITY a 'aa'>]>", b"<table><tr><td>" * 30, b"\x00", b"<svg>"],
    ".pdf": [b"obj", b"endobj", b" 0 R", b"<<", b">>", b"[", b"]", b"(", b")", b"stream\n", b"endstream", b"/Filter /FlateDecode",
             b"/Length 99999999", b"-1", b"99999999999999999999", b"trailer", b"startxref", b"xref\n0 1\n", b"/Encrypt",
             b"/Kids [", b"/Count -1", b"/Info", b"%%EOF", b"/Type /Page", b"1e308", b"\\", b"/"],
    ".docx": [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\x00" * 4, b"\xff" * 4],
}
XML_TOKENS = [b"<", b">", b"</w:p>", b"<w:p>", b"<w:tbl><w:tr><w:tc>", b"&", b"&amp;", b"&#0;", b"<!DOCTYPE w [<!ENTITY e 'x'>]>",
              b"&e;", b"]]>", b"<![CDATA[", b'xmlns:w="urn:x"', b"<w:t>", b"\x00", b"\xff", b"<?xml version='1.0'?>",
              b'w:val="Heading1"', b"<w:br/>", b'<w:pStyle w:val="Title"/>']


@lru_cache(maxsize=None)
def base(suffix: str) -> bytes:
    """A valid file of the type, small enough to mutate."""
    from tests.fixtures.make import FIXTURES, report_docx, report_pdf

    if suffix == ".pdf":
        return report_pdf()
    if suffix == ".docx":
        return report_docx()
    if suffix == ".html":
        return (FIXTURES / "article.html").read_bytes()
    if suffix == ".md":
        return (b"---\ntitle: Field notes\n---\n# Field notes\n\nCurlews probe the mud for worms.\n\n## Gear\n\n"
                b"- boots\n- notebook\n\n| bird | count |\n|---|---|\n| curlew | 4 |\n\n```\ncount = 4\n```\n")
    return "Curlews probe the mud for worms at low tide.\nThey nest on moorland in spring.\n\u00e9t\u00e9\n".encode()


def _mutate(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """Apply ("flip"|"cut"|"insert"|"delete"|"repeat", position, amount, bytes) operations in turn."""
    buffer = bytearray(data)
    for kind, position, amount, extra in ops:
        at = position % (len(buffer) + 1)
        if kind == "flip" and buffer:
            at %= len(buffer)
            buffer[at] ^= (amount % 255) + 1
        elif kind == "cut":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = extra
        elif kind == "delete":
            del buffer[at:at + amount]
        elif kind == "repeat":
            buffer[at:at] = bytes(buffer[at:at + 64]) * (amount % 50)
    return bytes(buffer)


def _ops(tokens: list[bytes]) -> st.SearchStrategy[list[tuple[str, int, int, bytes]]]:
    extra = st.one_of(st.sampled_from(tokens), st.binary(max_size=32))
    op = st.tuples(st.sampled_from(["flip", "cut", "insert", "delete", "repeat"]),
                   st.integers(0, 2**20), st.integers(0, 4096), extra)
    return st.lists(op, min_size=1, max_size=6)


def _rezip(data: bytes, member: int, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """The archive rebuilt with one member's content mutated (valid CRCs and sizes: the parser sees it)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    name, content = parts[member % len(parts)]
    parts[member % len(parts)] = (name, _mutate(content, ops))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts:
            archive.writestr(name, content)
    return out.getvalue()


def _damage_member(data: bytes, member: int, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """The archive with one member's compressed bytes mutated in place (same length: headers still point)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[member % len(archive.infolist())]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    body = _mutate(data[start:start + info.compress_size], ops)
    body = (body + bytes(info.compress_size))[:info.compress_size]
    return data[:start] + body + data[start + info.compress_size:]


def inputs(suffix: str) -> st.SearchStrategy[bytes]:
    """Random bytes, or a valid file of the type mutated (and for .docx, one of its members)."""
    valid = base(suffix)
    choices = [st.binary(max_size=4096), st.builds(_mutate, st.just(valid), _ops(TOKENS[suffix]))]
    if suffix == ".docx":
        choices += [st.builds(_rezip, st.just(valid), st.integers(0, 50), _ops(XML_TOKENS)),
                    st.builds(_damage_member, st.just(valid), st.integers(0, 50), _ops([b"\x00", b"\xff"]))]
    return st.one_of(*choices)


def _warm(suffix: str) -> None:
    """Import the reader and its library here, once, so every forked child starts with them."""
    from qa.sources import read

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"warm{suffix}"
        path.write_bytes(base(suffix))
        read(path, Path(folder))


def attempt(suffix: str, data: bytes) -> str | None:
    """Read `data` as a file of type `suffix` in a forked, bounded child: None when it returned a Document or
    raised Unreadable; otherwise what escaped (type, message, the innermost frames), or how the child died."""
    with tempfile.TemporaryDirectory(prefix="qa-fuzz-") as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:     # the child: never returns
            try:
                os.close(readable)
                _child(path, Path(folder), writable)
            finally:
                os._exit(0)
        os.close(writable)
        with os.fdopen(readable, "rb") as pipe:
            report = pipe.read().decode("utf-8", "replace")
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"the reader's process died: {signal.Signals(os.WTERMSIG(status)).name}" + (
            f" (still reading after {CHILD_SECONDS} s)" if os.WTERMSIG(status) == signal.SIGALRM else "")
    return report or None


def _child(path: Path, root: Path, out: int) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    with open("/proc/self/statm") as statm:
        now = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (now + CHILD_MEMORY_MB * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.alarm(CHILD_SECONDS)
    from qa.sources import Document, Unreadable, read

    report = ""
    try:
        outcome = read(path, root)
        if not isinstance(outcome, Document):
            report = f"returned {type(outcome).__name__}, not a Document"
    except Unreadable as error:
        if not str(error).strip() or "\n" in str(error):
            report = f"Unreadable without a one-line reason: {str(error)!r}"
    except BaseException as error:    # noqa: BLE001 - the point: anything else is reported
        frames = traceback.extract_tb(error.__traceback__)[-3:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
        report = f"{type(error).__module__}.{type(error).__qualname__}: {str(error)[:200]!r} at {where}"
    os.write(out, report.encode("utf-8", "replace"))


FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_nothing_but_unreadable_escapes_a_reader(suffix: str):
    _warm(suffix)

    @FUZZ
    @given(data=inputs(suffix))
    def read_one(data: bytes) -> None:
        escaped = attempt(suffix, data)
        assert escaped is None, f"{suffix} reader: {escaped}"

    read_one()


def test_the_harness_sees_escapes_bombs_and_hangs(monkeypatch: pytest.MonkeyPatch):
    """What the fuzz test relies on: an exception other than Unreadable is reported with its type; a child that
    allocates past its cap or reads forever is stopped and reported; Unreadable and a Document pass."""
    import time

    import qa.sources
    from qa.sources import Unreadable

    def fake(path: Path, root: Path, limits: object = None) -> object:
        command = path.read_bytes()
        if command == b"raise":
            raise KeyError("boom")
        if command == b"unreadable":
            raise Unreadable("a reason")
        if command == b"allocate":
            return bytearray(8 * 2**30)
        time.sleep(30)

    assert attempt(".txt", base(".txt")) is None
    monkeypatch.setattr(qa.sources, "read", fake)
    monkeypatch.setattr(sys.modules[__name__], "CHILD_SECONDS", 1)
    assert attempt(".txt", b"raise").startswith("builtins.KeyError: \"'boom'\" at test_fuzz_readers.py")
    assert attempt(".txt", b"unreadable") is None
    assert attempt(".txt", b"allocate").startswith("builtins.MemoryError")
    assert attempt(".txt", b"sleep") == "the reader's process died: SIGALRM (still reading after 1 s)"


def survey(examples: int) -> Counter[tuple[str, str]]:
    """Every escape of `examples` inputs per suffix, by (suffix, what escaped), without stopping at the first."""
    found: Counter[tuple[str, str]] = Counter()
    for suffix in SUFFIXES:
        _warm(suffix)

        @settings(FUZZ, max_examples=examples)
        @given(data=inputs(suffix))
        def read_one(data: bytes) -> None:
            escaped = attempt(suffix, data)
            if escaped:
                found[(suffix, escaped.split(" at ")[0][:160] + " at " + escaped.split(" at ")[-1])] += 1

        read_one()
    return found


if __name__ == "__main__":
    for (suffix, escaped), count in sorted(survey(int(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES).items()):
        print(f"{count:4d}  {suffix:6s} {escaped}")
