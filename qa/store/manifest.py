"""The manifest: one record of what a generation of an index holds, owning its JSON form, its digest and
its validation. The build writes it; everything that reads an index reads it through `Manifest.read`.

On disk it is `manifest.json` (plain JSON, format `FORMAT_VERSION`) beside `manifest.sha256`, the SHA-256
of those exact bytes: a manifest that does not match its digest, or whose fields are not what this
record says, is refused (`ManifestError`, which the store turns into "the index is damaged").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qa.config import FORMAT_VERSION, READ_FORMATS, IndexSettings
from qa.errors import ManifestError, FormatMismatch  # noqa: F401 - defined with the other errors

MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
#: BM25 term schemes an index may record (qa.search.bm25.SCHEMES; repeated here so reading a manifest
#: imports no numpy).
BM25_SCHEMES = ("plain", "stem", "stem-stop", "code")
#: Passage settings that were measured, rejected and removed: an index that recorded them off reads as before.
_REMOVED_SETTINGS = ("heading_context", "bm25_context")


@dataclass(frozen=True)
class ModelRecord:
    """The model the vectors were made with."""

    name: str
    dimension: int
    fingerprint: str | None = None
    onnx: bool = False                    # the generation holds the model's ONNX export
    quantization: str = "none"
    sentence_vectors: str = "late-chunked"


@dataclass(frozen=True)
class FileRecord:
    """One source file as it was indexed."""

    path: str
    size: int
    sha256: str
    passages: int


@dataclass(frozen=True)
class Manifest:
    """What one generation of an index holds, and how it was made."""

    root: str                              # the folder the file paths are relative to
    paths: tuple[str, ...]                 # the paths the index was built from (absolute)
    settings: IndexSettings
    passages: int
    model: ModelRecord | None = None       # None: BM25 only
    dense: dict[str, Any] = field(default_factory=lambda: {"kind": "flat"})   # kind, and an approximate one's shape
    files: tuple[FileRecord, ...] = ()
    skipped: tuple[str, ...] = ()
    follow_links: bool = False
    bm25: dict[str, float] = field(default_factory=dict)   # k1, b, epsilon
    #: Each file of the generation: {"size", "crc32"}, or {"size", "sampled_crc32"} for a large one
    #: (qa.store.generation computes and checks them).
    checksums: dict[str, dict[str, int]] = field(default_factory=dict)
    created: str = ""
    splitter_version: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def dense_kind(self) -> str:
        """The dense index kind: flat, ivf or ivfpq ("exact" is what older builds called "flat")."""
        kind = str(self.dense.get("kind", "flat"))
        return "flat" if kind == "exact" else kind

    def with_checksums(self, checksums: dict[str, dict[str, int]]) -> Manifest:
        return replace(self, checksums=dict(checksums))

    # --- the JSON form ---------------------------------------------------------------------------------

    def to_json(self) -> bytes:
        # Field by field (dataclasses.asdict deep-copies every file record: 1 s for 1,000 files under load).
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["passages"] = {"count": self.passages}
        data["settings"] = self.settings.as_dict()
        data["model"] = None if self.model is None else asdict(self.model)
        data["dense"], data["bm25"] = dict(self.dense), dict(self.bm25)
        data["paths"], data["skipped"] = list(self.paths), list(self.skipped)
        data["files"] = [{"path": f.path, "size": f.size, "sha256": f.sha256, "passages": f.passages} for f in self.files]
        data["checksums"] = {name: dict(c) for name, c in sorted(self.checksums.items())}
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """The manifest in `data` (raises ManifestError saying what is wrong)."""
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ManifestError(f"not JSON ({str(error).splitlines()[0][:80]})") from None
        if not isinstance(raw, dict):
            raise ManifestError("not a JSON object")
        if raw.get("format_version") not in READ_FORMATS:
            raise FormatMismatch(raw.get("format_version"))
        try:
            return cls._parse(raw)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ManifestError(f"fields ({type(error).__name__}: {str(error)[:80]})") from None

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> Manifest:
        recorded = dict(_typed(raw["settings"], dict))
        for name in _REMOVED_SETTINGS:
            if recorded.get(name) is False and name not in IndexSettings.__dataclass_fields__:
                del recorded[name]
        settings = IndexSettings(**recorded)
        if settings.bm25_terms not in BM25_SCHEMES:
            raise ValueError(f"unknown BM25 terms {settings.bm25_terms!r}")
        model = raw.get("model")
        checksums = {}
        for name, entry in _typed(raw.get("checksums", {}), dict).items():
            checksums[_typed(name, str)] = {_typed(k, str): _typed(v, int) for k, v in _typed(entry, dict).items()}
            _typed(checksums[name]["size"], int)
        return cls(
            root=_typed(raw["root"], str),
            paths=tuple(_typed(p, str) for p in _typed(raw.get("paths", []), list)),
            settings=settings,
            passages=_typed(_typed(raw["passages"], dict)["count"], int),
            model=None if model is None else _model(_typed(model, dict)),
            dense=dict(_typed(raw.get("dense") or {"kind": "flat"}, dict)),
            files=tuple(FileRecord(**_typed(f, dict)) for f in _typed(raw.get("files", []), list)),
            skipped=tuple(_typed(p, str) for p in _typed(raw.get("skipped", []), list)),
            follow_links=bool(raw.get("follow_links", False)),
            bm25=dict(_typed(raw.get("bm25", {}), dict)),
            checksums=checksums,
            created=str(raw.get("created", "")),
            splitter_version=_typed(raw.get("splitter_version", 0), int),
            format_version=_typed(raw["format_version"], int),
        )

    # --- on disk -----------------------------------------------------------------------------------------

    def write(self, folder: Path) -> None:
        """Write `manifest.json` and its digest into `folder`."""
        data = self.to_json()
        (folder / MANIFEST).write_bytes(data)
        (folder / MANIFEST_DIGEST).write_text(hashlib.sha256(data).hexdigest() + "\n", encoding="utf-8")

    @staticmethod
    def recorded_paths(folder: Path) -> tuple[str, ...]:
        """The paths a generation was built from, read from a manifest of any format version (so an index
        of an older format can be rebuilt from the same paths); raises ManifestError or OSError."""
        data = (folder / MANIFEST).read_bytes()
        if hashlib.sha256(data).hexdigest() != (folder / MANIFEST_DIGEST).read_text(encoding="utf-8").strip():
            raise ManifestError(f"{MANIFEST} does not match {MANIFEST_DIGEST}")
        try:
            paths = json.loads(data.decode("utf-8"))["paths"]
            return tuple(_typed(p, str) for p in _typed(paths, list))
        except (UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError) as error:
            raise ManifestError(f"no paths ({type(error).__name__})") from None

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest of the generation in `folder`, checked against its digest (raises ManifestError;
        OSError when the files cannot be read)."""
        data = (folder / MANIFEST).read_bytes()
        digest = (folder / MANIFEST_DIGEST).read_text(encoding="utf-8").strip()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ManifestError(f"{MANIFEST} does not match {MANIFEST_DIGEST}")
        return cls.from_json(data)


def _model(raw: dict[str, Any]) -> ModelRecord:
    model = ModelRecord(**raw)
    _typed(model.name, str), _typed(model.dimension, int), _typed(model.onnx, bool), _typed(model.quantization, str)
    if model.fingerprint is not None:
        _typed(model.fingerprint, str)
    return model


def _typed(value: Any, kind: type) -> Any:
    """`value`, if it is a `kind` (bool is not an int here); else TypeError."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, found {type(value).__name__}")
    return value
