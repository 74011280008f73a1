"""Retrieval quality on a question set: recall@k and MRR@10 per search mode."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable
from typing import Any

from qa.config import ANSWER_PASSAGES
from qa.errors import UsageError
from qa.index import Index
from qa.search.hits import Hit


@dataclass(frozen=True)
class Question:
    """A question and where its answer is (`gold` empty: the corpus does not answer it)."""

    id: str
    question: str
    gold: tuple[tuple[str, str], ...]   # (file, phrase the passage must contain)
    kind: str = ""                       # e.g. answerable, near-topic, off-topic (default: by gold)

    @property
    def group(self) -> str:
        """The kind reported by eval: the line's own `kind`, else answerable/unanswerable by its gold."""
        return self.kind or ("answerable" if self.gold else "unanswerable")


@dataclass
class Scores:
    """One mode's numbers over a question set."""

    mode: str
    answerable: int = 0
    found_at: dict[str, int | None] = field(default_factory=dict)   # question id -> rank of first answer
    misses: list[dict[str, Any]] = field(default_factory=list)
    unanswerable: int = 0
    flagged: int | None = None         # unanswerable questions said to have no good answer (None: not judged)
    false_alarms: int | None = None    # answerable questions said to have no good answer
    by_kind: dict[str, list[int]] = field(default_factory=dict)   # kind -> [said not answered, questions]
    judged: list[tuple[float, bool]] = field(default_factory=list)  # (answer confidence, top passages answer)
    kinds: dict[str, str] = field(default_factory=dict)   # answerable question id -> its kind (paraphrase, keyword...)

    def recall(self, k: int) -> float:
        ranks = self.found_at.values()
        return sum(1 for r in ranks if r is not None and r <= k) / self.answerable if self.answerable else 0.0

    def mrr(self, k: int = 10) -> float:
        ranks = self.found_at.values()
        return sum(1 / r for r in ranks if r is not None and r <= k) / self.answerable if self.answerable else 0.0

    def recall_by_kind(self, k: int) -> dict[str, tuple[int, int]]:
        """Per kind of answerable question: (found in the top k, questions)."""
        counts: dict[str, tuple[int, int]] = {}
        for question, rank in self.found_at.items():
            found, total = counts.get(self.kinds.get(question, ""), (0, 0))
            counts[self.kinds.get(question, "")] = (found + (rank is not None and rank <= k), total + 1)
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "answerable": self.answerable,
            "recall@1": round(self.recall(1), 4), "recall@5": round(self.recall(5), 4),
            "recall@10": round(self.recall(10), 4), "mrr@10": round(self.mrr(10), 4),
            "unanswerable": self.unanswerable, "flagged": self.flagged, "false_alarms": self.false_alarms,
            "by_kind": {kind: {"questions": n, "flagged": f} for kind, (f, n) in self.by_kind.items()},
            "recall_by_kind": {kind: {"questions": n, "recall@1": round(self.recall_by_kind(1)[kind][0] / n, 4),
                                      "recall@5": round(found / n, 4)}
                               for kind, (found, n) in self.recall_by_kind(5).items()},
            "calibration": self.calibration(),
            "misses": self.misses,
        }

    def calibration(self, bins: int = 10) -> list[dict[str, Any]]:
        """Questions per answer-confidence bin and the share whose top passages answer them."""
        return calibration(self.judged, bins)


def calibration(judged: Iterable[tuple[float, bool]], bins: int = 10) -> list[dict[str, Any]]:
    """For each confidence bin holding questions: its bounds, the questions and how many were right."""
    judged = list(judged)
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [bool(ok) for c, ok in judged if low <= c < high or (b == bins - 1 and c == 1.0)]
        if inside:
            table.append({"from": low, "to": high, "questions": len(inside), "right": sum(inside),
                          "share_right": round(sum(inside) / len(inside), 4)})
    return table


def monotone(bins: list[tuple[float, float, int, float]]) -> list[tuple[float, float, int, float]]:
    """Calibration bins (from, to, questions, share right), in order, with neighbours that break the order
    pooled (pool-adjacent-violators, the isotonic fit): one small noisy bin cannot say that more confident
    answers are right less often."""
    pooled: list[tuple[float, float, int, float]] = []
    for row in bins:
        pooled.append(row)
        while len(pooled) > 1 and pooled[-2][3] > pooled[-1][3]:
            (low, _, n1, s1), (_, high, n2, s2) = pooled[-2], pooled[-1]
            pooled[-2:] = [(low, high, n1 + n2, (s1 * n1 + s2 * n2) / max(n1 + n2, 1))]
    return pooled


def load_questions(path: Path) -> list[Question]:
    """Read a JSON-lines question file (`id`, `question`, `gold: [{file, contains}]`)."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()   # a BOM is dropped; CRLF ends lines too
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"Cannot read {path}: {reason}. Name a JSON-lines question file.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            gold = tuple((str(g["file"]), str(g["contains"])) for g in item.get("gold", []))
            if not isinstance(item["question"], str) or not item["question"].strip():
                raise ValueError("the question must be non-empty text")
            kind = item.get("kind") or ""
            if not isinstance(kind, str):
                raise ValueError("kind must be text")
            questions.append(Question(str(item.get("id", number)), item["question"], gold, kind))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise UsageError(f"{path}:{number} is not a question line ({error}); "
                             'expected {"id", "question", "gold": [{"file", "contains"}]}.') from None
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise UsageError(f"{path} uses the id {duplicate!r} twice; give every question its own id.")
    return questions


def normalise(text: str) -> str:
    """Lower case with whitespace runs collapsed, for phrase matching."""
    return " ".join(text.lower().split())


def gold_span(text: str, start: int, phrase: str) -> tuple[int, int] | None:
    """Source offsets of `phrase` inside a passage text starting at `start` (case- and whitespace-insensitive,
    as `answers` matches), or None."""
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


def answers(hit: Hit, gold: tuple[tuple[str, str], ...]) -> bool:
    """True when the hit's passage comes from a gold file and contains its phrase."""
    file = hit.passage.file
    text = normalise(hit.passage.text)
    return any((file == f or file.endswith("/" + f)) and normalise(phrase) in text for f, phrase in gold)


def first_answer(hits: list[Hit], gold: tuple[tuple[str, str], ...]) -> int | None:
    """Rank of the first hit that answers, if any."""
    return next((hit.rank for hit in hits if answers(hit, gold)), None)


def evaluate(index: Index, questions: list[Question], modes: tuple[str, ...] = ("dense", "bm25", "hybrid"),
             depth: int = 10, judge: bool = True) -> dict[str, Scores]:
    """Scores per mode; a question counts as found at the rank of its first answering passage.

    `judge=False` skips the "no good answer" judgement (faster; flagged counts stay None).
    The hits scored are the ones `qa ask -k K` prints, for every K <= depth (hits do not depend on k), and a
    miss names what came first as the terminal prints it (`answer_citation`: the merged hit, never the
    passage that ranked before merging).
    """
    results: dict[str, Scores] = {}
    if index.dense_error():
        modes = tuple(m for m in modes if m == "bm25")
    for mode in modes:
        scores = Scores(mode, answerable=sum(1 for q in questions if q.gold),
                        unanswerable=sum(1 for q in questions if not q.gold))
        answers = index.answer_many([q.question for q in questions], depth, mode, judge=judge) if questions else []
        for question, answer in zip(questions, answers):
            if answer.answered is not None:
                scores.flagged = (scores.flagged or 0) + (not question.gold and not answer.answered)
                scores.false_alarms = (scores.false_alarms or 0) + (bool(question.gold) and not answer.answered)
                counts = scores.by_kind.setdefault(question.group, [0, 0])
                counts[0] += not answer.answered
                counts[1] += 1
            if answer.answer_confidence is not None:
                top = first_answer(answer.hits[:ANSWER_PASSAGES], question.gold) if question.gold else None
                scores.judged.append((answer.answer_confidence, top is not None))
            if not question.gold:
                continue
            rank = first_answer(answer.hits, question.gold)
            scores.found_at[question.id] = rank
            scores.kinds[question.id] = question.group
            if rank != 1:
                first = answer.hits[0] if answer.hits else None
                scores.misses.append({
                    "id": question.id, "question": question.question, "rank": rank,
                    "first": first.answer_citation if first else None,
                    "first_text": first.passage.text[:160] if first else None,
                })
        results[mode] = scores
    return results
