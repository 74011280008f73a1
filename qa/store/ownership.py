"""Which folders qa made: it writes only into its own index folders and deletes only what carries its mark.

An index folder holds a marker file, `.qa-index`, with the index's identity (a random id). Every folder
a build creates in it (`.tmp-*`, `.scratch-*`, and the `gen-*` a temporary folder becomes) holds a
`.qa-owner` file with the same id, written as soon as the folder exists. Cleaning up removes a folder
only when its `.qa-owner` names this index; anything else is left where it is, whatever its name.

A folder is an index folder when it has the marker, or is new or empty (qa marks it), or is an index of
format 1 written before markers existed (its CURRENT names a `gen-*` folder with a qa manifest: qa marks
it and its generations that hold a qa manifest). Any other non-empty folder is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from pathlib import Path

from qa.errors import UsageError

MARKER = ".qa-index"
OWNER = ".qa-owner"
LOCK = ".lock"
_KIND = "qa index folder"


def identity(index_dir: Path) -> str | None:
    """The id in the folder's marker, or None when it has no valid marker."""
    try:
        data = json.loads((index_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("kind") == _KIND and isinstance(data.get("id"), str) and data["id"]:
        return data["id"]
    return None


def check(index_dir: Path) -> list[Path]:
    """Create `index_dir` if needed; raise UsageError unless qa may write into it (touching nothing then).

    Returns the generations of an unmarked format-1 index found there (to be marked by `claim`).
    """
    if identity(index_dir):
        return []
    if index_dir.exists() and not index_dir.is_dir():
        raise UsageError(f"{index_dir} is a file, not an index folder. Use a new folder: "
                         f"qa index --index {_fresh_name(index_dir)} [PATH ...]")
    index_dir.mkdir(parents=True, exist_ok=True)
    # `.lock` is the one file a build creates before it marks a new folder (see store.BuildLock): a
    # regular file of that name is qa's; a link (or anything else) named `.lock` is not, and qa never follows it.
    entries = [p for p in index_dir.iterdir() if not (p.name == LOCK and _regular_file(p))]
    old_generations = _format_1_generations(index_dir) if entries else []
    if entries and not old_generations:
        raise UsageError(
            f"{index_dir} is not a qa index and is not empty; qa writes only into its own index folders. "
            f"Use a new folder: qa index --index {_fresh_name(index_dir)} [PATH ...]"
        )
    return old_generations


def claim(index_dir: Path) -> str:
    """The index folder's id, marking the folder first when `check` allows it (call with the build lock held)."""
    found = identity(index_dir)
    if found:
        return found
    old_generations = check(index_dir)
    new_id = uuid.uuid4().hex
    _write_atomically(index_dir / MARKER, json.dumps({"kind": _KIND, "id": new_id}) + "\n")
    for generation in old_generations:
        _write_atomically(generation / OWNER, new_id + "\n")
    return new_id


def make_owned_folder(index_dir: Path, prefix: str, index_id: str) -> Path:
    """A new folder `index_dir/<prefix><random>` carrying this index's mark (never an existing one)."""
    while True:
        folder = index_dir / f"{prefix}{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        _mark(folder, index_id)
        return folder


def reuse_or_make_owned_folder(index_dir: Path, name: str, index_id: str) -> Path:
    """`index_dir/name` for a build to resume from: reused if it carries this index's mark, else made and
    marked. A folder of that name without the mark is someone else's: UsageError, nothing touched."""
    folder = index_dir / name
    if owned(folder, index_id):
        return folder
    try:
        folder.mkdir()
    except FileExistsError:
        raise UsageError(f"{folder} was not made by qa; move it out of the index folder, then run this again.") from None
    _mark(folder, index_id)
    return folder


def _mark(folder: Path, index_id: str) -> None:
    """Write the owner file into a folder just made; if that fails (a full disk), the unmarked folder,
    which nothing would ever delete, goes too."""
    try:
        (folder / OWNER).write_text(index_id + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def owned(folder: Path, index_id: str) -> bool:
    """Whether `folder` is a real folder (not a link) carrying this index's mark."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        return (folder / OWNER).read_text(encoding="utf-8").strip() == index_id
    except (OSError, UnicodeDecodeError):
        return False


def remove_owned(folder: Path, index_id: str) -> None:
    """Delete `folder` and its contents if it carries this index's mark; otherwise leave it alone."""
    if owned(folder, index_id):
        shutil.rmtree(folder, ignore_errors=True)


def _format_1_generations(index_dir: Path) -> list[Path]:
    """The generations of an index written before markers: empty unless CURRENT names one with a qa manifest."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return []
    if not name.startswith("gen-") or "/" in name or not _has_qa_manifest(index_dir / name):
        return []
    return [p for p in index_dir.iterdir() if p.name.startswith("gen-") and _has_qa_manifest(p)]


def _has_qa_manifest(folder: Path) -> bool:
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(manifest, dict) and isinstance(manifest.get("format_version"), int)
            and isinstance(manifest.get("checksums"), dict) and isinstance(manifest.get("settings"), dict))


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _fresh_name(index_dir: Path) -> Path:
    """A folder name beside `index_dir` that does not exist yet (for the root folder, one in the working folder)."""
    base = Path(os.path.abspath(index_dir))
    folder, stem = (base.parent, f"{base.name}-qa-index") if base.name else (Path.cwd(), "qa-index")
    candidate = folder / stem
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}"
        number += 1
    try:
        return candidate.relative_to(Path.cwd())
    except ValueError:
        return candidate


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
