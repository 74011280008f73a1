"""Building at the speed of the model (issue 9) and reuse that never carries damage (issue 11, items 4 and 8).

Builds here start from a copy of the session's seeds index, so the model export is linked from it
rather than redone (except where the export itself is the subject).
"""

from __future__ import annotations

from dataclasses import replace

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import Index, config
from qa.errors import IndexFormatError
from qa.evaluate import answers, gold_span, load_questions
from tests.conftest import REPO, SEEDS

ONE = "004_bc3bbd6dfccf26ec.txt"


def current(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


@pytest.fixture
def ix(seeds_index: Path, tmp_path: Path) -> Path:
    """A private copy of the seeds index (its model export is reused by builds into it)."""
    return Path(shutil.copytree(seeds_index, tmp_path / "ix"))


# --- one model pass per passage ------------------------------------------------------------------


def test_sentence_vectors_come_from_the_passage_pass_in_both_runtimes(index):
    """ONNX and the sentence-transformers fallback pool the same span vectors (and no second pass)."""
    from qa.model.embedder import SentenceTransformerEmbedder, onnx_embedder

    texts = ["Barn owls hunt mice at night. They nest in old barns and church towers.",
             "BGI Genomics has established a clinical laboratory in Uruguay. It tests for viruses."]
    spans = [[(0, 29), (30, 71)], [(0, 62), (63, 86)]]
    onnx_vectors, onnx_spans = onnx_embedder(index.stored.folder).encode_spans(texts, spans)
    st_vectors, st_spans = SentenceTransformerEmbedder("all-MiniLM-L6-v2").encode_spans(texts, spans)
    assert np.sum(onnx_vectors * st_vectors, axis=1).min() > 0.999
    for ours, theirs in zip(onnx_spans, st_spans):
        assert ours.shape == (2, 384)
        assert np.sum(ours * theirs, axis=1).min() > 0.999
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    # In context: the two sentences of one text differ, and each is nearer its own text than the other text.
    assert float(onnx_spans[0][0] @ onnx_spans[0][1]) < 0.99
    assert float(onnx_spans[0][0] @ onnx_vectors[0]) > float(onnx_spans[0][0] @ onnx_vectors[1])


def test_a_sentence_longer_than_a_passage_is_marked_by_its_pieces(ix: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    clauses = [f"the {animal} of the northern valley eats {food} in the {season}"
               for animal, food, season in zip(
                   "otter badger heron lynx marten beaver stoat vole shrew ibex".split() * 3,
                   "fish worms frogs hares voles bark eggs seeds beetles grass".split() * 3,
                   "spring summer autumn winter dawn dusk night morning evening noon".split() * 3)]
    long_sentence = "In the old almanac " + ", and ".join(clauses) + "."
    (corpus / "almanac.txt").write_text(long_sentence + "\n", encoding="utf-8")
    report = Index.build([corpus], ix)
    index = Index.open(ix)
    assert report.passages >= 2, "the sentence is longer than one passage"
    answer = index.answer("What does the beaver of the northern valley eat?", k=3, mode="dense")
    top = answer.hits[0]
    assert top.answer_start is not None, "the long sentence's piece in the top passage is marked"
    assert answer.confidence > 0.3
    assert top.passage.start <= top.answer_start < top.answer_end <= top.passage.end


def test_marking_accuracy_on_the_labelled_sets(index):
    """The marked sentence of the first answering hit overlaps the gold phrase (as tests/bench/marking.py counts)."""
    right = reachable = 0
    for name in ("questions.jsonl", "retrieval.jsonl"):
        questions = [q for q in load_questions(REPO / "tests" / name) if q.gold]
        for question, answer in zip(questions, index.answer_many([q.question for q in questions], 10, "hybrid")):
            hit = next((h for h in answer.hits[: config.ANSWER_PASSAGES] if answers(h, question.gold)), None)
            if hit is None:
                continue
            reachable += 1
            if hit.answer_start is None or hit.answer_end is None:
                continue
            spans = [gold_span(hit.passage.text, hit.passage.start, phrase) for _, phrase in question.gold]
            right += any(s and s[0] < hit.answer_end and hit.answer_start < s[1] for s in spans)
    assert reachable >= 55
    # Sentences embedded on their own (before late chunking) got 39/63 right here.
    assert right / reachable >= 0.68, (right, reachable)


def test_a_build_embeds_nothing_twice_and_reports_its_stages(ix: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "A copy for this test\n\n" + (SEEDS / ONE).read_text(encoding="utf-8")   # a title of its own
    for name in ("a.txt", "b.txt"):                       # two identical files: one set of vectors
        (corpus / name).write_text(text, encoding="utf-8")
    calls: list[tuple[str, int, int]] = []
    report = Index.build([corpus], ix, progress=lambda *call: calls.append(call))
    assert report.embedded * 2 == report.passages
    assert calls[0] == ("reading", 0, 2), "the bar shows from the first file read"
    stages = [c[0] for c in calls]
    assert stages.index("splitting") < stages.index("embedding") and calls[-1] == ("embedding", report.embedded,
                                                                                   report.embedded)
    # the model's stages are shown too (a new index's bar sat still for seconds while they ran)
    assert stages.index("splitting") < stages.index("loading the model") < stages.index("embedding")
    assert ("loading the model", 0, 0) in calls


# --- reuse by the exact text embedded ----------------------------------------------------------------


def test_editing_one_paragraph_reembeds_only_its_passages(ix: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long_text = "\n\n".join((SEEDS / name).read_text(encoding="utf-8").strip()
                            for name in sorted(os.listdir(SEEDS)))
    (corpus / "long.txt").write_text(long_text + "\n", encoding="utf-8")
    first = Index.build([corpus], ix)
    before = {p.text for p in Index.open(ix).stored.all_passages()}
    assert first.passages >= 10
    paragraphs = long_text.split("\n\n")
    middle = len(paragraphs) // 2
    paragraphs[middle] = paragraphs[middle].replace(".", ", as the llamas say.", 1)
    (corpus / "long.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    second = Index.build([corpus], ix)
    index = Index.open(ix)
    new_texts = [p.text for p in index.stored.all_passages()]
    changed = len(set(new_texts) - before)
    assert 1 <= changed < len(new_texts) // 2
    assert second.changed == 1 and second.embedded == changed, "only passages whose text changed are embedded"
    assert index.search("What do the llamas say?", k=1, mode="bm25")[0].passage.text.count("llamas")
    # What was reused equals what embedding the same inputs afresh gives.
    from qa.ingest.context import document_context, embedding_text
    from qa.config import IndexSettings
    from qa.sources import read
    from qa.model.embedder import onnx_embedder, token_counter

    passages = index.stored.all_passages()
    context = document_context(read(corpus / "long.txt", corpus), token_counter("all-MiniLM-L6-v2"), IndexSettings())
    fresh = onnx_embedder(index.stored.folder).encode([embedding_text(p, context) for p in passages])
    assert np.sum(fresh * np.asarray(index.stored.vectors), axis=1).min() > 0.9999


# --- resume -------------------------------------------------------------------------------------------


def test_a_killed_build_resumes_from_its_checkpoint(ix: Path, tmp_path: Path):
    corpus = tmp_path / "big"
    for n in range(4):
        (corpus / f"copy{n}").mkdir(parents=True)
        for source in SEEDS.glob("*.txt"):
            text = source.read_text(encoding="utf-8").replace(" the ", f" the{n} ")
            (corpus / f"copy{n}" / source.name).write_text(text, encoding="utf-8")
    before = current(ix)
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.ui.cli", "index", str(corpus), "--index", str(ix)], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, HF_HUB_OFFLINE="1", QA_CHECKPOINT_EVERY="32"))
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None and not list(ix.glob(".scratch-*/chunk-*.npz")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    chunks = list(ix.glob(".scratch-*/chunk-*.npz"))
    assert process.returncode == -signal.SIGKILL and chunks, "killed after the first checkpoint was written"
    saved = {bytes(k) for c in chunks for k in np.load(c)["keys"]}
    assert 0 < len(saved) < 150
    assert current(ix) == before and Index.open(ix).search("Uruguay", k=1, mode="bm25")
    assert not (ix / "CURRENT").read_text().startswith(".scratch"), "never visible as an index"

    previous = {bytes(k) for k in np.load(before / "input_keys.npy")}
    resumed = Index.build([corpus], ix)
    needed = {bytes(k) for k in np.load(current(ix) / "input_keys.npy")}
    assert resumed.embedded == len(needed - previous - saved), "only what the killed build had not embedded"
    assert not list(ix.glob(".scratch-*")), "the checkpoint goes once the generation is written"


# --- reuse never carries damage (issue 11.4) -----------------------------------------------------------


def test_a_rebuild_never_keeps_a_damaged_model(ix: Path):
    folder = current(ix)
    pristine = (folder / "model.onnx").read_bytes()
    damaged = bytearray(pristine)
    damaged[len(damaged) // 2] ^= 0xFF
    (folder / "model.onnx").unlink()                       # (the fixture's file is a hard link)
    (folder / "model.onnx").write_bytes(bytes(damaged))
    report = Index.build([SEEDS], ix)
    assert not report.up_to_date
    rebuilt = Index.open(ix)
    rebuilt.stored.verify("model.onnx")
    assert (rebuilt.stored.folder / "model.onnx").read_bytes() == pristine
    assert rebuilt.search("What did BGI Genomics set up in Uruguay?", k=1, mode="dense")[0].passage.file == ONE


def test_reused_files_are_copied_where_hard_links_fail(ix: Path, tmp_path: Path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "owls.txt").write_text("Barn owls hunt mice at night.\n", encoding="utf-8")
    old = current(ix) / "model.onnx"
    Index.build([tmp_path / "c"], ix)
    new = current(ix) / "model.onnx"
    assert new != old and new.stat().st_ino != old.stat().st_ino
    Index.open(ix).stored.verify("model.onnx")


def test_a_new_splitter_version_reuses_nothing(ix: Path, monkeypatch):
    monkeypatch.setattr(config, "SPLITTER_VERSION", config.SPLITTER_VERSION + 1)
    report = Index.build([SEEDS], ix)
    assert not report.up_to_date and report.embedded == len({p.text for p in Index.open(ix).stored.all_passages()})
    assert json.loads((current(ix) / "manifest.json").read_text())["splitter_version"] == config.SPLITTER_VERSION


def test_a_file_read_again_and_read_differently_by_a_newer_reader_is_indexed_anew(ix: Path, tmp_path: Path,
                                                                                  monkeypatch):
    """Files whose size and time did not change are carried over unread (a reader whose output changes needs
    a new SPLITTER_VERSION, tested above); a file read again, same bytes, is compared by its text too."""
    import qa.sources

    corpus = aged_copy(SEEDS, tmp_path / "corpus")
    Index.build([corpus], ix)
    original = qa.sources.read

    def newer_reader(path, root, limits=None):
        document = original(path, root, limits)
        return replace(document, text=document.text.replace("Chongqing", "Chongqing (a newer reader)"))

    monkeypatch.setattr(qa.sources, "read", newer_reader)     # the reader pool's workers are forked: they see it
    chongqing = next(p for p in sorted(corpus.iterdir()) if "Chongqing" in p.read_text(encoding="utf-8"))
    os.utime(chongqing)                                        # touched: read again, same bytes
    report = Index.build([corpus], ix)
    assert not report.up_to_date and report.unchanged == 5 and report.read == 1
    assert any("(a newer reader)" in p.text for p in Index.open(ix).stored.all_passages())


def test_a_changed_manifest_is_damage(ix: Path):
    path = current(ix) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["bm25"]["k1"] = 9.0                             # valid JSON, wrong content
    path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(IndexFormatError, match="damaged"):
        Index.open(ix)


# --- batching ------------------------------------------------------------------------------------------


def test_batches_are_sorted_by_length_and_capped_by_tokens():
    from qa.model.onnx import token_batches

    lengths = [5, 200, 7, 190, 6, 180, 100, 8]
    batches = token_batches(lengths, batch_size=32, batch_tokens=400)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert max(lengths[i] for i in batch) * len(batch) <= 400 or len(batch) == 1
    assert batches[0] == [1, 3], "longest first"
    assert token_batches(lengths, batch_size=3, batch_tokens=None)[0] == [1, 3, 5]


def test_digests_ending_in_nul_bytes_are_reused(tmp_path: Path, fake_model: Path, monkeypatch):
    """numpy's bytes arrays drop trailing NUL bytes on reading; a digest that ends in one (1 in 256) must
    still be found in the previous index and in a checkpoint."""
    import dataclasses

    import qa.ingest.build
    from qa.ingest import embedding

    real_job = embedding.job

    def job_ending_in_nul(text, spans, salt):
        made = real_job(text, spans, salt)
        return dataclasses.replace(made, key=made.key[:-2] + b"\0\0")

    monkeypatch.setattr(qa.ingest.build.embedding, "job", job_ending_in_nul)
    first = Index.build([SEEDS], tmp_path / "ix", model=str(fake_model))
    assert first.embedded > 0
    again = Index.build([SEEDS], tmp_path / "ix", model=str(fake_model), dense_index="ivfpq")
    assert again.embedded == 0, "every vector is found again by its digest"
    keys = [bytes([i + 1]) * 8 + b"\0" * 8 for i in range(3)]
    vectors = [embedding.Vectors(np.ones(4, np.float32), np.ones((1, 4), np.float16)) for _ in keys]
    embedding.write_checkpoint(tmp_path, 0, keys, vectors)
    assert set(embedding.load_checkpoint(tmp_path)) == set(keys)


# --- an update reads only what changed (issue 29, item 7) --------------------------------------------------


def aged_copy(source: Path, target: Path) -> Path:
    """A copy of the folder `source` whose files were last modified an hour ago (a file modified within
    carry.RACY_NS of a build is read again by the next one, whatever its time)."""
    shutil.copytree(source, target)
    age(target)
    return target


def age(folder: Path) -> None:
    hour_ago = time.time() - 3600
    for path in folder.rglob("*"):
        os.utime(path, (hour_ago, hour_ago))


@pytest.fixture
def reads(tmp_path: Path, monkeypatch) -> Path:
    """A log of the files the reader pool reads (one name a line), kept by a wrapped qa.sources.read."""
    import qa.sources

    log = tmp_path / "reads.log"
    log.touch()
    original = qa.sources.read

    def logged(path, root, limits=None):
        with open(log, "a", encoding="utf-8") as handle:    # from a forked worker: a file, not a list
            handle.write(Path(path).relative_to(root).as_posix() + "\n")
        return original(path, root, limits)

    monkeypatch.setattr(qa.sources, "read", logged)
    return log


def read_since(log: Path) -> list[str]:
    """The names logged since the last call, and the log emptied."""
    names = log.read_text(encoding="utf-8").split()
    log.write_text("", encoding="utf-8")
    return sorted(names)


def splits(monkeypatch) -> list[str]:
    """The names of the documents the build splits, as it splits them."""
    import qa.ingest.build

    split: list[str] = []
    original = qa.ingest.build.split_document

    def counted(document, *args, **kwargs):
        split.append(document.name)
        return original(document, *args, **kwargs)

    monkeypatch.setattr(qa.ingest.build, "split_document", counted)
    return split


def test_an_update_reads_and_splits_only_the_files_that_changed(tmp_path: Path, fake_model: Path, reads: Path,
                                                                  monkeypatch):
    corpus = aged_copy(SEEDS, tmp_path / "corpus")
    names = sorted(p.name for p in corpus.iterdir())
    ix, model = tmp_path / "ix", str(fake_model)
    first = Index.build([corpus], ix, model=model)
    assert read_since(reads) == names and first.read == 5
    split = splits(monkeypatch)
    before = {p.file: p for p in Index.open(ix, model=model).stored.all_passages()}

    with open(corpus / names[2], "a", encoding="utf-8") as handle:      # an edit
        handle.write("\nThe zebrafinch quorum met in Tallinn on a Tuesday.\n")
    report = Index.build([corpus], ix, model=model)
    assert read_since(reads) == [names[2]] and split == [names[2]], "only the edited file is read and split"
    assert (report.read, report.changed, report.unchanged) == (1, 1, 4)
    index = Index.open(ix, model=model)
    assert {p.file for p in index.stored.all_passages()} == set(names), "the unread files keep their passages"
    assert index.search("zebrafinch quorum", k=1, mode="bm25")[0].passage.file == names[2]
    assert before[names[0]] in index.stored.all_passages()

    # A file nobody reads can be unreadable now: an update does not notice, it carries the file over.
    split.clear()
    unread = corpus / names[0]
    stat = unread.stat()
    unread.write_bytes(b"\xff\xfe\0garbage no reader would index".ljust(stat.st_size, b"\0"))
    os.utime(unread, ns=(stat.st_atime_ns, stat.st_mtime_ns))     # same size, same time: taken as unchanged
    again = Index.build([corpus], ix, model=model)
    assert read_since(reads) == [names[2]], "the file edited by the last build is read again (its time was too recent)"
    assert again.up_to_date and split == []
    assert Index.open(ix, model=model).search("Tallinn", k=1, mode="bm25")[0].passage.file == names[2]


def test_a_touched_file_with_the_same_bytes_is_neither_split_nor_embedded(tmp_path: Path, fake_model: Path,
                                                                          reads: Path, monkeypatch):
    corpus = aged_copy(SEEDS, tmp_path / "corpus")
    names = sorted(p.name for p in corpus.iterdir())
    ix, model = tmp_path / "ix", str(fake_model)
    Index.build([corpus], ix, model=model)
    read_since(reads)
    split = splits(monkeypatch)
    os.utime(corpus / names[1])                                     # touched: newer time, same bytes
    (corpus / "new.txt").write_text("Barn owls hunt mice at night over open fields.\n", encoding="utf-8")
    report = Index.build([corpus], ix, model=model)
    assert read_since(reads) == sorted([names[1], "new.txt"])
    assert split == ["new.txt"], "the touched file is carried over, not split again"
    assert report.embedded == 1 and (report.unchanged, report.added) == (5, 1)
    recorded = {f.path: f.mtime_ns for f in Index.open(ix, model=model).stored.files}
    assert recorded[names[1]] == (corpus / names[1]).stat().st_mtime_ns or recorded[names[1]] == 0


def test_an_updated_index_is_the_index_a_fresh_build_makes(tmp_path: Path, fake_model: Path):
    """Edit one file, add one, remove one, touch one: the update holds the passages, sentences, texts,
    regions and vectors of a fresh build of the same folder, and answers as it does."""
    corpus = aged_copy(SEEDS, tmp_path / "corpus")
    (corpus / "more").mkdir()
    (corpus / "more" / "page.md").write_text("# Birds\n\nBarn owls hunt mice at night.\n\n## Nests\n\n"
                                             "They nest in old barns and church towers.\n", encoding="utf-8")
    names = sorted(p.name for p in corpus.glob("*.txt"))
    model = str(fake_model)
    Index.build([corpus], tmp_path / "updated", model=model)
    text = (corpus / names[3]).read_text(encoding="utf-8")
    (corpus / names[3]).write_text(text.replace(".", ". Zebrafinches sang.", 2), encoding="utf-8")
    (corpus / names[0]).unlink()
    os.utime(corpus / names[1])
    (corpus / "more" / "otters.txt").write_text("Otters crack shellfish open with stones while floating.\n",
                                                encoding="utf-8")
    report = Index.build([corpus], tmp_path / "updated", model=model)
    assert (report.changed, report.added, report.removed, report.unchanged) == (1, 1, 1, 4)
    Index.build([corpus], tmp_path / "fresh", model=model)
    updated, fresh = Index.open(tmp_path / "updated", model=model), Index.open(tmp_path / "fresh", model=model)
    a, b = updated.stored, fresh.stored
    assert a.all_passages() == b.all_passages()
    assert a.sentence_rows() == b.sentence_rows()
    assert a.texts() == b.texts() and a.all_regions() == b.all_regions()
    assert [(f.path, f.sha256, f.size, f.first_row, f.count) for f in a.files] == \
        [(f.path, f.sha256, f.size, f.first_row, f.count) for f in b.files]
    assert a.input_keys() == b.input_keys()
    np.testing.assert_allclose(np.asarray(a.vectors), np.asarray(b.vectors), atol=1e-5)
    np.testing.assert_allclose(np.asarray(a.sentence_vectors, np.float32), np.asarray(b.sentence_vectors, np.float32),
                               atol=2e-3)
    for question in ("What did BGI Genomics set up in Uruguay?", "Where do barn owls nest?", "Zebrafinches",
                     "What do otters crack open?"):
        for mode in ("hybrid", "bm25"):
            mine, theirs = updated.answer(question, k=5, mode=mode), fresh.answer(question, k=5, mode=mode)
            assert [h.citation for h in mine.hits] == [h.citation for h in theirs.hits]
            assert mine.answered == theirs.answered


def test_builds_that_share_models_load_the_embedder_once(tmp_path: Path, fake_model: Path, monkeypatch):
    """A watching caller passes one Models to every update: the model is loaded by the first that embeds."""
    import qa.ingest.loaded
    from qa.ingest.build import build_index
    from qa.ingest.loaded import Models

    loads: list[Path] = []
    real = qa.ingest.loaded.onnx_embedder
    monkeypatch.setattr(qa.ingest.loaded, "onnx_embedder", lambda folder: loads.append(folder) or real(folder))
    corpus = aged_copy(SEEDS, tmp_path / "corpus")
    models = Models()
    build_index([corpus], tmp_path / "ix", str(fake_model), models=models)
    for n in range(2):
        (corpus / f"new{n}.txt").write_text(f"Barn owls number {n} hunt mice at night.\n", encoding="utf-8")
        assert build_index([corpus], tmp_path / "ix", str(fake_model), models=models).embedded == 1
    assert len(loads) == 1
    build_index([corpus], tmp_path / "other", str(fake_model))       # no Models: loaded for this build alone
    assert len(loads) == 2
