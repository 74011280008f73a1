"""What `qa index` indexes: the paths recorded in the index, the paths named, or both; checked before reading."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qa import config
from qa.errors import UsageError
from qa.store.manifest import Manifest, ManifestError


@dataclass(frozen=True)
class BuildPlan:
    """The paths a build covers, and what it changes about the indexed set."""

    paths: list[Path]
    #: Paths the index covered that this build drops, and the ones it brings in instead
    #: (both empty when the set is unchanged, extended with --add, or there was no index).
    dropped: tuple[str, ...] = ()
    replaced_by: tuple[str, ...] = ()

    def replacement(self) -> str | None:
        """One sentence saying which indexed paths were replaced, or None."""
        if not self.dropped:
            return None
        return (f"Paths replaced: {', '.join(map(_shown, self.dropped))} dropped, now "
                f"{', '.join(map(_shown, self.replaced_by)) or 'nothing new'} (to add a path instead: qa index --add PATH).")


def recorded_paths(index_dir: Path) -> list[str] | None:
    """The absolute paths the current index was built from; None when there is no index."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_text(encoding="utf-8").strip()
        if not name.startswith("gen-") or "/" in name:
            raise ManifestError("CURRENT names no generation")
        return list(Manifest.recorded_paths(index_dir / name))
    except (OSError, UnicodeDecodeError, ManifestError):
        raise UsageError(f"The index at {index_dir} does not say which paths it covers; "
                         f"name them: qa index --index {index_dir} PATH ...") from None


def plan_build(index_dir: Path, named: list[Path], added: list[Path] | None = None, model: str | None = None,
               ) -> BuildPlan:
    """The paths to index: `named` (replacing the indexed set) or else the recorded ones, plus `added`.

    With neither, and no index yet, the bundled corpus. A named or added path, or a model folder,
    that does not exist is a usage error.
    """
    added = added or []
    for path in [*named, *added]:
        if not path.exists():
            raise UsageError(f"{path} does not exist. Name a folder or file that does.")
    if model is not None and not _model_exists(model):
        raise UsageError(f"No model {model}: it is neither the bundled all-MiniLM-L6-v2 nor a local folder. "
                         "Pass --model with a local sentence-transformers folder.")
    if index_dir.exists():
        from qa.store.ownership import check

        check(index_dir)   # a folder that is not a qa index is refused before anything in it is read
    recorded = recorded_paths(index_dir)
    if not named and not added:
        return BuildPlan([Path(p) for p in recorded] if recorded else [config.DEFAULT_CORPUS])
    base = [Path(p) for p in named] if named else [Path(p) for p in recorded or []]
    paths = _unique([*base, *added])
    chosen = {os.path.abspath(p) for p in paths}
    dropped = tuple(p for p in recorded or [] if p not in chosen)
    instead = tuple(os.path.abspath(p) for p in paths if os.path.abspath(p) not in set(recorded or []))
    return BuildPlan(paths, dropped, instead if dropped else ())


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[str] = set()
    kept = []
    for path in paths:
        if os.path.abspath(path) not in seen:
            seen.add(os.path.abspath(path))
            kept.append(path)
    return kept


def _model_exists(model: str) -> bool:
    from qa.model.embedder import BUNDLED_NAMES

    return model in BUNDLED_NAMES or Path(model).expanduser().is_dir()


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path
