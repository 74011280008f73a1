"""qa writes only into its own index folders and deletes only what it made (issue 11, item 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa import Index
from qa.errors import UsageError
from qa.store.ownership import MARKER, OWNER
from tests.conftest import REPO, run_qa


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` and the bytes of every file."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def users_things(folder: Path) -> None:
    """What a user may keep in a folder, named like qa's own files."""
    for name in ("gen-2024-photos", ".tmp-draft", ".scratch-notes"):
        (folder / name).mkdir(parents=True)
        (folder / name / "keep.txt").write_text(f"{name} is mine\n", encoding="utf-8")
    (folder / "CURRENT").write_text("my current project\n", encoding="utf-8")


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Barn owls hunt mice at night.\n", encoding="utf-8")
    return folder


def test_a_folder_that_is_not_an_index_is_refused_and_left_untouched(tmp_path: Path, corpus: Path, fake_model: Path):
    folder = tmp_path / "Documents"
    users_things(folder)
    (folder / "notes.md").write_text("# My notes\n", encoding="utf-8")
    before = snapshot(folder)
    result = run_qa("index", str(corpus), "--index", str(folder), "--model", str(fake_model))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "not a qa index" in result.stderr
    assert "Traceback" not in result.stderr
    suggested = Path(result.stderr.split("qa index --index ")[1].split()[0])
    assert not (REPO / suggested).exists() and suggested.name == "Documents-qa-index"
    assert snapshot(folder) == before, "nothing was written, moved or deleted"
    fresh = run_qa("index", str(corpus), "--index", str(tmp_path / suggested.name), "--model", str(fake_model))
    assert fresh.returncode == 0, fresh.stderr


def test_a_folder_holding_only_a_readme_is_not_taken_for_an_index(tmp_path: Path, corpus: Path, fake_model: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "README.md").write_text("# My project\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not a qa index"):
        Index.build([corpus], folder, model=str(fake_model))
    assert snapshot(folder) == {"README.md": b"# My project\n"}


def test_the_repositorys_index_folder_is_marked_as_an_index(tmp_path: Path, corpus: Path, fake_model: Path):
    """`make run` builds into index/, which the repository ships with its README and qa's marker."""
    folder = tmp_path / "index"
    shutil.copytree(REPO / "index", folder, ignore=shutil.ignore_patterns("CURRENT", "gen-*", ".tmp-*", ".lock"))
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "README.md"]
    readme = (folder / "README.md").read_bytes()
    Index.build([corpus], folder, model=str(fake_model))
    assert Index.open(folder).search("owls", k=1, mode="bm25")[0].passage.file == "a.txt"
    assert (folder / "README.md").read_bytes() == readme


def test_new_and_empty_folders_become_marked_indexes(tmp_path: Path, corpus: Path, fake_model: Path):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "new" / "deeper"):
        Index.build([corpus], folder, model=str(fake_model))
        assert (folder / MARKER).is_file()
        generation = folder / (folder / "CURRENT").read_text().strip()
        assert (generation / OWNER).read_text().strip() in (folder / MARKER).read_text()


def test_a_rebuild_removes_only_its_own_generations(tmp_path: Path, corpus: Path, fake_model: Path):
    folder = tmp_path / "ix"
    Index.build([corpus], folder, model=str(fake_model))
    first = folder / (folder / "CURRENT").read_text().strip()
    for name in ("gen-2024-photos", ".tmp-draft", ".scratch-notes"):   # planted in a real index folder
        (folder / name).mkdir()
        (folder / name / "keep.txt").write_text("mine\n", encoding="utf-8")
    planted_copy = folder / "gen-copied-from-another-index"
    shutil.copytree(first, planted_copy)
    (planted_copy / OWNER).write_text("some-other-index\n", encoding="utf-8")
    for n in range(3):
        (corpus / "a.txt").write_text(f"Barn owls hunt mice at night, version {n}.\n", encoding="utf-8")
        Index.build([corpus], folder, model=str(fake_model))
    assert not first.exists(), "qa's own old generations are removed"
    ours = [p for p in folder.glob("gen-*") if (p / OWNER).is_file() and (p / OWNER).read_text() == first_id(folder)]
    assert len(ours) == 2, "the current generation and the one it replaced"
    for name in ("gen-2024-photos", ".tmp-draft", ".scratch-notes"):
        assert (folder / name / "keep.txt").read_text() == "mine\n"
    assert planted_copy.is_dir(), "a generation carrying another index's mark is not this index's to delete"


def first_id(folder: Path) -> str:
    return json.loads((folder / MARKER).read_text())["id"] + "\n"


def test_an_index_from_before_markers_is_recognised_and_adopted(tmp_path: Path, corpus: Path, fake_model: Path):
    folder = tmp_path / "ix"
    Index.build([corpus], folder, model=str(fake_model))
    (corpus / "b.txt").write_text("Tawny owls call at dusk.\n", encoding="utf-8")
    Index.build([corpus], folder, model=str(fake_model))
    old = sorted(folder.glob("gen-*"))
    assert len(old) == 2
    (folder / MARKER).unlink()                      # as format 1 wrote it: no marker anywhere
    for generation in old:
        (generation / OWNER).unlink()
        manifest = json.loads((generation / "manifest.json").read_text())
        (generation / "manifest.json").write_text(json.dumps(dict(manifest, format_version=1)))
    (folder / "gen-user-album").mkdir()              # and a folder of the user's beside it
    (folder / "gen-user-album" / "photo.txt").write_text("mine\n", encoding="utf-8")
    for n in range(2):
        (corpus / "a.txt").write_text(f"Barn owls hunt voles, take {n}.\n", encoding="utf-8")
        Index.build([corpus], folder, model=str(fake_model))
    assert (folder / MARKER).is_file()
    assert not any(p.exists() for p in old), "both old generations were recognised by their manifests"
    assert (folder / "gen-user-album" / "photo.txt").read_text() == "mine\n"


def test_a_named_working_folder_is_reused_only_when_it_carries_the_mark(tmp_path: Path):
    from qa.store.ownership import claim, reuse_or_make_owned_folder

    folder = tmp_path / "ix"
    index_id = claim(folder)
    made = reuse_or_make_owned_folder(folder, ".scratch-checkpoint", index_id)
    (made / "part.npy").write_bytes(b"embedded so far")
    assert reuse_or_make_owned_folder(folder, ".scratch-checkpoint", index_id) == made
    assert (made / "part.npy").read_bytes() == b"embedded so far"
    (folder / ".scratch-mine").mkdir()
    (folder / ".scratch-mine" / "notes.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not made by qa"):
        reuse_or_make_owned_folder(folder, ".scratch-mine", index_id)
    assert snapshot(folder / ".scratch-mine") == {"notes.txt": b"mine\n"}
