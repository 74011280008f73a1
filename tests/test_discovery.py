"""Reading never leaves the corpus, never hangs, never reads without bound (issue 11, items 2 and 3)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from qa import config
from qa.sources import Unreadable, discover, read_bytes
from tests.conftest import run_qa


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Barn owls hunt voles at night.\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("The vault code is 4711 and nobody may know it.\n")
    (outside / "more").mkdir()
    (outside / "more" / "hidden.txt").write_text("Another secret sentence about the vault.\n")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "hostname.txt").symlink_to("/etc/hostname")
    (corpus / "linked-folder").symlink_to(outside / "more", target_is_directory=True)
    (corpus / "inside.txt").symlink_to(corpus / "notes.txt")
    return corpus


def test_links_leading_out_of_the_corpus_are_skipped_with_a_reason(tmp_path: Path):
    corpus = _corpus(tmp_path)
    _, files, skipped = discover([corpus])
    assert sorted(f.name for f in files) == ["inside.txt", "notes.txt"]
    reasons = {s.path: s.reason for s in skipped}
    assert "outside the indexed paths" in reasons["secret.txt"] and "--follow-links" in reasons["secret.txt"]
    assert "outside the indexed paths" in reasons["hostname.txt"]
    assert "folder" in reasons["linked-folder/"] and "outside the indexed paths" in reasons["linked-folder/"]


def test_follow_links_reads_them(tmp_path: Path):
    corpus = _corpus(tmp_path)
    _, files, skipped = discover([corpus], follow_links=True)
    names = sorted(f.relative_to(corpus).as_posix() for f in files)
    assert "secret.txt" in names and "linked-folder/hidden.txt" in names
    assert not [s for s in skipped if "link" in s.reason]


def test_the_secret_never_reaches_the_index_or_an_answer(tmp_path: Path, fake_model: Path):
    corpus = _corpus(tmp_path)
    index = tmp_path / "ix"
    built = run_qa("index", str(corpus), "--index", str(index), "--model", str(fake_model))
    assert built.returncode == 0, built.stderr
    assert "skipped secret.txt: symbolic link to outside the indexed paths" in built.stderr
    assert "skipped linked-folder/: symbolic link to a folder outside the indexed paths" in built.stderr
    answer = run_qa("ask", "What is the vault code?", "--index", str(index), "--mode", "bm25", "--json")
    assert answer.returncode == 0, answer.stderr
    assert not [r for r in json.loads(answer.stdout)["results"] if "4711" in r["text"] or "vault" in r["text"]]


def test_a_fifo_is_skipped_not_read(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Barn owls hunt voles at night.\n")
    os.mkfifo(corpus / "pipe.txt")
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(found=discover([corpus])), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "discover hung on a named pipe"
    _, files, skipped = result["found"]   # type: ignore[misc]
    assert [f.name for f in files] == ["notes.txt"]
    assert [(s.path, s.reason) for s in skipped] == [("pipe.txt", "not a regular file (a named pipe)")]


def test_reading_a_fifo_directly_neither_blocks_nor_reads(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(Unreadable, match="named pipe"):
        read_bytes(tmp_path / "pipe.txt")       # O_NONBLOCK: a pipe with no writer would block a plain open


def test_a_link_to_dev_zero_is_skipped(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "zero.txt").symlink_to("/dev/zero")
    _, files, skipped = discover([corpus], follow_links=True)
    assert files == [] and skipped[0].reason == "not a regular file (a device)"
    with pytest.raises(Unreadable, match="device"):
        read_bytes(Path("/dev/zero"))


def test_reading_is_bounded_whatever_stat_says(monkeypatch: pytest.MonkeyPatch):
    status = Path("/proc/self/status")             # a regular file whose stat says 0 bytes
    assert status.stat().st_size == 0 and len(status.read_bytes()) > 200
    monkeypatch.setattr(config, "MAX_FILE_MB", 0.0001)   # 100 bytes
    with pytest.raises(Unreadable, match="more than its stated size, over the 0.0001 MB limit"):
        read_bytes(status)


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "big.txt").write_bytes(b"owl " * 1000)
    monkeypatch.setattr(config, "MAX_FILE_MB", 0.001)
    with pytest.raises(Unreadable, match="over the 0.001 MB limit"):
        read_bytes(tmp_path / "big.txt")
