"""What `qa index` indexes: the recorded paths by default, named paths replacing them, --add, and misuse."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from qa import Index
from tests.conftest import REPO, run_qa


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Path:
    """Two small folders, `owls/` and `beavers/`, and an index of both built once for the module (with the
    fake model: the subject is which paths are indexed, not the vectors)."""
    base = tmp_path_factory.mktemp("paths")
    (base / "owls").mkdir()
    (base / "owls" / "owls.txt").write_text("Owls hunt small mammals at night in the forest.\n")
    (base / "beavers").mkdir()
    (base / "beavers" / "beavers.txt").write_text("Beavers build dams of branches across slow rivers.\n")
    (base / "otters").mkdir()
    (base / "otters" / "otters.txt").write_text("Otters crack shellfish open with stones while floating.\n")
    result = run_qa("index", "owls", "beavers", "--index", "ix", cwd=base, env={"QA_MODEL": str(fake_model)})
    assert result.returncode == 0, result.stderr
    return base


@pytest.fixture(autouse=True)
def _fake_model_by_default(fake_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `qa` run here uses the fake model unless a test names another."""
    monkeypatch.setenv("QA_MODEL", str(fake_model))


@pytest.fixture()
def corpus(built: Path, tmp_path: Path) -> Path:
    """A private copy of the folders and an index of its owls/ and beavers/ (quick: the model's ONNX export
    is linked from the copied index)."""
    shutil.copytree(built, tmp_path / "c", symlinks=True)
    result = run_qa("index", "owls", "beavers", "--index", "ix", cwd=tmp_path / "c")
    assert result.returncode == 0 and "Paths replaced" in result.stdout, result.stderr
    return tmp_path / "c"


def indexed_files(index_dir: Path) -> set[str]:
    return {f.path for f in Index.open(index_dir).stored.files}


def test_no_path_updates_the_paths_the_index_was_built_from(corpus: Path):
    (corpus / "seeds").mkdir()   # the old fallback would have indexed this and dropped the rest
    (corpus / "seeds" / "decoy.txt").write_text("A decoy about penguins.\n")
    (corpus / "owls" / "owls.txt").write_text("Owls hunt voles and mice at night in the forest.\n")
    result = run_qa("index", "--index", "ix", cwd=corpus)
    assert result.returncode == 0, result.stderr
    assert "1 changed" in result.stdout and "0 removed" in result.stdout and "replaced" not in result.stdout
    assert indexed_files(corpus / "ix") == {"owls/owls.txt", "beavers/beavers.txt"}
    assert Index.open(corpus / "ix").search("voles", k=1, mode="bm25")[0].passage.file == "owls/owls.txt"


def test_named_paths_replace_the_set_and_the_summary_says_so(corpus: Path):
    result = run_qa("index", "otters", "beavers", "--index", "ix", cwd=corpus)
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()
    assert len(summary) == 1
    assert "Paths replaced: owls dropped, now otters" in summary[0] and "--add" in summary[0]
    assert indexed_files(corpus / "ix") == {"otters/otters.txt", "beavers/beavers.txt"}
    again = run_qa("index", "otters", "beavers", "--index", "ix", cwd=corpus)
    assert "replaced" not in again.stdout and "up to date" in again.stdout


def test_add_extends_the_set(corpus: Path):
    result = run_qa("index", "--add", "otters", "--index", "ix", cwd=corpus)
    assert result.returncode == 0, result.stderr
    assert "replaced" not in result.stdout
    assert indexed_files(corpus / "ix") == {"owls/owls.txt", "beavers/beavers.txt", "otters/otters.txt"}
    manifest = json.loads((Index.open(corpus / "ix").stored.folder / "manifest.json").read_text())
    assert [Path(p).name for p in manifest["paths"]] == ["owls", "beavers", "otters"]
    later = run_qa("index", "--index", "ix", cwd=corpus)   # and the next update keeps all three
    assert "up to date" in later.stdout and "3 unchanged" in later.stdout


@pytest.mark.parametrize("args", [["missing"], ["owls", "missing"], ["--add", "missing"],
                                  ["--model", "no-such-model"], ["owls", "--model", "./no/such/folder"]])
def test_a_path_or_model_that_does_not_exist_is_misuse_and_changes_nothing(corpus: Path, args: list[str]):
    before = (corpus / "ix" / "CURRENT").read_text()
    result = run_qa("index", *args, "--index", "ix", cwd=corpus)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr
    assert ("does not exist" in lines[0]) if "--model" not in args else ("--model" in lines[0])
    assert result.stdout == "" and (corpus / "ix" / "CURRENT").read_text() == before


def test_a_new_index_with_no_path_takes_the_bundled_corpus(corpus: Path):
    """No index yet and no PATH: the default corpus (`seeds/`, or $QA_CORPUS) is indexed (BM25 only, for speed)."""
    shim = corpus / "shim" / "sentence_transformers"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('not here')\n")
    result = run_qa("index", "--index", "new", cwd=corpus,
                    env={"QA_CORPUS": "otters", "PYTHONPATH": f"{shim.parent}{os.pathsep}{REPO}"})
    assert result.returncode == 0, result.stderr
    assert indexed_files(corpus / "new") == {"otters.txt"}
