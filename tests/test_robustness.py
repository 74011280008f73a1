"""Indexes that never break, and bad input met with clear errors (issue: robustness)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
import zlib
from pathlib import Path

import numpy as np
import pytest

from qa import Index
from qa.query import Query
from qa.errors import IndexFormatError, QAError
from tests.conftest import REPO, SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"


def current(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def copy_index(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def assert_answers_from_seeds(index_dir: Path) -> None:
    hits = Index.open(index_dir).search(BGI, k=3, mode="bm25")
    assert hits[0].passage.file == "004_bc3bbd6dfccf26ec.txt"


# --- incremental ------------------------------------------------------------------


def test_reindexing_embeds_only_what_changed(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_ad54f42682f048e2.txt", "002_a9873de1c8ec672a.txt", "004_bc3bbd6dfccf26ec.txt"):
        shutil.copy(SEEDS / name, corpus / name)
    first = Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    assert (first.added, first.embedded) == (3, first.passages)

    again = Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    assert again.up_to_date and again.embedded == 0 and again.unchanged == 3

    (corpus / "000_ad54f42682f048e2.txt").write_text("The llama herd grazes by the lake.\n", encoding="utf-8")
    (corpus / "002_a9873de1c8ec672a.txt").unlink()
    (corpus / "new.md").write_text("# Owls\n\nBarn owls hunt mice at night.\n", encoding="utf-8")
    third = Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    assert (third.unchanged, third.changed, third.added, third.removed) == (1, 1, 1, 1)
    assert third.embedded == 2, "only the changed and the new file are embedded"

    index = Index.open(tmp_path / "ix")
    assert {f.path for f in index.stored.files} == {"000_ad54f42682f048e2.txt", "004_bc3bbd6dfccf26ec.txt", "new.md"}
    assert index.search("Which birds hunt mice?", k=1, mode="bm25")[0].passage.file == "new.md"
    assert index.search(BGI, k=1, mode="bm25")[0].passage.file == "004_bc3bbd6dfccf26ec.txt"
    # Reused vectors are the ones a fresh build makes.
    fresh = Index.build([corpus], tmp_path / "fresh", model=str(fake_model))
    assert fresh.embedded == fresh.passages
    np.testing.assert_allclose(np.asarray(index.stored.vectors), np.asarray(Index.open(tmp_path / "fresh").stored.vectors),
                               atol=1e-5)


def test_changed_files_are_reported_as_stale(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    assert Index.open(tmp_path / "ix").stale_files() == []
    (corpus / "001_d604fa8a18ea78d9.txt").write_text("Changed.\n", encoding="utf-8")
    (corpus / "extra.txt").write_text("A new file about owls.\n", encoding="utf-8")
    result = run_qa("ask", "owls", "--mode", "bm25", "--index", str(tmp_path / "ix"))
    assert result.returncode == 0
    warning = [line for line in result.stderr.splitlines() if "changed since the index was built" in line]
    assert len(warning) == 1
    assert "001_d604fa8a18ea78d9.txt" in warning[0] and "extra.txt" in warning[0]
    assert f"qa index --index {tmp_path / 'ix'} {corpus}" in warning[0]


# --- atomic and exclusive ---------------------------------------------------------


def slow_corpus(tmp_path: Path, copies: int = 40) -> Path:
    """Copies of the seeds in which every line differs (vectors are reused by text, so copies that shared
    passages would be embedded once)."""
    corpus = tmp_path / "slow"
    for n in range(copies):
        (corpus / f"copy{n}").mkdir(parents=True)
        for source in SEEDS.glob("*.txt"):
            text = "\n".join(f"{line} ({n})" if line.strip() else line
                             for line in source.read_text(encoding="utf-8").split("\n"))
            (corpus / f"copy{n}" / source.name).write_text(text, encoding="utf-8")
    return corpus


def start_build(corpus: Path, index_dir: Path, model: Path) -> subprocess.Popen[str]:
    # Ctrl-C as at a terminal: a run started in the background (`cmd &`, nohup, some CI runners) ignores
    # SIGINT, every process it starts inherits that, and the build would finish as if never interrupted.
    return subprocess.Popen(
        [sys.executable, "-m", "qa.ui.cli", "index", str(corpus), "--index", str(index_dir), "--model", str(model)],
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, HF_HUB_OFFLINE="1"), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def lock_is_held(index_dir: Path) -> bool:
    try:
        with open(index_dir / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except (BlockingIOError, FileNotFoundError):
        return True


def wait_for_lock(index_dir: Path, process: subprocess.Popen[str]) -> None:
    wait_until(lambda: (index_dir / ".lock").exists() and lock_is_held(index_dir), process, "took the lock")


def embedding_started(index_dir: Path) -> bool:
    """The build's scratch space holds the model it embeds with: reading and splitting are over."""
    return any(index_dir.glob(".scratch-*/onnx/model.onnx"))


def wait_until(condition, process: subprocess.Popen[str], what: str) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"the build never {what}")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
@pytest.mark.parametrize("phase", ["reading", "embedding"])
def test_a_killed_build_leaves_the_previous_index_working(fake_seeds_index: Path, fake_model: Path, tmp_path: Path,
                                                          sig, phase):
    # Embedding with the fake model is quick: three times the copies keep it going for about 5 s after it
    # starts. On a loaded machine the build may still finish before the signal is sent: that attempt
    # tests nothing, so it is made again on a fresh copy with twice the corpus.
    copies = 120 if phase == "embedding" else 40
    for attempt in range(3):
        index_dir = copy_index(fake_seeds_index, tmp_path / f"ix{attempt}")
        before = current(index_dir)
        corpus = slow_corpus(tmp_path / f"corpus{attempt}", copies=copies)
        process = start_build(corpus, index_dir, fake_model)
        wait_for_lock(index_dir, process)
        if phase == "embedding":
            wait_until(lambda: embedding_started(index_dir), process, "started embedding")
        if process.poll() is None:
            break
        process.communicate()
        copies *= 2
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, f"the build ignored the signal: {stdout[-300:]!r} {stderr[-600:]!r}"
    if sig == signal.SIGINT:
        assert process.returncode == 130 and "Traceback" not in stderr
    assert current(index_dir) == before
    assert_answers_from_seeds(index_dir)
    if phase == "embedding" and sig == signal.SIGKILL:
        assert list(index_dir.glob(".scratch-*")), "killed while embedding: its scratch space is left behind"
    # The next build cleans up whatever the killed one left and succeeds.
    rebuilt = Index.build([SEEDS], index_dir, model=str(fake_model))
    assert rebuilt.passages > 0
    assert not list(index_dir.glob(".tmp-*")) and not list(index_dir.glob(".scratch-*"))
    assert len(list(index_dir.glob("gen-*"))) <= 2, "the current generation and the one it replaced"


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler, as in a terminal: a suite started in the background (`make test &`)
    inherits SIGINT ignored, and Python then installs no handler."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("where", ["importing fails", "loading fails", "loading returns", "exporting fails"])
def test_ctrl_c_while_the_model_loads_stops_the_build_even_if_the_library_swallows_it(
        fake_seeds_index: Path, fake_model: Path, tmp_path: Path, monkeypatch, python_sigint, where):
    """onnxruntime, interrupted while loading a model, once raised "initialization failed" instead of
    KeyboardInterrupt; the build took that for a broken model and wrote a BM25-only index over the user's
    (the killed-build test above caught it now and then). Here a library that swallows the interrupt, by an
    error or by returning as if nothing happened, every time. Importing onnxruntime swallows it too: its
    module init (pybind11) turns the KeyboardInterrupt into ImportError("initialization failed")."""
    import qa.ingest.model_export
    import qa.model.onnx

    def swallowing(*args: object, **keywords: object) -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)           # the handler runs here and raises KeyboardInterrupt
        except KeyboardInterrupt:
            if where != "loading returns":
                raise RuntimeError("initialization failed") from None

    if where == "exporting fails":      # a new index: nothing to reuse, the model is exported
        index_dir, before = tmp_path / "new", None
        monkeypatch.setattr(qa.ingest.model_export, "write_export", swallowing)
    else:
        index_dir = copy_index(fake_seeds_index, tmp_path / "ix")
        before = current(index_dir)
        if where == "importing fails":
            class Importing(types.ModuleType):
                def __getattr__(self, name: str) -> object:
                    swallowing()
                    raise ImportError("initialization failed")

            monkeypatch.setitem(sys.modules, "qa.model.onnx", Importing("qa.model.onnx"))
        else:
            monkeypatch.setattr(qa.model.onnx, "OnnxEmbedder", swallowing)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "owls.txt").write_text("Barn owls hunt mice at night over open fields.\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        Index.build([corpus], index_dir, model=str(fake_model))
    if before is None:
        assert not list(index_dir.glob("gen-*")), "no index written"
    else:
        assert current(index_dir) == before
        assert_answers_from_seeds(index_dir)


def test_an_application_handling_ctrl_c_itself_keeps_its_handler_and_its_errors():
    """Inside an application whose SIGINT handler does not raise (a graceful stop), `interrupts_kept` turns
    nothing into KeyboardInterrupt, and the application's handler is back afterwards."""
    from qa.model.embedder import interrupts_kept

    stops: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stops.append(signum))
    try:
        with pytest.raises(RuntimeError, match="a damaged model"):
            with interrupts_kept():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.5)
                raise RuntimeError("a damaged model")
        assert stops == [signal.SIGINT]
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        assert stops == [signal.SIGINT, signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_build_failing_just_before_the_swap_changes_nothing(seeds_index: Path, tmp_path: Path, monkeypatch):
    index_dir = copy_index(seeds_index, tmp_path / "ix")
    before = current(index_dir)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Barn owls hunt mice at night.\n", encoding="utf-8")

    # The fault is injected at the last step before the swap: the complete generation's rename into place.
    # (It patched os.replace, and died at the first checkpoint write, long before the swap.)
    real_rename = os.rename
    reached = []

    def crash(source, target, *args, **kwargs):
        if Path(source).name.startswith(".tmp-"):
            reached.append(source)
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(QAError, match="the index is as it was"):
        Index.build([corpus], index_dir)
    monkeypatch.undo()
    assert reached, "the build reached the swap"
    assert current(index_dir) == before
    assert not list(index_dir.glob(".tmp-*"))
    assert_answers_from_seeds(index_dir)


def test_two_builds_at_once_never_mix(fake_seeds_index: Path, fake_model: Path, tmp_path: Path):
    index_dir = copy_index(fake_seeds_index, tmp_path / "ix")
    first = start_build(slow_corpus(tmp_path), index_dir, fake_model)
    wait_for_lock(index_dir, first)
    first.send_signal(signal.SIGSTOP)             # holds the lock, however fast the machine is
    try:
        second = run_qa("index", str(SEEDS), "--index", str(index_dir), "--model", str(fake_model))
        assert second.returncode == 1
        assert "Another qa index is building" in second.stderr and len(second.stderr.splitlines()) == 1
        assert_answers_from_seeds(index_dir)          # readers are never blocked
    finally:
        first.send_signal(signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    index = Index.open(index_dir)
    assert {f.path.split("/")[0] for f in index.stored.files} == {f"copy{n}" for n in range(40)}
    assert index.size == len(np.asarray(index.stored.vectors))


# --- checked on open ----------------------------------------------------------------


def rewrite_manifest(folder: Path, change, digest: bool = True) -> None:
    """Change the manifest; `digest`: as qa would write it (its SHA-256 updated), else as damage would."""
    import hashlib

    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    if digest:
        (folder / "manifest.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "\n")


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0x40
    path.write_bytes(bytes(data))


DAMAGE = {
    "vectors truncated": lambda g: truncate(g / "vectors.npy"),
    "vectors flipped byte": lambda g: flip_a_byte(g / "vectors.npy"),
    "model flipped byte": lambda g: flip_a_byte(g / "model.onnx"),
    "tokenizer truncated": lambda g: truncate(g / "tokenizer.json"),
    "passages garbage": lambda g: (g / "passages.sqlite").write_bytes(b"garbage" * 1000),
    "passages flipped byte": lambda g: flip_a_byte(g / "passages.sqlite"),
    "bm25 missing": lambda g: (g / "bm25.rows.npy").unlink(),
    "bm25 terms truncated": lambda g: truncate(g / "bm25.terms.json"),
    "manifest not json": lambda g: (g / "manifest.json").write_text("{not json"),
    "manifest truncated": lambda g: truncate(g / "manifest.json"),
    "manifest empty": lambda g: (g / "manifest.json").write_text(""),
    "newer format": lambda g: rewrite_manifest(g, lambda m: m.update(format_version=99)),
    "manifest fields": lambda g: rewrite_manifest(g, lambda m: m.pop("passages")),
    "unknown settings": lambda g: rewrite_manifest(g, lambda m: m["settings"].update(colour="blue")),
    "manifest edited": lambda g: rewrite_manifest(g, lambda m: m["bm25"].update(k1=9.0), digest=False),
    "CURRENT names nothing": lambda g: (g.parent / "CURRENT").write_text("gen-missing\n"),
    "CURRENT escapes": lambda g: (g.parent / "CURRENT").write_text("../../etc\n"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_index_is_reported_with_how_to_rebuild(seeds_index: Path, tmp_path: Path, damage):
    index_dir = copy_index(seeds_index, tmp_path / "ix")
    DAMAGE[damage](current(index_dir))
    with pytest.raises(IndexFormatError) as error:
        Index.open(index_dir).search(BGI, mode="hybrid")
    assert "qa index" in str(error.value) and "\n" not in str(error.value)
    result = run_qa("ask", BGI, "--index", str(index_dir))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "qa index" in result.stderr


def test_an_index_built_with_other_settings_says_how_to_rebuild(seeds_index: Path, tmp_path: Path):
    index_dir = copy_index(seeds_index, tmp_path / "ix")
    rewrite_manifest(current(index_dir), lambda m: m["settings"].update(max_tokens=64))
    Index.open(index_dir)                                   # the API takes the index as built
    result = run_qa("ask", BGI, "--index", str(index_dir))  # the CLI expects this qa's settings
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "other settings (max_tokens 64)" in result.stderr and "qa index" in result.stderr


def test_an_index_built_with_another_model_says_how_to_rebuild(seeds_index: Path):
    with pytest.raises(IndexFormatError, match="built with model all-MiniLM-L6-v2, not other-model.*qa index"):
        Index.open(seeds_index, model="other-model")
    result = run_qa("ask", BGI, "--index", str(seeds_index), env={"QA_MODEL": "other-model"})
    assert result.returncode == 1 and "--model other-model" in result.stderr


class Payload:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.mark.parametrize("name", ["vectors.npy", "bm25.rows.npy", "bm25.weights.npy", "bm25.indptr.npy"])
def test_a_planted_pickle_is_refused_not_executed(seeds_index: Path, tmp_path: Path, name):
    index_dir = copy_index(seeds_index, tmp_path / "ix")
    folder = current(index_dir)
    marker = tmp_path / "marker"
    np.save(folder / name, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    data = (folder / name).read_bytes()
    assert b"pickle" in data or b"\x80" in data      # it really is a pickle
    # A careful attacker fixes the checksum too, so only the loader stands in the way.
    rewrite_manifest(folder, lambda m: m["checksums"].update({name: {"size": len(data), "crc32": zlib.crc32(data)}}))
    with pytest.raises(IndexFormatError):
        Index.open(index_dir)
    result = run_qa("ask", BGI, "--index", str(index_dir))
    assert result.returncode == 1 and "damaged" in result.stderr
    assert not marker.exists(), "the pickle ran"


def test_nothing_in_the_package_unpickles():
    modules = sorted((REPO / "qa").rglob("*.py"))
    assert {"qa/sources/pdf.py", "qa/store/generation.py"} <= {p.relative_to(REPO).as_posix() for p in modules}
    for module in modules:
        source = module.read_text(encoding="utf-8")
        for forbidden in ("import pickle", "from pickle", "joblib", "torch.load", "allow_pickle=True", "pickle.load"):
            assert forbidden not in source, f"{module.relative_to(REPO)}: {forbidden}"


# --- bad documents --------------------------------------------------------------------


def test_bad_documents_are_skipped_with_a_reason_and_the_rest_indexed(tmp_path: Path, monkeypatch, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "004_bc3bbd6dfccf26ec.txt", corpus / "good.txt")
    (corpus / "latin1.txt").write_bytes("Le café de Montevideo sert un résumé.\n".encode("latin-1"))
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.md").write_text("\n  \n\t\n")
    (corpus / "junk.txt").write_text("Share\nBack to top | About Us | Jobs | Contact Us\nCopyright 2024. All rights reserved.\n")
    (corpus / "long-line.txt").write_text("The river keeps flowing past the old mill " * 2500, encoding="utf-8")
    with open(corpus / "huge.txt", "wb") as handle:
        handle.write(b"word " * 10_000_000)                       # 50 MB
    (corpus / "loop-a.txt").symlink_to(corpus / "loop-b.txt")
    (corpus / "loop-b.txt").symlink_to(corpus / "loop-a.txt")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "cycle").symlink_to(corpus, target_is_directory=True)
    (corpus / "locked.txt").write_text("A secret sentence about owls.\n")
    import qa.sources

    real_read_bytes = qa.sources.read_bytes

    def read_bytes(path: Path, limit: float | None = None) -> bytes:   # as root, chmod cannot make a file unreadable
        if path.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path, limit)

    monkeypatch.setattr(qa.sources, "read_bytes", read_bytes)
    report = Index.build([corpus, tmp_path / "does-not-exist"], tmp_path / "ix", model=str(fake_model))
    reasons = {s.path.split("/")[-1]: s.reason for s in report.skipped}
    assert reasons["image.txt"] == "binary, not text"
    assert reasons["empty.txt"] == "empty" and reasons["blank.md"] == "empty"
    assert reasons["junk.txt"] == "nothing but junk lines"
    assert "over the 20 MB limit" in reasons["huge.txt"]
    assert "symbolic links" in reasons["loop-a.txt"] and "symbolic links" in reasons["loop-b.txt"]
    assert reasons["locked.txt"] == "permission denied"
    assert reasons["does-not-exist"] == "does not exist"
    assert report.notes == ["latin1.txt: not valid UTF-8, read as cp1252"]
    assert report.files == 3
    index = Index.open(tmp_path / "ix")
    assert {f.path for f in index.stored.files} == {"good.txt", "latin1.txt", "long-line.txt"}
    assert index.search("café résumé Montevideo", k=1, mode="bm25")[0].passage.file == "latin1.txt"
    long_passages = [p for p in index.stored.all_passages() if p.file == "long-line.txt"]
    assert len(long_passages) > 10 and all(p.line_start == p.line_end == 1 for p in long_passages)


def test_the_cli_summary_has_one_line_per_skipped_file(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "004_bc3bbd6dfccf26ec.txt", corpus / "good.txt")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "data.csv").write_text("a,b\n")
    result = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert result.returncode == 0
    assert sorted(line for line in result.stderr.splitlines() if line.startswith("skipped")) == [
        "skipped empty.txt: empty"]
    assert "1 other file skipped: .csv 1 (qa index --verbose lists them)" in result.stderr.splitlines()
    assert "2 skipped" in result.stdout


def test_a_corpus_with_nothing_readable_is_an_error(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    result = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"))
    assert result.returncode == 1 and "No readable documents" in result.stderr
    assert not (tmp_path / "ix" / "CURRENT").exists()


# --- bad questions ------------------------------------------------------------------------

HOSTILE_QUESTIONS = [
    "a " * 50_000 + "Uruguay laboratory",                 # 100 KB
    "the of and to in",                                   # only stop words
    "?!... ,;:",                                          # only punctuation
    "🚀🌎 🤖",                                            # emoji
    "中国和拉丁美洲的数字经济合作",                        # Chinese
    "¿Qué laboratorio estableció BGI Genomics en Uruguay?",   # Spanish
    "[bold red]x[/] [link=https://evil.example]y[/link]",    # rich markup
    "\x1b[2J\x1b]8;;https://evil.example\x1b\\click\x1b]52;c;ZXZpbA==\x07 Uruguay",  # escapes
]


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_bad_questions_through_ask(seeds_index: Path, mode):
    for question in HOSTILE_QUESTIONS:
        result = run_qa("ask", question, "--index", str(seeds_index), "--mode", mode)
        assert result.returncode == 0, (question[:40], result.stderr)
        assert "Traceback" not in result.stderr
        assert "\x1b" not in result.stdout
        assert result.stdout.strip()
        if not Query.of(question).searchable:     # punctuation, emoji: nothing to search for, and it says so
            assert "No answer in these documents: the question has no words to search for" in result.stdout
        elif mode == "hybrid":
            assert "score" in result.stdout      # dense always has a nearest passage


def test_bad_questions_through_batch_and_the_repl(seeds_index: Path):
    lines = [json.dumps({"id": i, "question": q}) for i, q in enumerate(HOSTILE_QUESTIONS)]
    lines.append(json.dumps({"id": "empty", "question": "   "}))
    batch = run_qa("batch", "-", "--index", str(seeds_index), stdin="\n".join(lines) + "\n")
    answers = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [a["id"] for a in answers] == list(range(len(HOSTILE_QUESTIONS))) + ["empty"]
    assert all("results" in a for a in answers[:-1]) and "error" in answers[-1]
    assert answers[6]["question"] == HOSTILE_QUESTIONS[6], "JSON keeps the exact text"
    assert batch.returncode == 1

    plain = [q for q in HOSTILE_QUESTIONS] + ["", "   "]
    repl = run_qa("repl", "--index", str(seeds_index), stdin="\n".join(plain) + "\n")
    assert repl.returncode == 0 and "Traceback" not in repl.stderr
    assert "\x1b" not in repl.stdout
    assert "? [bold red]x[/] [link=https://evil.example]y[/link]" in repl.stdout
    assert repl.stdout.count("\n? ") + repl.stdout.startswith("? ") == len(HOSTILE_QUESTIONS)


def test_document_escapes_never_reach_the_terminal(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    hostile = ("The owl report says [bold red]alarm[/] and \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ "
               "then \x1b]52;c;ZXZpbA==\x07 and \x1b[2J\x1b[H cleared the screen about owls.\n")
    (corpus / "evil.txt").write_text(hostile, encoding="utf-8")
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    for args in (["ask", "owl report"], ["repl"]):
        result = run_qa(*args, "--index", str(tmp_path / "ix"), stdin="owl report\n",
                        env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
        assert result.returncode == 0
        out = result.stdout
        assert "[bold red]alarm[/]" in out
        for sequence in ("\x1b]8;;https", "\x1b]52", "\x1b[2J", "\x1b[H", "\x07"):
            assert sequence not in out
    data = json.loads(run_qa("ask", "owl report", "--json", "--index", str(tmp_path / "ix")).stdout)
    assert data["results"][0]["text"] == hostile.strip()


def test_qa_errors_are_one_line(seeds_index: Path):
    with pytest.raises(QAError) as error:
        Index.open(seeds_index).search("   ")
    assert "\n" not in str(error.value)


def test_large_files_are_checked_by_sampled_blocks(tmp_path: Path, monkeypatch, fake_model: Path):
    from qa.store import layout as store

    monkeypatch.setattr(store, "FULL_CHECKSUM_BYTES", 1000)    # every file but the smallest counts as large
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    folder = current(tmp_path / "ix")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "sampled_crc32" in manifest["checksums"]["vectors.npy"]
    Index.open(tmp_path / "ix")
    data = bytearray((folder / "vectors.npy").read_bytes())
    data[300] ^= 0x01                                           # inside the first sampled block
    (folder / "vectors.npy").write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="vectors.npy is corrupted"):
        Index.open(tmp_path / "ix")


def test_review_regressions(seeds_index: Path, tmp_path: Path, fake_model: Path):
    """Skipped files are not stale forever; odd input gets one line, not a traceback."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "004_bc3bbd6dfccf26ec.txt", corpus / "good.txt")
    (corpus / "empty.txt").write_bytes(b"")
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    assert Index.open(tmp_path / "ix").stale_files() == []

    folder = run_qa("batch", str(tmp_path), "--index", str(seeds_index))
    assert folder.returncode == 2 and "is a folder" in folder.stderr and "Traceback" not in folder.stderr

    repl = run_qa("repl", "--index", str(seeds_index), "--mode", "bm25", stdin=":k ²\n:k 2\n")
    assert repl.returncode == 0 and "usage: :k N" in repl.stdout and "k = 2" in repl.stdout

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "Who?", "gold": []}\n{"id": "a", "question": "What?", "gold": []}\n')
    duplicate = run_qa("eval", str(questions), "--index", str(seeds_index))
    assert duplicate.returncode == 2 and "twice" in duplicate.stderr

    not_a_folder = run_qa("index", str(corpus), "--index", str(corpus / "good.txt"))
    assert not_a_folder.returncode == 2 and "is a file, not an index folder" in not_a_folder.stderr


def test_a_rebuild_with_other_settings_reembeds_but_counts_files_as_unchanged(fake_seeds_index: Path, tmp_path: Path,
                                                                             fake_model: Path):
    from qa.config import IndexSettings

    index_dir = copy_index(fake_seeds_index, tmp_path / "ix")
    report = Index.build([SEEDS], index_dir, model=str(fake_model), settings=IndexSettings(max_tokens=100))
    assert (report.unchanged, report.changed, report.added, report.removed) == (5, 0, 0, 0)
    assert 0 < report.embedded <= report.passages and not report.up_to_date   # equal texts keep their vectors
    assert Index.open(index_dir).settings.max_tokens == 100
