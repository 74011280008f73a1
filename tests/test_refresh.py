"""An open index (and the REPL on it) notices a new generation, says so once, and answers from it."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from qa import Index
from qa.ui.repl import Repl
from tests.conftest import SEEDS, run_qa

FILE = "004_bc3bbd6dfccf26ec.txt"


@pytest.fixture()
def corpus(seeds_index: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the seeds and an index of it (quick: vectors and the model export come from the seeds index)."""
    shutil.copytree(SEEDS, tmp_path / "docs")
    shutil.copytree(seeds_index, tmp_path / "ix")
    Index.build([tmp_path / "docs"], tmp_path / "ix")
    return tmp_path / "docs", tmp_path / "ix"


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\n{text}\n")


def test_the_repl_says_once_that_the_index_was_updated_then_answers_from_it(corpus: tuple[Path, Path]):
    docs, index_dir = corpus
    out = io.StringIO()
    repl = Repl(Index.open(index_dir), Console(file=out, width=100), k=3, mode="hybrid")
    repl.handle("What did BGI Genomics set up in Uruguay?")
    assert "index updated" not in out.getvalue()
    append(docs / FILE, "The zebrafinch council met in Tallinn to count the marmots.")
    built = run_qa("index", "--index", str(index_dir))   # a real rebuild, by another process
    assert built.returncode == 0 and "1 changed" in built.stdout, built.stderr
    size = Index.open(index_dir).size
    out.truncate(0), out.seek(0)
    repl.handle("Where did the zebrafinch council meet?")
    first = out.getvalue()
    assert first.count("index updated") == 1
    assert f"index updated: 1 file changed, {size:,} passages" in first
    assert "Tallinn" in first                           # answered from the new generation
    out.truncate(0), out.seek(0)
    repl.handle("Where did the zebrafinch council meet?")
    assert "index updated" not in out.getvalue() and "Tallinn" in out.getvalue()


def test_an_index_two_generations_behind_reopens_cleanly(corpus: tuple[Path, Path]):
    docs, index_dir = corpus
    index = Index.open(index_dir)
    first_generation = index.stored.folder
    assert index.search("BGI Genomics Uruguay", k=1, mode="dense")   # the model and vectors are in use
    assert index.refresh() is None and index.stored.folder == first_generation
    append(docs / FILE, "The zebrafinch council met in Tallinn.")
    Index.build(None, index_dir)
    (docs / "001_d604fa8a18ea78d9.txt").unlink()
    append(docs / "002_a9873de1c8ec672a.txt", "Marmots whistle at dawn in the high Alps.")
    Index.build(None, index_dir)
    assert not first_generation.exists(), "the build removed the generation the open index was using"
    update = index.refresh()
    assert update is not None and update.files_changed == 3 and update.passages == index.size
    assert index.stored.folder != first_generation
    for mode in ("dense", "bm25", "hybrid"):
        hits = index.search("Where did the zebrafinch council meet?", k=1, mode=mode)
        assert "Tallinn" in hits[0].passage.text, mode
    assert all(hit.passage.file != "001_d604fa8a18ea78d9.txt" for hit in index.search("China", k=20, mode="bm25"))
    assert index.refresh() is None
