#!/usr/bin/env python3
"""qa beside LangChain, LlamaIndex, txtai and a naive baseline: `python tests/bench/peer_tables.py [--write]`.

Runs the peer harness (../shared/peers/peers.py; its venvs made once by ../shared/peers/setup_peers.sh)
twice, each one run of every system on the same machine, model and questions, with `qa` joining through
tests/bench/qa_cmd.py (its defaults):

  python-doc    the Python 3.11 library reference and tutorial as text (tests/bench/corpora.py), questions
                tests/bench/questions/pydoc-validation.jsonl (a validation set: read to confirm defaults, never to choose)
  python-doc-2  the same corpus, questions tests/bench/questions/pydoc-heldout-2.jsonl (60 questions written
                by an engineer who never ran qa, after the last change to search)
  seeds         seeds/, questions tests/seeds-validation.jsonl (validation, likewise)
  linux-doc-sample  663 pages of the Linux kernel docs (every page the kernel question sets cite, and a
                seeded draw of others: corpora.linux_doc_sample), questions tests/bench/questions/kernel-heldout.jsonl
  linux-doc-sample-2  the same sample, questions tests/bench/questions/kernel-heldout-2.jsonl (60 questions written
                from the pages alone on 2026-12-05, committed in 87a1b11 before anything read them)

and prints, per corpus, the harness's table, R@5 by kind of question, and qa's build time against
LangChain's. `--write` also replaces the block between PEERS_BEGIN and PEERS_END in README.md.
`--from DIR` re-renders the tables from the JSON of an earlier run in DIR instead of running.
`--only NAME,...` runs some of them. CPU-heavy (about 25 minutes a corpus here): run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from corpora import linux_doc_sample, python_doc_corpus

HARNESS = REPO.parent / "shared" / "peers" / "peers.py"
CACHE = REPO / "tests" / "bench" / ".cache"
QUESTIONS = REPO / "tests" / "bench" / "questions"
SYSTEMS = "naive,langchain,txtai,llamaindex"
QA = f"qa={sys.executable} {REPO / 'tests' / 'bench' / 'qa_cmd.py'}"
PEERS_BEGIN, PEERS_END = "<!-- peers:begin -->", "<!-- peers:end -->"


def runs() -> dict[str, tuple[Path, Path]]:
    """Corpus folder and held-out questions, by name."""
    return {
        "python-doc": (python_doc_corpus(CACHE), REPO / "tests" / "bench" / "questions" / "pydoc-validation.jsonl"),
        "python-doc-2": (python_doc_corpus(CACHE), REPO / "tests" / "bench" / "questions" / "pydoc-heldout-2.jsonl"),
        "seeds": (REPO / "seeds", REPO / "tests" / "seeds-validation.jsonl"),
        "linux-doc-sample": (linux_doc_sample(CACHE, [QUESTIONS / "kernel-fit.jsonl", QUESTIONS / "kernel-heldout.jsonl"]),
                             QUESTIONS / "kernel-heldout.jsonl"),
        "linux-doc-sample-2": (linux_doc_sample(CACHE, [QUESTIONS / "kernel-fit.jsonl", QUESTIONS / "kernel-heldout.jsonl"]),
                               QUESTIONS / "kernel-heldout-2.jsonl"),
    }


def run(name: str, corpus: Path, questions: Path, out: Path, cold_runs: int) -> None:
    """One harness run: every system, one after another."""
    print(f"== {name}: {corpus} with {questions.name}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, str(HARNESS), "--corpus", str(corpus), "--eval", str(questions),
                    "--systems", SYSTEMS, "--cmd", QA, "--cold-runs", str(cold_runs), "--out", str(out)],
                   check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def render(name: str, questions: Path, result: dict) -> str:
    """The harness table, R@5 by kind, and qa's build time against LangChain's, as Markdown."""
    meta, systems = result["meta"], result["systems"]
    lines = [f"**{name}** ({meta['corpus_files']} files, {meta['corpus_mb']:.1f} MB; {meta['questions']} held-out "
             f"questions, `{questions.relative_to(REPO)}`; {meta['date']}, {meta['cores']} cores)", ""]
    lines.append("| system | build s | cold s | warm p50 ms | R@1 | R@5 | R@10 | MRR@10 |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    best = {key: max((s.get(key, 0) for n, s in systems.items() if n != "qa"), default=0)
            for key in ("recall@1", "recall@5", "recall@10", "mrr@10")}
    for system, r in systems.items():
        if "error" in r:
            lines.append(f"| {system} | failed: {r['error'].splitlines()[0][:80]} |" + " - |" * 6)
            continue
        cells = [f"{r['build_s']:.0f}", f"{r['cold_s']:.2f}", f"{r['p50_ms']:.1f}"]
        for key in ("recall@1", "recall@5", "recall@10", "mrr@10"):
            value = f"{r[key]:.3f}"
            cells.append(f"**{value}**" if system == "qa" else value)
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    qa = systems.get("qa", {})
    if "recall@5" in qa:
        lines.append("")
        lines.append("qa − best peer: " + ", ".join(
            f"{key} {qa[key] - best[key]:+.3f}" for key in ("recall@1", "recall@5", "recall@10", "mrr@10")) + ".")
    kinds = sorted({kind for r in systems.values() for kind in r.get("by_kind", {}) if kind})
    if len(kinds) > 1:
        lines += ["", "| R@5 by kind | " + " | ".join(f"{k} ({systems['qa']['by_kind'][k]['n']})" if "qa" in systems
                                                     else k for k in kinds) + " |",
                  "|---|" + "---:|" * len(kinds)]
        for system, r in systems.items():
            by_kind = r.get("by_kind", {})
            lines.append(f"| {system} | " + " | ".join(f"{by_kind[k]['recall@5']:.2f}" if k in by_kind else "-"
                                                       for k in kinds) + " |")
    if "build_s" in qa and "build_s" in systems.get("langchain", {}):
        lines += ["", f"qa's whole build took {qa['build_s']:.0f} s, LangChain's {systems['langchain']['build_s']:.0f} s: "
                      f"**{qa['build_s'] / systems['langchain']['build_s']:.2f}×**."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="replace the peer tables in README.md")
    parser.add_argument("--from", dest="source", type=Path, help="render the JSON of an earlier run in this folder")
    parser.add_argument("--cold-runs", type=int, default=1, help="fresh one-question processes per system")
    parser.add_argument("--only", help="comma-separated names of the runs to make (default: all)")
    args = parser.parse_args()
    folder = args.source or CACHE / "peers" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, (corpus, questions) in runs().items():
        out = folder / f"{name}.json"
        if args.only and name not in args.only.split(","):
            continue
        if args.source is None:
            run(name, corpus, questions, out, args.cold_runs)
        parts.append(render(name, questions, json.loads(out.read_text(encoding="utf-8"))))
    tables = "\n".join(parts)
    print(tables)
    print(f"results: {folder}", file=sys.stderr)
    if args.write:
        readme = REPO / "README.md"
        text = readme.read_text(encoding="utf-8")
        if PEERS_BEGIN not in text or PEERS_END not in text:
            sys.exit(f"README.md has no {PEERS_BEGIN} ... {PEERS_END} block to replace")
        head, rest = text.split(PEERS_BEGIN, 1)
        readme.write_text(head + PEERS_BEGIN + "\n" + tables + PEERS_END + rest.split(PEERS_END, 1)[1], encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
