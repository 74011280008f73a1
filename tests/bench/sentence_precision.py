"""What storing sentence vectors as int8 changes in what qa prints:
`python tests/bench/sentence_precision.py BEFORE AFTER QUESTIONS.jsonl ...`.

BEFORE and AFTER are two indexes of the same files with the same model and settings: BEFORE written by a
qa of index format 3 (float16 sentence vectors, which the build's pipeline already holds in float16, so
within about 1e-5 of float32 cosines), AFTER by this one (int8 with a scale per row). Both are read by
this qa, so the only difference is the stored sentence vectors (the passage vectors are the same bits).
For each question set, hybrid mode, k = 10: how many questions keep their rank 1, their whole top 10 in
order, their verdict, and how many of the top-3 hits both runs share keep the same marked sentence; the
largest change in answer_confidence.

Measured 2026-12-05 on the whole Python docs (9,528 passages; BEFORE built at c5c12f3, AFTER at the
commit that made sentence vectors int8; load about 1.5). The sets were all read before (validation and fit):

| set | questions | same rank 1 | same top 10 | same marked sentence (shared top-3 hits) | same verdict | largest answer_confidence change |
|---|---|---|---|---|---|---|
| pydoc-validation.jsonl | 39 | 39/39 | 33/39 | 115/117 | 39/39 | 0.0005 |
| pydoc-heldout-2.jsonl | 60 | 60/60 | 48/60 | 178/179 | 60/60 | 0.0009 |
| pydoc-heldout-3.jsonl | 60 | 60/60 | 51/60 | 180/180 | 60/60 | 0.0005 |
| pydoc-fit-2.jsonl | 154 | 152/154 | 137/154 | 455/457 | 154/154 | 0.0010 |

`qa eval` of pydoc-heldout-2 on AFTER: hybrid R@1 0.583, R@5 0.850, R@10 0.883, MRR@10 0.689, the figures
of BEFORE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from qa import Index  # noqa: E402
from qa.evaluate import load_questions  # noqa: E402


def compare(before: Index, after: Index, path: Path) -> str:
    questions = [q.question for q in load_questions(path)]
    old, new = before.answer_many(questions, k=10), after.answer_many(questions, k=10)
    top1 = top10 = verdicts = marked = shared = 0
    confidence = 0.0
    for a, b in zip(old, new):
        ranked_a = [(h.passage.file, h.passage.start) for h in a.hits]
        ranked_b = [(h.passage.file, h.passage.start) for h in b.hits]
        top1 += ranked_a[:1] == ranked_b[:1]
        top10 += ranked_a == ranked_b
        verdicts += a.answered == b.answered
        confidence = max(confidence, abs((a.answer_confidence or 0.0) - (b.answer_confidence or 0.0)))
        for x, y in zip(a.hits[:3], b.hits[:3]):
            if (x.passage.file, x.passage.start, x.passage.end) == (y.passage.file, y.passage.start, y.passage.end):
                shared += 1
                marked += (x.answer_start, x.answer_end) == (y.answer_start, y.answer_end)
    n = len(questions)
    return (f"| {path.name} | {n} | {top1}/{n} | {top10}/{n} | {marked}/{shared} | {verdicts}/{n} "
            f"| {confidence:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("questions", type=Path, nargs="+")
    args = parser.parse_args()
    before, after = Index.open(args.before), Index.open(args.after)
    print("| set | questions | same rank 1 | same top 10 | same marked sentence (shared top-3 hits) "
          "| same verdict | largest answer_confidence change |")
    print("|---|---|---|---|---|---|---|")
    for path in args.questions:
        print(compare(before, after, path), flush=True)


if __name__ == "__main__":
    main()
