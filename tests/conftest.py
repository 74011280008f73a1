"""Shared fixtures: the real model, a seeds index built once per run, and a CLI runner."""

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
def index(seeds_index: Path):
    from qa import Index

    return Index.open(seeds_index)


def run_qa(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
           cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run the real `qa` command (as `python -m qa.cli`) and capture what it prints."""
    environment = dict(os.environ, HF_HUB_OFFLINE="1", COLUMNS="100", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        input=stdin, capture_output=True, text=True, cwd=cwd, env=environment, timeout=300,
    )
