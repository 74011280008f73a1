"""`Index.refresh()` onto a damaged generation: CURRENT names a generation whose files are truncated or missing.

The open index (the REPL's, the server's) must keep answering from the generation it is using, and say
what happened once, in one line naming the next action, not once per question.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from qa import Index
from qa.errors import IndexFormatError
from qa.ui.repl import Repl
from qa.ui.serve_engine import Engine

QUESTION = "What did BGI Genomics set up in Uruguay?"
ANSWER_FILE = "004_bc3bbd6dfccf26ec.txt"


def point_current_at(index_dir: Path, name: str) -> None:
    """Write CURRENT as a build does: a new file renamed over the old one."""
    (index_dir / "CURRENT.tmp").write_text(name + "\n", encoding="utf-8")
    os.replace(index_dir / "CURRENT.tmp", index_dir / "CURRENT")


def truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


DAMAGE = {
    "vectors truncated": lambda folder: truncate(folder / "vectors.npy"),
    "passages missing": lambda folder: (folder / "passages.sqlite").unlink(),
    "manifest truncated": lambda folder: truncate(folder / "manifest.json"),
    "folder missing": lambda folder: shutil.rmtree(folder),
}


@pytest.fixture()
def damaged(fake_seeds_index: Path, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Index, Path, str]:
    """An open index that has answered once, then CURRENT renamed onto a damaged copy of its generation.
    Returns the index, its folder and the name of the generation in use."""
    index_dir = tmp_path / "ix"
    shutil.copytree(fake_seeds_index, index_dir)
    index = Index.open(index_dir)
    assert index.search(QUESTION, k=3, mode="hybrid") and index.refresh() is None   # model and vectors in use
    in_use = index.stored.folder.name
    newer = "gen-99991231T235959-damaged"
    shutil.copytree(index.stored.folder, index_dir / newer)
    DAMAGE[request.param](index_dir / newer)
    point_current_at(index_dir, newer)
    return index, index_dir, in_use


def top_files(index: Index) -> dict[str, list[str]]:
    return {mode: [hit.passage.file for hit in index.search(QUESTION, k=3, mode=mode)]
            for mode in ("dense", "bm25", "hybrid")}


@pytest.mark.parametrize("damaged", sorted(DAMAGE), indirect=True)
def test_refresh_keeps_the_generation_in_use_and_says_so_once(damaged: tuple[Index, Path, str]):
    index, index_dir, in_use = damaged
    before = top_files(index)
    with pytest.raises(IndexFormatError) as error:
        index.refresh()
    message = str(error.value)
    assert "\n" not in message and f"The index at {index_dir} is damaged" in message, message
    assert f"qa index --index {index_dir}" in message, "the message names the next action"
    assert index.stored.folder.name == in_use
    assert top_files(index) == before and before["hybrid"][0] == ANSWER_FILE   # still answering, from the old one
    assert index.refresh() is None, "the same damaged generation is reported once, not at every question"
    assert top_files(index) == before
    # a later build that writes a sound generation is picked up: the damage did not stop the refresh for good
    repaired = "gen-99991231T235959-repaired"
    shutil.copytree(index_dir / in_use, index_dir / repaired)
    point_current_at(index_dir, repaired)
    update = index.refresh()
    assert update is not None and update.files_changed == 0 and index.stored.folder.name == repaired
    assert top_files(index) == before


@pytest.mark.parametrize("damaged", ["vectors truncated"], indirect=True)
def test_the_server_answers_from_the_generation_in_use_with_one_warning(damaged: tuple[Index, Path, str]):
    index, index_dir, in_use = damaged
    logged: list[str] = []
    engine = Engine(index, log=logged.append)
    first = engine.ask(QUESTION, 3, "hybrid")
    results = first["results"]
    assert isinstance(results, list) and results and results[0]["file"] == ANSWER_FILE
    assert len(logged) == 1 and "\n" not in logged[0], logged
    assert "cannot be opened" in logged[0] and "still answering from the generation in use" in logged[0]
    second = engine.ask(QUESTION, 3, "hybrid")
    assert second["results"] == first["results"] and len(logged) == 1, logged
    assert index.stored.folder.name == in_use


@pytest.mark.parametrize("damaged", ["vectors truncated"], indirect=True)
def test_the_repl_answers_from_the_generation_in_use_with_one_message(damaged: tuple[Index, Path, str]):
    index, index_dir, in_use = damaged
    out = io.StringIO()
    repl = Repl(index, Console(file=out, width=1000), k=3, mode="hybrid")   # no wrapping
    assert repl.handle(QUESTION)
    first = out.getvalue()
    assert first.count(f"The index at {index_dir} is damaged") == 1, first
    assert ANSWER_FILE in first, "the question that met the damaged generation was not answered"
    out.truncate(0), out.seek(0)
    assert repl.handle(QUESTION)
    second = out.getvalue()
    assert "damaged" not in second and ANSWER_FILE in second, second
    assert index.stored.folder.name == in_use
