"""Benchmarks for qa: `make bench` (or `python tests/bench/run.py [--quick]`).

Builds its corpora itself (the seeds multiplied; a sample of Debian's linux-doc-6.1 HTML
documentation converted to text), then prints one table:

  build   corpus passages, build s, embedding passages/s and its ratio to raw
          SentenceTransformer.encode of the same texts at the same batch size, same run
  scale   100k and 1M passages made from real passages, with vectors made by perturbing
          real embeddings (labelled "synthetic vectors": it measures search and load, not
          embedding): open s, peak RSS, warm p50/p95 per mode, IVF recall@10 against exact
  shell   one-shot `qa ask` wall time (fresh process, median of 10), hybrid and bm25
  batch   `qa batch` questions/s on 1,000 questions, and its ratio to raw batched encode
          + raw FAISS search of the same questions

Numbers are printed as they come (stderr) and as a Markdown table at the end (stdout).
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
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index  # noqa: E402
from qa.bm25 import BM25  # noqa: E402
from qa.build import embedding_text, title  # noqa: E402
from qa.ownership import claim  # noqa: E402
from qa.sources import read  # noqa: E402
from qa.embedder import ONNX_FILES, SentenceTransformerEmbedder, onnx_embedder, token_counter  # noqa: E402
from qa.evaluate import load_questions  # noqa: E402
from qa.passages import Passage, sentence_spans  # noqa: E402
from qa.search import APPROXIMATE_FILE, EXACT_LIMIT, DenseIndex  # noqa: E402
from qa.store import SourceFile, write_generation  # noqa: E402
from tests.bench.corpora import linux_doc_corpus, multiplied_seeds, python_doc_corpus  # noqa: E402

CACHE = REPO / "tests" / "bench" / ".cache"
QA = [sys.executable, "-m", "qa.cli"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- build throughput ------------------------------------------------------------------------


def linux_sample(files: int) -> Path:
    """The first `files` pages (sorted) of the linux-doc text corpus, as their own folder."""
    source = linux_doc_corpus(CACHE)
    target = CACHE / f"linux-doc-sample-{files}"
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pages = sorted(p for p in source.rglob("*.txt") if not p.name.startswith("."))
        for page in random.Random(0).sample(pages, min(files, len(pages))):
            destination = partial / page.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(page, destination)
        partial.rename(target)
    return target


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
    headings = {f.path: title(read(root / f.path, root), counter) for f in index.stored.files}
    texts = list(dict.fromkeys(embedding_text(p, headings[p.file]) for p in passages))   # what the build embedded
    texts = random.Random(0).sample(texts, min(RAW_SAMPLE, len(texts)))
    model = onnx_embedder(index.stored.folder)
    model.encode(texts[:32])                                     # warm up
    started = time.perf_counter()
    model.encode(texts, batch_size=32)
    raw = len(texts) / (time.perf_counter() - started)
    ours = report.embedded / report.embed_seconds
    row = {"corpus": name, "passages": report.passages, "embedded": report.embedded, "build_s": wall,
           "embed_s": report.embed_seconds, "embed_pps": ours, "raw_pps": raw, "ratio": ours / raw,
           "quantization": quantization}
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


def synthetic_index(base: Path, size: int, target: Path, noise: float = 0.025) -> Path:
    """An index of `size` passages: real passages repeated, with their real passage and sentence
    embeddings perturbed by Gaussian noise (cosine to the original about 0.9)."""
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
    dense: dict[str, object] = {"kind": "exact"}
    if size >= EXACT_LIMIT:
        log(f"  {size} passages: IVF")
        extra[APPROXIMATE_FILE] = target / "scratch.ivf"
        dense = {"kind": "ivf", **DenseIndex.build_approximate(vectors, extra[APPROXIMATE_FILE])}
    manifest = dict(source.stored.manifest, root=str(target / "no-corpus"), paths=[], dense=dense,
                    passages={"count": size}, files=[], synthetic_vectors=True)
    log(f"  {size} passages: writing")
    write_generation(target, manifest, passages, files, texts, vectors, bm25, extra, (keys, sentence_vectors))
    (target / "scratch.ivf").unlink(missing_ok=True)
    return target


PROBE = r"""
import json, statistics, sys, time
started = time.perf_counter()
from qa import Index
index = Index.open(sys.argv[1])
index.dense_error()            # loads the ONNX model and the FAISS index
opened = time.perf_counter() - started
questions = json.loads(sys.argv[2])
result = {"open_s": opened}
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
    parser.add_argument("--skip-1m", action="store_true", help="stop the scale part at 100k passages")
    parser.add_argument("--build-only", action="store_true",
                        help="only the build part: the Python docs (float32 and int8) and a resumed build")
    args = parser.parse_args()
    work = CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    copies, linux_files = (4, 40) if args.quick else (20, 300)
    sizes = [20_000] if args.quick else ([100_000] if args.skip_1m else [100_000, 1_000_000])

    if args.build_only:
        build_part(work)
        return
    log("== build throughput")
    seeds = multiplied_seeds(REPO / "seeds", copies, CACHE)
    linux = linux_sample(linux_files)
    builds = [measure_build(f"seeds x{copies}", seeds, work), measure_build(f"linux-doc {linux_files} pages", linux, work)]

    log("== scale")
    questions = benchmark_questions(200, linux)
    base = work / f"build-linux-doc {linux_files} pages"
    scale, recall = [], {}
    seeds_index = work / "seeds"
    Index.build([REPO / "seeds"], seeds_index)
    scale.append(measure_scale(f"seeds ({Index.open(seeds_index).size} passages, real)", seeds_index, questions))
    scale.append(measure_scale(f"linux-doc sample ({Index.open(base).size} passages, real)", base, questions))
    for size in sizes:
        target = synthetic_index(base, size, work / f"synthetic-{size}")
        scale.append(measure_scale(f"{size:,} passages (synthetic vectors)", target, questions))
        if size >= EXACT_LIMIT:
            recall = ivf_recall(target, questions)

    log("== shell")
    shell = {"hybrid": one_shot(seeds_index, "hybrid"), "bm25": one_shot(seeds_index, "bm25")}
    log(f"one-shot qa ask: {shell}")
    log("== batch")
    batch = batch_throughput(seeds_index, benchmark_questions(1000, linux))
    log(f"batch: {batch}")

    print_builds(builds)
    print("\n| search | open s | peak RSS MB (anon + mapped files at end) | hybrid p50/p95 ms | dense p50/p95 ms "
          "| bm25 p50/p95 ms |")
    print("|---|---|---|---|---|---|")
    for s in scale:
        cells = " | ".join(f"{s[m][0]:.1f} / {s[m][1]:.1f}" for m in ("hybrid", "dense", "bm25"))
        print(f"| {s['corpus']} | {s['open_s']:.2f} | {s['peak_rss_mb']:.0f} ({s['anon_mb']:.0f} + {s['file_mb']:.0f}) "
              f"| {cells} |")
    if recall:
        print("\n| IVF nprobe | recall@10 vs exact | median ms |")
        print("|---|---|---|")
        for nprobe, (r, ms) in recall.items():
            print(f"| {nprobe} | {r:.3f} | {ms:.2f} |")
    print(f"\none-shot `qa ask` on the seeds (median of 10 fresh processes): hybrid {shell['hybrid']:.2f} s, "
          f"bm25 {shell['bm25']:.2f} s")
    print(f"`qa batch`, {batch['questions']} questions: {batch['qa_qps']:.1f} questions/s; raw encode + FAISS "
          f"search {batch['raw_qps']:.1f} questions/s; ratio {batch['ratio']:.2f}")


def build_part(work: Path) -> None:
    """The Python 3.11 docs built with float32 and int8, and a build killed at 50% then resumed."""
    log("== build: Python 3.11 library reference + tutorial")
    corpus = python_doc_corpus(CACHE)
    builds = [measure_build("python-doc", corpus, work), measure_build("python-doc int8", corpus, work, "int8")]
    resume = measure_resume("python-doc", corpus, work, float(builds[0]["build_s"]))
    print_builds(builds)
    print(f"\nresume: killed after {resume['killed_after']:,} passages were checkpointed; the next build embedded "
          f"{resume['resumed_embedded']:,} in {resume['resume_s']:.1f} s = {resume['ratio']:.2f} x the full build "
          f"({resume['full_s']:.1f} s)")


def print_builds(builds: list[dict[str, object]]) -> None:
    print("\n| build | passages | embedded | build wall s | embed s | build passages/s | raw encode passages/s "
          "| ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for b in builds:
        print(f"| {b['corpus']} ({b['quantization']}) | {b['passages']:,} | {b['embedded']:,} | {b['build_s']:.1f} "
              f"| {b['embed_s']:.1f} | {b['embed_pps']:.1f} | {b['raw_pps']:.1f} | {b['ratio']:.2f} |")


if __name__ == "__main__":
    main()
