"""Passage size and overlap at size: `python tests/bench/granularity.py`.

    python tests/bench/corpora.py                 # once: tests/bench/.cache/python-doc-txt
    python tests/bench/granularity.py [--settings 200/2,254/0] [--validation]

Builds the Python docs corpus and the seeds under each passage size / overlap (in word pieces /
sentences) and prints passages, build seconds and MRR@10 / recall@1 / recall@5 / recall@10 per mode on
the tuning sets (pydoc-tune and the seeds' sets that tune.py reads). `--validation` adds the validation sets
(pydoc-validation, tests/seeds-validation.jsonl); read them only to confirm a choice made on the tuning sets.
Indexes are kept under tests/bench/.cache/granularity/ so a second run only evaluates.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from tune import HELD_OUT, question_sets

from qa import Index
from qa.config import IndexSettings
from qa.evaluate import evaluate, load_questions

CACHE = REPO / "tests" / "bench" / ".cache"
CORPUS = CACHE / "python-doc-txt"
QUESTIONS = REPO / "tests" / "bench" / "questions"
MODES = ("dense", "bm25", "hybrid")


def built(corpus: Path, name: str, settings: IndexSettings) -> tuple[Index, float | None]:
    """The index of `corpus` under `settings`, built once (seconds of the build, None when cached)."""
    folder = CACHE / "granularity" / f"{name}-{settings.max_tokens}-{settings.overlap}"
    seconds = None
    if not (folder / "CURRENT").is_file():
        began = time.perf_counter()
        Index.build([corpus], folder, settings=settings)
        seconds = time.perf_counter() - began
    return Index.open(folder), seconds


def cells(index: Index, questions: list) -> list[str]:
    scores = evaluate(index, questions, MODES, judge=False)
    return [f"{scores[m].mrr():.3f}/{scores[m].recall(1):.2f}/{scores[m].recall(5):.2f}/{scores[m].recall(10):.2f}"
            for m in MODES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", default="200/2,200/1,200/0,254/1,254/0",
                        help="comma-separated max_tokens/overlap pairs")
    parser.add_argument("--validation", action="store_true", help="also the validation sets (confirm, never choose)")
    args = parser.parse_args()
    pydoc = {"pydoc-tune": load_questions(QUESTIONS / "pydoc-tune.jsonl")}
    seeds = question_sets()
    if args.validation:
        pydoc["pydoc-validation"] = load_questions(QUESTIONS / "pydoc-validation.jsonl")
        seeds["seeds-validation"] = load_questions(HELD_OUT)
    header = ["setting", "passages", "build s"] + [f"{name} {m}" for name in [*pydoc, *seeds] for m in MODES]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    for item in args.settings.split(","):
        tokens, overlap = (int(x) for x in item.split("/"))
        settings = replace(IndexSettings(), max_tokens=tokens, overlap=overlap)
        big, seconds = built(CORPUS, "pydoc", settings)
        small, _ = built(REPO / "seeds", "seeds", settings)
        row = [f"{tokens} tok, overlap {overlap}", str(big.size), f"{seconds:.0f}" if seconds else "cached"]
        row += [c for questions in pydoc.values() for c in cells(big, questions)]
        row += [c for questions in seeds.values() for c in cells(small, questions)]
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
