"""Shared fixtures: the real model, a fake model, seeds indexes built once per run, and a CLI runner.

The fake model (tests/fake_model.py) is a tiny, seeded, randomly initialised BERT with MiniLM's tokenizer,
made once per test session as a local sentence-transformers folder that also ships qa's ONNX export of
itself (`qa-onnx/`), so a build with it copies that export instead of importing torch: about 2 s a build
instead of 20. Use it wherever the subject is not the model (building, locking, damage, rendering, CLI
edges): in process `Index.build([corpus], path, model=str(fake_model))`, on the command line
`run_qa("index", str(corpus), "--index", str(path), "--model", str(fake_model))`; `qa ask`/`batch`/`repl`
need nothing more (an index answers with its own export), and `fake_seeds_index` is seeds/ built with it.
Its vectors only reflect shared word pieces: keep the real model (`seeds_index`, `index`) for ONNX
equality, retrieval quality, answer marking and fallback tests. Nothing is selected by environment
variables and nothing in an index names code: the fake is just another `--model` folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _private_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the REPL's history file out of the user's home."""
    monkeypatch.setenv("QA_HISTORY", str(tmp_path / "history"))


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of seeds/ built with the real model, shared by the whole run."""
    from qa import Index

    path = tmp_path_factory.mktemp("seeds-index")
    report = Index.build([SEEDS], path)
    assert report.vectors and report.passages > 0
    return path


@pytest.fixture(scope="session")
def fake_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny test model (see the module docstring), made once per run."""
    from tests.fake_model import make_fake_model

    return make_fake_model(tmp_path_factory.mktemp("fake-model"))


@pytest.fixture(scope="session")
def fake_seeds_index(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Path:
    """An index of seeds/ built with the fake model, shared by the whole run (copy it before changing it)."""
    from qa import Index

    path = tmp_path_factory.mktemp("fake-seeds-index")
    report = Index.build([SEEDS], path, model=str(fake_model))
    assert report.vectors and report.passages > 0
    return path


@pytest.fixture(scope="session")
def index(seeds_index: Path):
    from qa import Index

    return Index.open(seeds_index)


def run_qa(*args: str, stdin: str | None = None, env: dict[str, str | None] | None = None,
           cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run the real `qa` command (as `python -m qa.ui.cli`) and capture what it prints (`env`: None unsets)."""
    merged = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "100", **(env or {})}
    environment = {name: value for name, value in merged.items() if value is not None}
    return subprocess.run(
        [sys.executable, "-m", "qa.ui.cli", *args],
        input=stdin, capture_output=True, text=True, cwd=cwd, env=environment, timeout=300,
    )
