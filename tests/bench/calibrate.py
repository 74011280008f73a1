"""Calibrate the "no good answer" threshold: `python tests/bench/calibrate.py [--index DIR]`.

For every question set, the confidence (best question–sentence similarity over the top
passages) of answerable and unanswerable questions, and the false-alarm and miss rates
for a range of thresholds. The chosen threshold lives in qa/config.py (ANSWER_THRESHOLD).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from qa import Index, config  # noqa: E402
from qa.evaluate import Question, load_questions  # noqa: E402

SETS = [REPO.parent / "shared" / "dev-questions.jsonl", REPO / "tests" / "questions.jsonl",
        REPO / "tests" / "retrieval.jsonl", REPO / "tests" / "unanswerable.jsonl"]
#: Questions the defaults are judged on, never calibrated on (tests/test_heldout.py): this script refuses them.
HELD_OUT = REPO / "tests" / "heldout.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=str(REPO / "index"))
    args = parser.parse_args()
    index = Index.open(args.index)
    if any(path.resolve() == HELD_OUT.resolve() for path in SETS):
        raise SystemExit(f"{HELD_OUT} is the held-out set; calibration must never read it.")
    questions: list[Question] = [q for path in SETS if path.is_file() for q in load_questions(path)]
    answers = index.answer_many([q.question for q in questions], config.DEFAULT_K, "hybrid")
    answerable = sorted(a.confidence for q, a in zip(questions, answers) if q.gold)
    unanswerable = sorted(a.confidence for q, a in zip(questions, answers) if not q.gold)
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable questions "
          f"(threshold now {config.ANSWER_THRESHOLD})\n")
    print("| threshold | false alarms (answerable flagged) | misses (unanswerable not flagged) |")
    print("|---|---|---|")
    for step in range(20, 61, 2):
        t = step / 100
        alarms = sum(c < t for c in answerable)
        misses = sum(c >= t for c in unanswerable)
        print(f"| {t:.2f} | {alarms}/{len(answerable)} ({alarms / len(answerable):.0%}) "
              f"| {misses}/{len(unanswerable)} ({misses / len(unanswerable):.0%}) |")
    print("\nunanswerable, most confident first:")
    for q, a in sorted(((q, a) for q, a in zip(questions, answers) if not q.gold), key=lambda p: -p[1].confidence):
        print(f"  {a.confidence:.3f}  {q.id}  {q.question}")


if __name__ == "__main__":
    main()
