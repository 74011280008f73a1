"""The manifest's fields one by one (qa/store/manifest.py): defaults an older or smaller manifest leaves out,
the JSON shape other tools read, each field's type check, and the digest on both read paths.

Written for the mutation run (tests/README.md, "Mutation testing"): the round-trip test passes when a
field is dropped from both `to_json` and `from_json`, and the refusal tests only asked for *a* ManifestError.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from qa.config import FORMAT_VERSION, IndexSettings
from qa.store.manifest import (MANIFEST, MANIFEST_DIGEST, FileRecord, FormatMismatch, Manifest, ManifestError,
                               ModelRecord)


def full() -> Manifest:
    return Manifest(root="/docs", paths=("/docs/a", "/docs/b"), settings=IndexSettings(max_tokens=120, overlap=1),
                    passages=42, model=ModelRecord("m", 384, fingerprint="f00d", onnx=True, quantization="int8"),
                    dense={"kind": "ivf", "lists": 16}, files=(FileRecord("a.txt", 10, "ab" * 32, 3),),
                    skipped=("b.bin",), follow_links=True, bm25={"k1": 1.5, "b": 0.75, "epsilon": 0.25},
                    checksums={"z.npy": {"size": 8, "crc32": 1}, "a.npy": {"size": 4, "crc32": 2}},
                    created="2026-12-04T22:00:00Z", splitter_version=4)


def minimal_raw() -> dict:
    """What every manifest must hold; everything else has a default."""
    return {"format_version": FORMAT_VERSION, "root": "/docs", "settings": {}, "passages": {"count": 3}}


def test_the_json_shape_other_readers_rely_on():
    data = json.loads(full().to_json())
    assert data["passages"] == {"count": 42}
    assert data["settings"] == IndexSettings(max_tokens=120, overlap=1).as_dict()
    assert data["paths"] == ["/docs/a", "/docs/b"] and data["skipped"] == ["b.bin"]
    assert data["files"] == [{"path": "a.txt", "size": 10, "sha256": "ab" * 32, "passages": 3}]
    assert list(data["checksums"]) == ["a.npy", "z.npy"], "checksums are written in name order"
    assert data["model"]["onnx"] is True and data["model"]["quantization"] == "int8"
    assert data["follow_links"] is True and data["splitter_version"] == 4
    assert data["format_version"] == FORMAT_VERSION
    text = full().to_json().decode()
    assert text.startswith('{\n  "root"'), "indented, readable JSON"
    assert "é" in Manifest(root="/dé", paths=(), settings=IndexSettings(), passages=0).to_json().decode(), \
        "non-ASCII paths are written as they are"


def test_every_field_survives_the_round_trip():
    manifest = full()
    again = Manifest.from_json(manifest.to_json())
    for name in Manifest.__dataclass_fields__:
        assert getattr(again, name) == getattr(manifest, name), name


def test_what_a_manifest_may_leave_out_has_its_default():
    manifest = Manifest.from_json(json.dumps(minimal_raw()).encode())
    assert manifest.passages == 3 and manifest.root == "/docs"
    assert manifest.model is None and manifest.paths == () and manifest.files == () and manifest.skipped == ()
    assert manifest.dense == {"kind": "flat"} and manifest.dense_kind == "flat"
    assert manifest.follow_links is False and manifest.bm25 == {} and manifest.checksums == {}
    assert manifest.created == "" and manifest.splitter_version == 0
    assert manifest.settings == IndexSettings()
    # "dense": null reads as flat too.
    assert Manifest.from_json(json.dumps({**minimal_raw(), "dense": None}).encode()).dense == {"kind": "flat"}


def test_the_dense_kind_reads_older_names():
    def kind(dense: dict) -> str:
        return Manifest(root="/", paths=(), settings=IndexSettings(), passages=0, dense=dense).dense_kind

    assert kind({"kind": "exact"}) == "flat"      # what older builds called the flat index
    assert kind({"kind": "flat"}) == "flat"
    assert kind({"kind": "ivfpq", "lists": 4}) == "ivfpq"
    assert kind({}) == "flat"


def test_with_checksums_replaces_only_the_checksums():
    manifest = full()
    sums = {"x.npy": {"size": 1, "crc32": 9}}
    changed = manifest.with_checksums(sums)
    assert changed.checksums == sums and changed.passages == manifest.passages and changed.root == manifest.root
    sums["y.npy"] = {"size": 2, "crc32": 3}
    assert "y.npy" not in changed.checksums, "the record keeps its own copy"


@pytest.mark.parametrize("field, value", [
    ("onnx", "yes"), ("dimension", True), ("dimension", "384"), ("name", 5), ("quantization", None),
    ("fingerprint", 7),
])
def test_each_model_field_is_type_checked(field: str, value: object):
    raw = {**minimal_raw(), "model": {"name": "m", "dimension": 384, field: value}}
    with pytest.raises(ManifestError, match="fields"):
        Manifest.from_json(json.dumps(raw).encode())


def test_a_model_without_a_fingerprint_is_read():
    raw = {**minimal_raw(), "model": {"name": "m", "dimension": 384}}
    assert Manifest.from_json(json.dumps(raw).encode()).model == ModelRecord("m", 384)


@pytest.mark.parametrize("change", [
    {"checksums": {"a.npy": {"crc32": 1}}},               # no size
    {"checksums": {"a.npy": {"size": True}}},             # a bool is not a size
    {"checksums": {"a.npy": {"size": 1, "crc32": 1.5}}},
    {"checksums": {"a.npy": [1, 2]}},
    {"skipped": [3]},
    {"paths": [None]},
    {"splitter_version": "4"},
    {"splitter_version": False},
    {"bm25": [1.2]},
    {"dense": "flat"},
    {"files": ["a.txt"]},
    {"passages": {"count": "3"}},
    {"settings": {"bm25_terms": "porter"}},
])
def test_each_field_of_the_wrong_type_is_refused(change: dict):
    with pytest.raises(ManifestError, match="fields"):
        Manifest.from_json(json.dumps({**minimal_raw(), **change}).encode())


def test_a_manifest_without_a_format_version_is_a_format_mismatch():
    raw = minimal_raw()
    del raw["format_version"]
    with pytest.raises(FormatMismatch) as raised:
        Manifest.from_json(json.dumps(raw).encode())
    assert raised.value.version is None
    assert str(raised.value) == "format None"


def test_the_reasons_are_short_and_say_what_is_wrong():
    with pytest.raises(ManifestError) as raised:
        Manifest.from_json(b"{")
    assert str(raised.value).startswith("not JSON (") and "\n" not in str(raised.value)
    with pytest.raises(ManifestError) as raised:
        Manifest.from_json(b"[1]")
    assert str(raised.value) == "not a JSON object"
    with pytest.raises(ManifestError) as raised:
        Manifest.from_json(json.dumps({**minimal_raw(), "root": 7}).encode())
    assert str(raised.value) == "fields (TypeError: expected str, found int)"


def write_raw(folder: Path, data: bytes, digest: str | None = None) -> None:
    (folder / MANIFEST).write_bytes(data)
    (folder / MANIFEST_DIGEST).write_text((digest or hashlib.sha256(data).hexdigest()) + "\n", encoding="utf-8")


def test_write_then_read_and_the_digest_file_is_the_sha256_of_the_bytes(tmp_path: Path):
    manifest = full()
    manifest.write(tmp_path)
    data = (tmp_path / MANIFEST).read_bytes()
    assert data == manifest.to_json()
    assert (tmp_path / MANIFEST_DIGEST).read_text(encoding="utf-8") == hashlib.sha256(data).hexdigest() + "\n"
    assert Manifest.read(tmp_path) == manifest
    assert Manifest.recorded_paths(tmp_path) == ("/docs/a", "/docs/b")


def test_recorded_paths_checks_the_digest_and_the_paths(tmp_path: Path):
    data = full().to_json()
    write_raw(tmp_path, data, digest="0" * 64)
    with pytest.raises(ManifestError, match="does not match"):
        Manifest.recorded_paths(tmp_path)
    for broken in (b"\xff", b"[]", b'{"paths": "/docs"}', b'{"paths": [1]}', b'{"root": "/docs"}'):
        write_raw(tmp_path, broken)
        with pytest.raises(ManifestError, match="no paths"):
            Manifest.recorded_paths(tmp_path)
    for broken, reason in ((b"\xff", "UnicodeDecodeError"), (b'{"root": "/docs"}', "KeyError"), (b"{", "JSONDecodeError")):
        write_raw(tmp_path, broken)
        with pytest.raises(ManifestError) as raised:
            Manifest.recorded_paths(tmp_path)
        assert str(raised.value) == f"no paths ({reason})"
    write_raw(tmp_path, data, digest="0" * 64)
    with pytest.raises(ManifestError) as raised:
        Manifest.recorded_paths(tmp_path)
    assert str(raised.value) == "manifest.json does not match manifest.sha256"
    write_raw(tmp_path, b'{"paths": []}')
    assert Manifest.recorded_paths(tmp_path) == ()
