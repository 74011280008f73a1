"""Benchmarks for qa: `make bench` (or `python tests/bench/run.py [--quick] [--write]`).

Builds its corpora itself (the Python 3.11 library reference and tutorial converted to text, from
Debian's python3.11-doc package; the seeds), then prints the tables:

  build   `qa index` of the Python docs from scratch: wall time, embedding passages/s (one model pass
          per passage, its sentence vectors included) and its ratio to raw ONNX encode of the same texts
          in the same process; then a build killed (SIGKILL) at 50% and the build that resumes it
  scale   100k and 1M passages made from the real Python-doc passages, with vectors made by perturbing
          their real embeddings (labelled "synthetic vectors": it measures search and load, not
          embedding), 100k with the automatic dense index (exact) and 1M with IVF-PQ (compressed, the
          kind for 10M+; README's dense index table compares the kinds at 1M): open s, peak RSS, warm
          p50/p95 per mode with answers marked
  shell   one-shot `qa ask` wall time (fresh process, median of 10), hybrid and bm25, on the seeds
  batch   `qa batch` questions/s on 1,000 questions, and its ratio to raw batched encode
          + raw FAISS search of the same questions

Numbers are printed as they come (stderr) and as Markdown tables at the end (stdout). `--write` also
writes them to tests/bench/RESULTS.md and replaces the speed table in README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index
from qa.search.bm25 import BM25
from qa.ingest.context import document_context, embedding_text
from qa.store.ownership import claim
from qa.sources import read
from qa.model.embedder import ONNX_FILES, SentenceTransformerEmbedder, onnx_embedder, token_counter
from qa.evaluate import load_questions
from qa.ingest.split import Passage, sentence_spans
from qa.search.dense import APPROXIMATE_FILE, DenseIndex, dense_kind
from qa.store.generation import SourceFile, write_generation
from corpora import python_doc_corpus

CACHE = REPO / "tests" / "bench" / ".cache"
QA = [sys.executable, "-m", "qa.ui.cli"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- build throughput ------------------------------------------------------------------------


def python_doc(quick: bool) -> Path:
    """The Python docs corpus; with `quick`, only its tutorial (about 550 passages)."""
    corpus = python_doc_corpus(CACHE)
    return corpus / "tutorial" if quick else corpus


RAW_SAMPLE = 1000


def measure_build(name: str, corpus: Path, work: Path, quantization: str = "none") -> dict[str, object]:
    """Build from scratch; compare the build's embedding rate (passages/s, its sentence vectors included)
    with raw encode, by the same ONNX model in the same process, of texts it embedded (a random sample of
    RAW_SAMPLE of them: the same length distribution, in a fraction of the time)."""
    index_dir = work / f"build-{name}"
    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    report = Index.build([corpus], index_dir, quantization=quantization)
    wall = time.perf_counter() - started
    index = Index.open(index_dir)
    passages = index.stored.all_passages()
    root = Path(index.stored.root)
    counter = token_counter("all-MiniLM-L6-v2")
    by_file: dict[str, list[Passage]] = {}
    for passage in passages:
        by_file.setdefault(passage.file, []).append(passage)
    texts = list(dict.fromkeys(      # what the build embedded: each passage after its context, as the build made it
        embedding_text(p, context)
        for name, group in by_file.items()
        for context in [document_context(read(root / name, root), counter, index.settings)]
        for p in group))
    texts = random.Random(0).sample(texts, min(RAW_SAMPLE, len(texts)))
    model = onnx_embedder(index.stored.folder)
    model.encode(texts[:32])                                     # warm up
    started = time.perf_counter()
    model.encode(texts, batch_size=32)
    raw = len(texts) / (time.perf_counter() - started)
    ours = report.embedded / report.embed_seconds
    files = sorted(index.stored.folder.iterdir())
    largest = sorted(files, key=lambda f: -f.stat().st_size)[:4]
    row = {"corpus": name, "passages": report.passages, "embedded": report.embedded, "build_s": wall,
           "embed_s": report.embed_seconds, "embed_pps": ours, "raw_pps": raw, "ratio": ours / raw,
           "quantization": quantization, "index_mb": sum(f.stat().st_size for f in files) / 2**20,
           "largest": ", ".join(f"{f.name} {f.stat().st_size / 2**20:.1f}" for f in largest)}
    log(f"build {name}: {row}")
    return row


def measure_resume(name: str, corpus: Path, work: Path, full_seconds: float, share: float = 0.5) -> dict[str, object]:
    """Kill a build (SIGKILL) once `share` of its passages are checkpointed, then time the build that resumes."""
    import signal

    index_dir = work / f"resume-{name}"
    shutil.rmtree(index_dir, ignore_errors=True)
    expected = len(np.load(Index.open(work / f"build-{name}").stored.folder / "input_keys.npy"))
    process = subprocess.Popen([*QA, "index", str(corpus), "--index", str(index_dir)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, QA_CHECKPOINT_EVERY="256"))
    saved = 0
    while process.poll() is None and saved < share * expected:
        time.sleep(0.5)
        saved = sum(len(np.load(c)["keys"]) for c in index_dir.glob(".scratch-*/chunk-*.npz"))
    process.send_signal(signal.SIGKILL)
    process.wait()
    started = time.perf_counter()
    report = Index.build([corpus], index_dir)
    seconds = time.perf_counter() - started
    row = {"corpus": name, "killed_after": saved, "resumed_embedded": report.embedded, "resume_s": seconds,
           "full_s": full_seconds, "ratio": seconds / full_seconds}
    log(f"resume {name}: {row}")
    return row


# --- scale -----------------------------------------------------------------------------------


def synthetic_index(base: Path, size: int, target: Path, kind: str = "auto", noise: float = 0.025) -> Path:
    """An index of `size` passages: real passages repeated, with their real passage and sentence
    embeddings perturbed by Gaussian noise (cosine to the original about 0.9); `kind`: its dense index."""
    if (target / "CURRENT").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    source = Index.open(base)
    real = source.stored.all_passages()
    real_vectors = np.asarray(source.stored.vectors)
    rng = np.random.default_rng(0)
    passages: list[Passage] = []
    files: list[SourceFile] = []
    texts: dict[str, str] = {}
    per_file = 20
    for first in range(0, size, per_file):
        name = f"synthetic/{first // 10000:03d}/{first // per_file:06d}.txt"
        body, offset, rows = [], 0, []
        for row in range(first, min(first + per_file, size)):
            original = real[row % len(real)]
            text = original.text
            passages.append(Passage(name, offset, offset + len(text), len(body) * 2 + 1, len(body) * 2 + 1, text))
            body.append(text)
            offset += len(text) + 2
            rows.append(row)
        texts[name] = "\n\n".join(body)
        files.append(SourceFile(name, "0" * 64, offset, 0, first, len(rows)))
    log(f"  {size} passages: vectors")

    def perturbed(source: np.ndarray, rows: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        out = np.empty((len(rows), source.shape[1]), dtype=dtype)
        for first in range(0, len(rows), 100_000):
            chunk = source[rows[first : first + 100_000]]
            chunk = chunk + rng.normal(0, noise, chunk.shape).astype(np.float32)
            out[first : first + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
        return out

    vectors = perturbed(real_vectors, np.arange(size) % len(real))
    # Sentences: each copy's sentences sit at the same offsets within its passage as the original's.
    real_sentences = [source.stored.sentences_in(p.file, p.start, p.end) for p in real]
    keys, source_rows = [], []
    for row, passage in enumerate(passages):
        original = real[row % len(real)]
        for sentence_row, s, e in real_sentences[row % len(real)]:
            keys.append((passage.file, passage.start + s - original.start, passage.start + e - original.start, row))
            source_rows.append(sentence_row)
    sentence_vectors = perturbed(np.asarray(source.stored.sentence_vectors, dtype=np.float32),
                                 np.array(source_rows), np.float16)
    log(f"  {size} passages: bm25")
    bm25 = BM25.build([p.text for p in passages], source.settings.bm25_terms)
    target.mkdir(parents=True)
    claim(target)   # mark the new folder as a qa index before scratch.ivf is written into it
    extra = {name: source.stored.folder / name for name in ONNX_FILES}
    dense: dict[str, object] = {"kind": dense_kind(kind, size)}
    if dense["kind"] != "flat":
        log(f"  {size} passages: {dense['kind']}")
        extra[APPROXIMATE_FILE] = target / "scratch.ivf"
        dense = DenseIndex.build_approximate(vectors, extra[APPROXIMATE_FILE], str(dense["kind"]))
    manifest = replace(source.stored.manifest, root=str(target / "no-corpus"), paths=(), dense=dense,
                       passages=size, files=(), checksums={})
    log(f"  {size} passages: writing")
    write_generation(target, manifest, passages, files, texts, vectors, bm25, extra, (keys, sentence_vectors))
    (target / "scratch.ivf").unlink(missing_ok=True)
    return target


PROBE = r"""
import json, statistics, sys, time
started = time.perf_counter()
# The process is set up as `qa ask` and `qa serve` set up theirs (one OpenMP thread for FAISS's scan of one
# question, qa.startup), before FAISS loads: the latencies are those of the commands that answer questions.
from qa.startup import configure
configure("serve")
from qa import Index
index = Index.open(sys.argv[1])
index.dense_error()            # loads the ONNX model and the FAISS index
opened = time.perf_counter() - started
questions = json.loads(sys.argv[2])
result = {"open_s": opened}
# Warm means the index's files are in the page cache, as for an index that has been answering for a
# while: read them once (plain reads, not mapped, so not counted in this process's memory). Otherwise
# the first mode timed pays for faulting in the IVF lists and BM25 rows the others then find cached.
for path in sorted(index.stored.folder.iterdir()):
    with open(path, "rb") as file:
        while file.read(1 << 24):
            pass
for mode in ("hybrid", "dense", "bm25"):
    for q in questions[:10]:
        index.answer(q, 5, mode)
    times = []
    for q in questions:
        t = time.perf_counter(); index.answer(q, 5, mode); times.append(time.perf_counter() - t)
    times.sort()
    result[mode] = (statistics.median(times) * 1000, times[int(len(times) * 0.95) - 1] * 1000)
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across exec).
status = open("/proc/self/status").read()
field = lambda name: int(status.split(name + ":")[1].split()[0]) / 1024
result["peak_rss_mb"] = field("VmHWM")
# Of the resident memory at the end: private (anonymous) vs pages of the memory-mapped index files,
# which are page cache the kernel can drop.
result["anon_mb"], result["file_mb"] = field("RssAnon"), field("RssFile")
print(json.dumps(result))
"""


def measure_scale(name: str, index_dir: Path, questions: list[str]) -> dict[str, object]:
    """Open time, peak RSS and warm latencies, in a fresh process."""
    output = subprocess.run([sys.executable, "-c", PROBE, str(index_dir), json.dumps(questions)],
                            capture_output=True, text=True, cwd=REPO, check=True).stdout
    row = {"corpus": name, **json.loads(output.strip().splitlines()[-1])}
    log(f"scale {name}: {row}")
    return row


def ivf_recall(index_dir: Path, questions: list[str]) -> dict[int, tuple[float, float]]:
    """recall@10 of the IVF index against exact search, and its median ms, per nprobe."""
    import faiss

    index = Index.open(index_dir)
    index.dense_error()
    queries = index.embed(questions)
    exact = faiss.IndexFlatIP(queries.shape[1])
    vectors = np.asarray(index.stored.vectors)
    for first in range(0, len(vectors), 200_000):
        exact.add(np.ascontiguousarray(vectors[first : first + 200_000]))
    _, truth = exact.search(queries, 10)
    ivf = faiss.read_index(str(index.stored.folder / APPROXIMATE_FILE), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    results = {}
    for nprobe in (8, 16, 32, 64):
        ivf.nprobe = nprobe
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, rows = ivf.search(q[None, :], 10)
            times.append(time.perf_counter() - t)
            found.append(rows[0])
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
        results[nprobe] = (float(recall), statistics.median(times) * 1000)
        log(f"  IVF nprobe {nprobe}: recall@10 {recall:.3f}, {results[nprobe][1]:.2f} ms")
    flat_times = []
    for q in queries[:50]:
        t = time.perf_counter()
        exact.search(q[None, :], 10)
        flat_times.append(time.perf_counter() - t)
    log(f"  exact flat search: {statistics.median(flat_times) * 1000:.1f} ms median")
    return results


# --- shell and batch -------------------------------------------------------------------------


def one_shot(index_dir: Path, mode: str, runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([*QA, "ask", "What did BGI Genomics set up in Uruguay?", "--mode", mode, "--index",
                        str(index_dir)], capture_output=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def batch_throughput(index_dir: Path, questions: list[str]) -> dict[str, float]:
    """`qa batch` on the questions against raw batched encode + FAISS search of the same questions."""
    import faiss

    text = "\n".join(questions) + "\n"
    t = time.perf_counter()
    subprocess.run([*QA, "batch", "-", "--index", str(index_dir)], input=text, capture_output=True, text=True,
                   check=True, cwd=REPO)
    ours = time.perf_counter() - t
    index = Index.open(index_dir)
    model = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    model.encode(questions[:32])
    flat = faiss.IndexFlatIP(index.stored.vectors.shape[1])
    flat.add(np.ascontiguousarray(index.stored.vectors))
    t = time.perf_counter()
    vectors = model.encode(questions, batch_size=32)
    flat.search(vectors, 50)
    raw = time.perf_counter() - t
    return {"questions": len(questions), "qa_qps": len(questions) / ours, "raw_qps": len(questions) / raw,
            "ratio": raw / ours}


def benchmark_questions(count: int, corpus: Path) -> list[str]:
    """`count` distinct questions: the repository's question sets, then phrases cut from corpus sentences."""
    questions = [q.question for path in sorted((REPO / "tests").glob("*.jsonl")) for q in load_questions(path)]
    rng = random.Random(1)
    pages = sorted(corpus.rglob("*.txt"))
    while len(dict.fromkeys(questions)) < count:
        text = rng.choice(pages).read_text(encoding="utf-8", errors="replace")
        spans = sentence_spans(text, 0, len(text))
        if spans:
            s, e = rng.choice(spans)
            words = text[s:e].split()[:9]
            if len(words) >= 5:
                questions.append("What about " + " ".join(words).strip(".,:;") + "?")
    return list(dict.fromkeys(questions))[:count]


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every part")
    parser.add_argument("--write", action="store_true", help="write tests/bench/RESULTS.md and README.md's speed table")
    args = parser.parse_args()
    work = CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    corpus = python_doc(args.quick)
    name = "python-doc tutorial" if args.quick else "python-doc"
    scale_sizes = [(20_000, "auto"), (20_000, "ivfpq")] if args.quick else \
        [(100_000, "auto"), (1_000_000, "ivfpq")]

    log("== build")
    build = measure_build(name, corpus, work)
    resume = measure_resume(name, corpus, work, float(build["build_s"]))

    log("== scale")
    questions = benchmark_questions(200, corpus)
    base = work / f"build-{name}"
    seeds_index = work / "seeds"
    Index.build([REPO / "seeds"], seeds_index)
    scale = [measure_scale(f"seeds ({Index.open(seeds_index).size} passages, real)", seeds_index, questions),
             measure_scale(f"{name} ({Index.open(base).size:,} passages, real)", base, questions)]
    for size, kind in scale_sizes:
        target = synthetic_index(base, size, work / f"synthetic-{size}-{kind}", kind)
        label = Index.open(target).stored.manifest.dense["kind"]
        scale.append(measure_scale(f"{size:,} passages ({label}, synthetic vectors)", target, questions))

    log("== shell")
    shell = {"hybrid": one_shot(seeds_index, "hybrid"), "bm25": one_shot(seeds_index, "bm25")}
    log(f"one-shot qa ask: {shell}")
    log("== batch")
    batch = batch_throughput(seeds_index, benchmark_questions(1000, corpus))
    log(f"batch: {batch}")

    tables = results(build, resume, scale, shell, batch)
    print(tables)
    if args.write:
        write_results(tables)


def commit() -> str:
    """The commit measured, marked when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=REPO).stdout.strip()
    return f"{head or 'unknown'}{' with uncommitted changes' if dirty else ''}"


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def results(build: dict, resume: dict, scale: list[dict], shell: dict, batch: dict) -> str:
    """The Markdown tables of one run."""
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `make bench` at commit {commit()} on {os.cpu_count()} "
             f"cores (load average at the end {load_average()}).", "",
             "| build | passages | embedded | build wall s | embed s | build passages/s | raw encode passages/s | ratio "
             "| index MB |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {build['corpus']} | {build['passages']:,} | {build['embedded']:,} | {build['build_s']:.1f} "
             f"| {build['embed_s']:.1f} | {build['embed_pps']:.1f} | {build['raw_pps']:.1f} | **{build['ratio']:.2f}** "
             f"| {build['index_mb']:.1f} |",
             "", f"The index's largest files (MB): {build['largest']}.", "", f"Resume: a build killed after {resume['killed_after']:,} passages were checkpointed; the next build "
             f"embedded {resume['resumed_embedded']:,} in {resume['resume_s']:.1f} s = **{resume['ratio']:.2f}×** the "
             f"full build ({resume['full_s']:.1f} s).", "",
             "| search (k = 5, answers marked; 200 questions) | open s | peak RSS MB (private + mapped) "
             "| hybrid p50 / p95 ms | dense p50 / p95 ms | bm25 p50 / p95 ms |",
             "|---|---|---|---|---|---|"]
    for s in scale:
        cells = " | ".join(f"{s[m][0]:.1f} / {s[m][1]:.1f}" for m in ("hybrid", "dense", "bm25"))
        lines.append(f"| {s['corpus']} | {s['open_s']:.2f} | {s['peak_rss_mb']:.0f} ({s['anon_mb']:.0f} + "
                     f"{s['file_mb']:.0f}) | {cells} |")
    lines += ["", f"One-shot `qa ask` on the seeds (median of 10 fresh processes): hybrid **{shell['hybrid']:.2f} s**, "
              f"bm25 **{shell['bm25']:.2f} s**. `qa batch`, {batch['questions']} questions: {batch['qa_qps']:.0f} "
              f"questions/s; raw batched encode + FAISS search {batch['raw_qps']:.0f} questions/s; ratio "
              f"**{batch['ratio']:.2f}**."]
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


#: RESULTS.md from this heading on is written by hand (experiments not kept) and kept by `write_results`.
KEPT = "## Experiments measured and not kept"


def write_results(tables: str) -> None:
    """RESULTS.md is this run's tables (and its hand-written part from KEPT on, unchanged); README.md's block
    between BEGIN and END is replaced by the tables."""
    results = REPO / "tests" / "bench" / "RESULTS.md"
    previous = results.read_text(encoding="utf-8") if results.is_file() else ""
    kept = "\n" + KEPT + previous.split(KEPT, 1)[1] if KEPT in previous else ""
    results.write_text(
        "# Benchmark results\n\nWritten by `python tests/bench/run.py --write` (`make bench`); what each row "
        "measures: the script's docstring.\n\n" + tables + kept, encoding="utf-8")
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        readme.write_text(head + BEGIN + "\n" + tables + END + rest.split(END, 1)[1], encoding="utf-8")


if __name__ == "__main__":
    main()
