"""Hybrid search with the learned ranker against reciprocal-rank fusion and each side alone, by `qa eval`'s
own scoring: `python tests/bench/ranker_report.py --index pydoc=DIR --index kernel=DIR --index seeds=DIR`.

By default it reads the validation sets. `--held-out` reads the held-out sets instead (pydoc-heldout-6 and
kernel-heldout-2, written on 2026-12-05 and committed in 62dad36 and 87a1b11 before anything read them): once,
and say so in tests/bench/questions/README.md. pydoc-heldout-2, kernel-heldout,
tests/seeds-heldout.jsonl (read at 457807f), pydoc-heldout-3 (read at 67925d3), pydoc-heldout-4 (read at
cba8661) and pydoc-heldout-5 (read at d180b55) are validation sets now.
Prints, per set, recall@1/@5/@10 and MRR@10 for dense, bm25, hybrid with RRF and hybrid with the ranker,
then recall@5 per kind of question ("found/questions").
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from qa.evaluate import evaluate, load_questions  # noqa: E402
from qa.index import Index  # noqa: E402

QUESTIONS = REPO / "tests" / "bench" / "questions"
VALIDATION = {"pydoc": [QUESTIONS / "pydoc-validation.jsonl", QUESTIONS / "pydoc-heldout-2.jsonl",
                        QUESTIONS / "pydoc-heldout-3.jsonl", QUESTIONS / "pydoc-heldout-4.jsonl",
                        QUESTIONS / "pydoc-heldout-5.jsonl"],
              "kernel": [QUESTIONS / "kernel-heldout.jsonl"],
              "seeds": [REPO / "tests" / "seeds-validation.jsonl", REPO / "tests" / "verdict" / "seeds-6.jsonl",
                        REPO / "tests" / "seeds-heldout.jsonl"]}
HELD_OUT = {"pydoc": [QUESTIONS / "pydoc-heldout-6.jsonl"], "kernel": [QUESTIONS / "kernel-heldout-2.jsonl"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", action="append", default=[], metavar="CORPUS=DIR")
    parser.add_argument("--held-out", action="store_true", help="read the held-out sets (once per release)")
    args = parser.parse_args()
    sets = HELD_OUT if args.held_out else VALIDATION
    for given in args.index:
        corpus, _, folder = given.partition("=")
        for path in sets.get(corpus, []):
            questions = load_questions(path)
            index = Index.open(folder)
            rows = {}
            for mode in ("dense", "bm25"):
                rows[mode] = evaluate(index, questions, (mode,), judge=False)[mode]
            for fusion in ("rrf", "learned"):
                index.search_settings = replace(index.search_settings, fusion=fusion)
                rows[f"hybrid {fusion}"] = evaluate(index, questions, ("hybrid",), judge=False)["hybrid"]
            answerable = sum(1 for q in questions if q.gold)
            print(f"\n{corpus}: {path.relative_to(REPO)} ({answerable} answerable), index {folder}")
            print("| mode | R@1 | R@5 | R@10 | MRR@10 | R@5 by kind |")
            print("|---|---:|---:|---:|---:|---|")
            for name, s in rows.items():
                kinds = ", ".join(f"{kind} {found}/{n}" for kind, (found, n) in s.recall_by_kind(5).items())
                print(f"| {name} | {s.recall(1):.3f} | {s.recall(5):.3f} | {s.recall(10):.3f} | {s.mrr(10):.3f} | {kinds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
