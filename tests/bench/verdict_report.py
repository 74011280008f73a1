"""The verdict on held-out questions: `python tests/bench/verdict_report.py [--json]`.

Reads the validation sets of tests/verdict (the fit never saw them; see qa.answer.fit_sets.ROLES), or with
--held-out the held-out sets (read once, for a report), over the seeds and the Python docs subset, and
prints against the targets of issue 25: near-topic unanswerable
questions flagged, answerable questions wrongly flagged, off-topic questions flagged, the
calibration of `answer_confidence`, and the time the verdict step adds to a warm query.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from verdict_sets import Index, answer_all, load, pydoc_index, right, seeds_index

from qa.evaluate import calibration
from qa.answer.verdict import Candidates, verdict_for
from qa.query import Query

TARGETS = {"near-topic": 0.50, "answerable": 0.02, "off-topic": 1.00}   # issue 25


def verdict_latency(index: Index, questions: list[str], mode: str, repeat: int = 5,
                    clock=time.perf_counter) -> list[float]:
    """Milliseconds the verdict step takes per question, warm (search done beforehand, not timed);
    `clock=time.thread_time` counts only this thread's CPU time (not time spent waiting for a core)."""
    settings = index.search_settings
    vectors = index.embed(questions) if mode != "bm25" else None
    dense = index._dense.top(vectors, settings.depth) if vectors is not None else [[] for _ in questions]
    prepared = []
    for i, q in enumerate(questions):   # the candidates as Index.answer_many makes them: the ranker's order in hybrid
        vector, query, sparse = None if vectors is None else vectors[i], Query.of(q), index.stored.bm25.top(q, settings.depth)
        ranked = index.ranked(query, vector, dense[i], sparse) if mode == "hybrid" else None
        prepared.append((query, vector, Candidates.of(mode, dense[i], sparse, settings, ranked and ranked.order)))
    for question, vector, candidates in prepared:   # warm up: caches, SQLite pages, weights
        verdict_for(question, vector, candidates, index.stored)
    times = []
    for _ in range(repeat):
        for question, vector, candidates in prepared:
            started = clock()
            verdict_for(question, vector, candidates, index.stored)
            times.append((clock() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".cache")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sets", help="only these files, comma-separated stems (e.g. seeds-3,pydoc-3)")
    parser.add_argument("--held-out", action="store_true",
                        help="read the held-out sets (none unread: every set in ROLES is validation) instead of the validation sets: once, for a report")
    parser.add_argument("--whole-docs-index", type=Path, metavar="DIR",
                        help="an index of the whole Python docs (tests/bench/.cache/python-doc-txt): also read the sets "
                             "written over them (WHOLE_DOCS: pydoc-6, pydoc-9 to -11), which the subset cannot answer")
    args = parser.parse_args()
    chosen = set(args.sets.split(",")) if args.sets else None
    split = "held-out" if args.held_out else "validation"

    def held_out(corpus: str) -> list:
        items = load("pydoc", split, whole_docs=True) if corpus == "pydoc-whole" else load(corpus, split)
        return [i for i in items if chosen is None or i.set in chosen]

    if not any(held_out(corpus) for corpus in ("seeds", "pydoc")):
        raise SystemExit(f"No {split} sets in qa/answer/fit_sets.py ROLES: write a new one first.")
    indexes = {"seeds": Index.open(seeds_index(args.cache)), "pydoc": Index.open(pydoc_index(cache=args.cache))}
    if args.whole_docs_index:
        indexes["pydoc-whole"] = Index.open(args.whole_docs_index)
    report: dict[str, object] = {}
    for mode in ("hybrid", "bm25"):
        counts: dict[str, list[int]] = {}
        judged: list[tuple[float, bool]] = []
        missed: list[str] = []
        for corpus, index in indexes.items():
            items = held_out(corpus)
            for item, answer in zip(items, answer_all(index, items, mode)):
                flagged = not answer.answered
                for key in (item.kind, f"{item.kind} ({item.set})", f"{item.kind} ({item.origin})"):
                    counts.setdefault(key, [0, 0])
                    counts[key][0] += flagged
                    counts[key][1] += 1
                judged.append((answer.answer_confidence, right(item, answer)))
                if flagged == (item.kind == "answerable"):
                    reason = answer.verdict.top_reason.text if answer.verdict.top_reason else ""
                    missed.append(f"{item.id} [{item.kind}] conf {answer.answer_confidence:.2f} "
                                  f"{item.question}  -- {reason}")
        bins = [{"bin": f"{row['from']:.1f}-{row['to']:.1f}", "questions": row["questions"],
                 "share_right": round(row["share_right"], 3)} for row in calibration(judged)]
        given = [(c, ok) for c, ok in judged if c >= 0.5]
        latency, cpu = [], []
        for corpus, index in indexes.items():
            questions = [i.question for i in held_out(corpus)]
            latency += verdict_latency(index, questions, mode)
            cpu += verdict_latency(index, questions, mode, clock=time.thread_time)
        report[mode] = {
            "flagged": {k: f"{f}/{n} ({f / n:.0%})" for k, (f, n) in sorted(counts.items())},
            "targets": {kind: {"measured": round(counts[kind][0] / counts[kind][1], 3),
                               "target": ("<= " if kind == "answerable" else ">= ") + f"{target:.0%}",
                               "met": (counts[kind][0] / counts[kind][1] <= target) if kind == "answerable"
                               else (counts[kind][0] / counts[kind][1] >= target)}
                        for kind, target in TARGETS.items() if kind in counts},
            "calibration": bins,
            "mean_confidence_vs_right": {"mean_confidence": round(statistics.mean(c for c, _ in judged), 3),
                                         "share_right": round(sum(ok for _, ok in judged) / len(judged), 3)},
            "answers_given_at_0.5_or_more_right": f"{sum(ok for _, ok in given)}/{len(given)}",
            "verdict_ms": {"p50": round(float(np.percentile(latency, 50)), 2),
                           "p95": round(float(np.percentile(latency, 95)), 2), "target_warm": "<= 5",
                           "cpu_p50": round(float(np.percentile(cpu, 50)), 2),
                           "cpu_p95": round(float(np.percentile(cpu, 95)), 2), "load_average": os.getloadavg()[0]},
            "wrong_verdicts": missed,
        }
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return
    for mode, numbers in report.items():
        print(f"== {mode} ({split} questions only)")
        for kind, t in numbers["targets"].items():
            print(f"  {kind:<11} flagged {t['measured']:.1%}  target {t['target']}  {'met' if t['met'] else 'NOT MET'}")
        print("  by kind, corpus and origin: " + "; ".join(f"{k} {v}" for k, v in numbers["flagged"].items()))
        print("  calibration (answer confidence bin: questions, share right): "
              + "; ".join(f"{c['bin']}: {c['questions']}, {c['share_right']:.2f}" for c in numbers["calibration"]))
        print(f"  answers given with confidence >= 0.5 that were right: {numbers['answers_given_at_0.5_or_more_right']}")
        ms = numbers["verdict_ms"]
        print(f"  verdict step: p50 {ms['p50']} ms, p95 {ms['p95']} ms wall; CPU p50 {ms['cpu_p50']} ms, "
              f"p95 {ms['cpu_p95']} ms (target <= 5 ms warm; load average {ms['load_average']:.1f})")
        print("  wrong verdicts:")
        for line in numbers["wrong_verdicts"]:
            print(f"    {line}")


if __name__ == "__main__":
    main()
