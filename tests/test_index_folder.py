"""The index folder under bad conditions (issue 23, item 5): the root folder, a planted `.lock` link, a full disk."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest

from qa import Index
from qa.errors import QAError, UsageError
from qa.store import generation
from qa.store.ownership import MARKER
from qa.ui import cli
from tests.conftest import run_qa


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "owls.txt").write_text("Barn owls hunt mice at night over the meadow.\n", encoding="utf-8")
    return folder


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


def test_the_root_folder_is_refused_in_one_line(tmp_path: Path, corpus: Path, fake_model: Path):
    result = run_qa("index", str(corpus), "--index", "/", "--model", str(fake_model), cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "/ is not a qa index" in line and line.endswith("Use a new folder: qa index --index qa-index [PATH ...]")
    assert not (Path("/") / MARKER).exists() and not (Path("/") / ".lock").exists()


def test_a_folder_holding_only_a_lock_link_is_refused_and_the_links_target_never_made(
        tmp_path: Path, corpus: Path, fake_model: Path):
    folder = tmp_path / "ix"
    folder.mkdir()
    target = tmp_path / "elsewhere" / "made-by-qa"
    target.parent.mkdir()
    (folder / ".lock").symlink_to(target)
    result = run_qa("index", str(corpus), "--index", str(folder), "--model", str(fake_model))
    assert result.returncode == 2
    assert "is not a qa index and is not empty" in one_error_line(result.stderr)
    assert not os.path.lexists(target), "qa created the link's target outside the index folder"
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]


def test_a_lock_link_planted_in_an_index_is_never_followed(tmp_path: Path, corpus: Path, fake_model: Path):
    folder = tmp_path / "ix"
    Index.build([corpus], folder, model=str(fake_model))
    target = tmp_path / "made-by-qa"
    (folder / ".lock").unlink()
    (folder / ".lock").symlink_to(target)
    with pytest.raises(UsageError, match=r"\.lock is a symbolic link, not qa's lock file.*Remove the link"):
        Index.build([corpus], folder, model=str(fake_model))
    assert not os.path.lexists(target)
    (folder / ".lock").unlink()
    (folder / ".lock").mkdir()   # nor is anything else of that name used as the lock
    with pytest.raises(UsageError, match=r"\.lock is not a file qa made"):
        Index.build([corpus], folder, model=str(fake_model))


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "vectors.npy")


def short_write(*args, **kwargs):   # what numpy's tofile raises when the disk fills under it
    raise OSError("576416 requested and 528320 written")


def sqlite_full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")


@pytest.mark.parametrize("where, failure", [("_save_array", enospc), ("_save_array", short_write),
                                            ("_write_passages", sqlite_full)])
def test_a_full_disk_is_one_line_saying_so_and_the_old_generation_answers(
        tmp_path: Path, corpus: Path, fake_model: Path, capsys, monkeypatch, where, failure):
    index_dir = tmp_path / "ix"
    Index.build([corpus], index_dir, model=str(fake_model))
    before = sorted(p.name for p in index_dir.iterdir())
    (corpus / "otters.txt").write_text("Otters crack shellfish open with stones.\n", encoding="utf-8")
    monkeypatch.setattr(generation, where, failure)
    capsys.readouterr()
    code = cli.main(["index", str(corpus), "--index", str(index_dir), "--model", str(fake_model)])
    assert code == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"The disk holding {index_dir} is full (" in line and "the index is as it was" in line
    assert "Free some space there" in line
    monkeypatch.undo()
    assert not list(index_dir.glob(".tmp-*")), "the half-written generation is gone"
    assert [p for p in sorted(p.name for p in index_dir.iterdir()) if not p.startswith(".scratch-")] == before
    index = Index.open(index_dir)
    assert {f.path for f in index.stored.files} == {"owls.txt"}
    assert index.search("meadow owls", k=1, mode="bm25")[0].passage.file == "owls.txt"


def test_another_write_failure_names_its_file_and_leaves_the_index(tmp_path: Path, corpus: Path, fake_model: Path,
                                                                   monkeypatch):
    index_dir = tmp_path / "ix"
    Index.build([corpus], index_dir, model=str(fake_model))
    current = (index_dir / "CURRENT").read_text()
    (corpus / "otters.txt").write_text("Otters crack shellfish open with stones.\n", encoding="utf-8")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "vectors.npy")

    monkeypatch.setattr(generation, "_save_array", denied)
    with pytest.raises(QAError, match=r"Cannot write the index at .*: Permission denied \(vectors.npy\); "
                                      r"the index is as it was") as error:
        Index.build([corpus], index_dir, model=str(fake_model))
    assert not isinstance(error.value, generation.DiskFullError)
    assert (index_dir / "CURRENT").read_text() == current
