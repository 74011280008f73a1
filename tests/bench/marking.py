"""Answer-marking accuracy: `python tests/bench/marking.py --index DIR QUESTIONS.jsonl ...`.

For every answerable question, take the first hit (hybrid, top 10) whose passage answers it (gold file and
phrase, as `qa eval` counts it) and check the sentence marked in that hit: it is right when it overlaps the
gold phrase in the source file. Prints, per question set, right / hits marked / questions with an answering
hit in the top 3 (only the top `config.ANSWER_PASSAGES` hits get a marked sentence).

Runs against whatever `qa` is first on PYTHONPATH, so the same command compares two versions of the code
(each on an index it built).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from qa import Index, config  # noqa: E402
from qa.evaluate import answers, load_questions, normalise  # noqa: E402


def gold_span(text: str, start: int, phrase: str) -> tuple[int, int] | None:
    """Source offsets of `phrase` inside a passage text starting at `start` (whitespace-insensitive)."""
    words = normalise(phrase).split()
    lowered = text.lower()
    position = lowered.find(words[0]) if words else -1
    while position >= 0:
        cursor, ok = position, True
        for word in words:
            while cursor < len(text) and text[cursor].isspace():
                cursor += 1
            if not lowered.startswith(word, cursor):
                ok = False
                break
            cursor += len(word)
        if ok:
            return start + position, start + cursor
        position = lowered.find(words[0], position + 1)
    return None


def score(index: Index, path: Path) -> dict[str, object]:
    questions = [q for q in load_questions(path) if q.gold]
    results = index.answer_many([q.question for q in questions], 10, "hybrid")
    right = marked = reachable = 0
    wrong: list[str] = []
    for question, answer in zip(questions, results):
        hit = next((h for h in answer.hits[: config.ANSWER_PASSAGES] if answers(h, question.gold)), None)
        if hit is None:
            continue
        reachable += 1
        if hit.answer_start is None:
            wrong.append(f"{question.id}: no sentence marked")
            continue
        marked += 1
        spans = [gold_span(hit.passage.text, hit.passage.start, phrase) for _, phrase in question.gold]
        if any(s and s[0] < hit.answer_end and hit.answer_start < s[1] for s in spans):
            right += 1
        else:
            source = index.stored.document_text(hit.passage.file)
            wrong.append(f"{question.id}: marked {source[hit.answer_start:hit.answer_end][:90]!r}")
    return {"set": path.name, "questions": len(questions), "reachable": reachable, "marked": marked,
            "right": right, "accuracy": round(right / reachable, 3) if reachable else None, "wrong": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--verbose", action="store_true", help="list the wrongly marked questions")
    parser.add_argument("questions", nargs="+", type=Path)
    args = parser.parse_args()
    index = Index.open(args.index)
    total = {"reachable": 0, "right": 0}
    for path in args.questions:
        result = score(index, path)
        total["reachable"] += result["reachable"]
        total["right"] += result["right"]
        wrong = result.pop("wrong")
        print(json.dumps(result))
        if args.verbose:
            for line in wrong:
                print("   ", line)
    print(json.dumps({"set": "all", **total,
                      "accuracy": round(total["right"] / total["reachable"], 3) if total["reachable"] else None}))


if __name__ == "__main__":
    main()
