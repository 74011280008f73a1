"""Retrieval quality per kind of question on the whole Python docs corpus: `python tests/bench/quality_by_kind.py`.

    python tests/bench/corpora.py                       # once: tests/bench/.cache/python-doc-txt
    python tests/bench/quality_by_kind.py [--index DIR] [--set pydoc-validation] [--build]

Prints, per question set, mode and kind (paraphrase, keyword, lookup, numeric, multi), recall@1/5/10 and
MRR@10 as `qa eval` counts them. `--build` (re)builds the index with today's defaults first (about 5 min
on a laptop; unchanged passages are not embedded again). tests/test_heldout_pydoc.py asserts the same
per-kind figures on a slice of the corpus small enough for the test suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from qa import Index
from qa.evaluate import Scores, evaluate, load_questions

CORPUS = REPO / "tests" / "bench" / ".cache" / "python-doc-txt"
QUESTIONS = REPO / "tests" / "bench" / "questions"
MODES = ("dense", "bm25", "hybrid")


def by_kind(index: Index, questions: list) -> dict[str, dict[str, Scores]]:
    """Scores per kind ("all" first) and mode."""
    kinds = ["all"] + sorted({q.kind for q in questions})
    return {kind: evaluate(index, [q for q in questions if kind in ("all", q.kind)], MODES, judge=False)
            for kind in kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=REPO / "tests" / "bench" / ".cache" / "pydoc-defaults-index")
    parser.add_argument("--set", action="append", help="question set(s) under tests/bench/questions (default: both pydoc sets)")
    parser.add_argument("--build", action="store_true", help="build or update the index first")
    args = parser.parse_args()
    if args.build:
        print(Index.build([CORPUS], args.index).seconds, "s to build", file=sys.stderr)
    index = Index.open(args.index)
    for name in args.set or ["pydoc-tune", "pydoc-validation"]:
        questions = load_questions(QUESTIONS / f"{name}.jsonl")
        print(f"\n### {name} ({len(questions)} questions, {index.size} passages)\n")
        print("| kind | n | mode | R@1 | R@5 | R@10 | MRR@10 |\n|---|---:|---|---:|---:|---:|---:|")
        for kind, scores in by_kind(index, questions).items():
            for mode in MODES:
                s = scores[mode]
                print(f"| {kind} | {s.answerable} | {mode} | {s.recall(1):.3f} | {s.recall(5):.3f} | "
                      f"{s.recall(10):.3f} | {s.mrr():.3f} |")


if __name__ == "__main__":
    main()
