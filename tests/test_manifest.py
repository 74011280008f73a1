"""The manifest record (qa/store/manifest.py): its JSON round-trips, and anything else is refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.config import FORMAT_VERSION, READ_FORMATS, IndexSettings
from qa.store.manifest import FileRecord, FormatMismatch, Manifest, ManifestError, ModelRecord

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
manifests = st.builds(
    Manifest,
    root=text,
    paths=st.lists(text, max_size=3).map(tuple),
    settings=st.builds(IndexSettings, max_tokens=st.integers(1, 254), overlap=st.integers(0, 5),
                       bm25_terms=st.sampled_from(["plain", "code"])),
    passages=st.integers(0, 10**9),
    model=st.none() | st.builds(ModelRecord, name=text, dimension=st.integers(1, 4096),
                                fingerprint=st.none() | text, onnx=st.booleans()),
    dense=st.sampled_from([{"kind": "flat"}, {"kind": "ivfpq", "lists": 4000, "nprobe": 32, "pq": [48, 8], "refine": 8}]),
    files=st.lists(st.builds(FileRecord, path=text, size=st.integers(0, 10**12), sha256=text,
                             passages=st.integers(0, 10**6)), max_size=3).map(tuple),
    skipped=st.lists(text, max_size=3).map(tuple),
    follow_links=st.booleans(),
    checksums=st.dictionaries(text, st.fixed_dictionaries({"size": st.integers(0, 2**40), "crc32": st.integers(0, 2**32 - 1)}),
                              max_size=3),
    created=text,
    splitter_version=st.integers(0, 9),
)


@settings(max_examples=200, deadline=None)
@given(manifests)
def test_the_json_form_round_trips(manifest: Manifest):
    assert Manifest.from_json(manifest.to_json()) == manifest


def test_read_checks_the_digest(tmp_path: Path):
    manifest = Manifest(root="/docs", paths=("/docs",), settings=IndexSettings(), passages=3)
    manifest.write(tmp_path)
    assert Manifest.read(tmp_path) == manifest
    data = (tmp_path / "manifest.json").read_bytes()
    (tmp_path / "manifest.json").write_bytes(data.replace(b'"count": 3', b'"count": 4'))
    with pytest.raises(ManifestError, match="does not match manifest.sha256"):
        Manifest.read(tmp_path)


def _raw() -> dict:
    return json.loads(Manifest(root="/docs", paths=("/docs",), settings=IndexSettings(), passages=3,
                               model=ModelRecord("m", 384)).to_json())


@pytest.mark.parametrize("change", [
    lambda m: m.update(root=7),
    lambda m: m.update(passages={"count": True}),                 # a bool is not a count
    lambda m: m.update(passages=[]),
    lambda m: m.update(settings={"max_tokens": 200, "bm25_terms": "unknown"}),
    lambda m: m.update(settings={"no_such_setting": 1}),
    lambda m: m.update(model={"name": "m"}),                        # no dimension
    lambda m: m.update(paths="/docs"),
    lambda m: m.update(checksums={"vectors.npy": {"size": "12"}}),
    lambda m: m.update(files=[{"path": "a.txt"}]),
    lambda m: m.pop("root"),
])
def test_fields_that_are_not_what_the_record_says_are_refused(change):
    raw = _raw()
    change(raw)
    with pytest.raises(ManifestError):
        Manifest.from_json(json.dumps(raw).encode())


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"[]", b'"manifest"', b"{" * 100_000, b'{"a":' + b"[" * 100_000])
def test_what_is_not_a_manifest_at_all(data: bytes):
    with pytest.raises(ManifestError):
        Manifest.from_json(data)


def test_another_format_is_told_apart_from_damage():
    raw = _raw()
    raw["format_version"] = min(READ_FORMATS) - 1
    with pytest.raises(FormatMismatch) as raised:
        Manifest.from_json(json.dumps(raw).encode())
    assert raised.value.version == min(READ_FORMATS) - 1


def test_the_format_before_is_still_read():
    """Format 3 differs only in files a reader tells apart (float16 sentence vectors, the model copied)."""
    raw = _raw()
    raw["format_version"] = FORMAT_VERSION - 1
    assert Manifest.from_json(json.dumps(raw).encode()).format_version == FORMAT_VERSION - 1


def test_the_paths_are_read_from_a_manifest_of_another_format(tmp_path: Path):
    """So `qa index` with no PATH can rebuild an index of an older format from the paths it covered."""
    raw = _raw()
    raw["format_version"] = 1
    data = json.dumps(raw).encode()
    (tmp_path / "manifest.json").write_bytes(data)
    (tmp_path / "manifest.sha256").write_text(__import__("hashlib").sha256(data).hexdigest())
    assert Manifest.recorded_paths(tmp_path) == ("/docs",)
    (tmp_path / "manifest.json").write_bytes(data.replace(b"/docs", b"/evil"))
    with pytest.raises(ManifestError):
        Manifest.recorded_paths(tmp_path)


def test_settings_measured_and_removed_read_as_before_when_they_were_off():
    """heading_context and bm25_context were options (off by default) until they were removed: an index
    that recorded them off is read with today's settings, not refused as damaged."""
    raw = _raw()
    raw["settings"].update(heading_context=False, bm25_context=False)
    assert Manifest.from_json(json.dumps(raw).encode()).settings == IndexSettings()
