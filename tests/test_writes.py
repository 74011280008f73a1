"""qa writes nothing outside its index and the REPL history (issue 11, item 5)."""

from __future__ import annotations

import shutil
from pathlib import Path

from qa.model.embedder import SHIPPED_EXPORT
from qa.store.manifest import Manifest
from tests.conftest import SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_index_ask_batch_and_repl_write_only_the_index_and_the_history(tmp_path: Path, fake_model: Path):
    """With home, XDG folders and TMPDIR inside one fresh folder, everything new in it is the index or the history.

    The model ships no export, so the build imports torch and sentence-transformers to make one, and
    questions load onnxruntime: the libraries that wrote caches, telemetry and temporary files.
    """
    sandbox = tmp_path / "sandbox"
    model = sandbox / "model"
    shutil.copytree(fake_model, model, ignore=shutil.ignore_patterns(SHIPPED_EXPORT))
    shutil.copytree(SEEDS, sandbox / "corpus")
    places = {"HOME": "home", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data",
              "XDG_STATE_HOME": "state", "TMPDIR": "tmp"}
    for folder in (*places.values(), "cwd"):
        (sandbox / folder).mkdir()
    environment: dict[str, str | None] = {name: str(sandbox / folder) for name, folder in places.items()}
    for inherited in ("TORCHINDUCTOR_CACHE_DIR", "HF_HOME", "ORT_DISABLE_TELEMETRY"):   # as a user's shell has them
        environment[inherited] = None
    environment["QA_HISTORY"] = str(sandbox / "home" / ".qa_history")
    before = files_under(sandbox)
    index = sandbox / "ix"

    steps = [
        run_qa("index", str(sandbox / "corpus"), "--index", str(index), "--model", str(model), env=environment,
               cwd=sandbox / "cwd"),
        run_qa("ask", BGI, "--index", str(index), env=environment, cwd=sandbox / "cwd"),
        run_qa("ask", BGI, "--mode", "dense", "--json", "--index", str(index), env=environment, cwd=sandbox / "cwd"),
        run_qa("batch", "-", "--index", str(index), stdin=f"{BGI}\nWho is Yu Xiaohui?\n", env=environment,
               cwd=sandbox / "cwd"),
        run_qa("repl", "--index", str(index), stdin=f"{BGI}\n", env=environment, cwd=sandbox / "cwd"),
    ]
    for step in steps:
        assert step.returncode == 0, step.stderr
    assert "Dense search is unavailable" not in steps[2].stderr, "the dense question ran the model"
    generation = next(index.glob("gen-*"))
    assert Manifest.read(generation).model is not None and (generation / "vectors.npy").is_file(), \
        "the index has vectors"
    new = sorted(path for path in files_under(sandbox) - before
                 if not path.startswith("ix/") and path not in ("ix", "home/.qa_history"))
    assert new == [], f"written outside the index: {new}"
