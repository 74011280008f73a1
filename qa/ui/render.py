"""Hits for people (rich text, inert) and for machines (JSON-ready dicts, exact)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.text import Text

from qa.search.bm25 import tokenize
from qa.search.hits import Answer, Hit
from qa.answer.verdict import Reason, Verdict
from qa.ui.terminal import console, say, terminal_safe, visible  # noqa: F401 - shared by the ui modules

_STOP_WORDS = frozenset(
    """a an and are as at be by did do does for from has have how in is it its of on or
    the their there these this to was were what when where which who whom whose why will
    with""".split()
)


def _shown(text: str) -> str:
    """Passage text for the terminal: inert, a lone CR shown as the line break it is, the source's
    indentation kept (code stays readable)."""
    return terminal_safe(text.replace("\r\n", "\n").replace("\r", "\n"))


def highlight_terms(question: str) -> list[str]:
    """The question's words worth highlighting (no stop words)."""
    return sorted({t for t in tokenize(question) if t not in _STOP_WORDS}, key=len, reverse=True)


#: Sentences shown on each side of the answering sentence in the compact (default) display.
CONTEXT_SENTENCES = 1


def excerpt(hit: Hit) -> tuple[int, int]:
    """The part of a hit's passage shown by default, as offsets into `hit.passage.text`: the answering
    sentence (else the first sentence) with a sentence of context either side."""
    from qa.ingest.split import sentence_spans

    p = hit.passage
    sentences = sentence_spans(p.text, 0, len(p.text)) or [(0, len(p.text))]
    if hit.answer_start is not None and hit.answer_end is not None:
        a, b = hit.answer_start - p.start, hit.answer_end - p.start
        inside = [i for i, (s, e) in enumerate(sentences) if s < b and a < e] or [0]
    else:
        inside = [0]
    first = max(0, inside[0] - CONTEXT_SENTENCES)
    last = min(len(sentences) - 1, inside[-1] + CONTEXT_SENTENCES)
    return sentences[first][0], sentences[last][1]


def hit_text(hit: Hit, question: str, explain: bool = False, full: bool = False) -> Group:
    """A hit as rich renderables: a header line (rank, citation, score), then the answering sentence with a
    sentence either side (`full`: the whole passage), the answer marked and the question's words highlighted."""
    header = Text()
    header.append(f"{hit.rank:>2}. ", style="bold")
    citation, printed = hit.citation, hit.answer_citation     # the answer's section, when another, ends the latter
    header.append(visible(citation), style="bold cyan")
    if printed != citation:
        header.append(visible(printed[len(citation):]), style="cyan")
    header.append(f"  score {hit.score:.4f} ({hit.mode})", style="dim")
    p = hit.passage
    shown_start, shown_end = (0, len(p.text)) if full else excerpt(hit)
    body = Text()
    if shown_start > 0:
        body.append("[...] ", style="dim")
    if hit.answer_start is not None and hit.answer_end is not None:
        a = min(max(hit.answer_start - p.start, shown_start), shown_end)
        b = min(max(hit.answer_end - p.start, a), shown_end)
        body.append(_shown(p.text[shown_start:a]))
        body.append(_shown(p.text[a:b]), style="bold underline")
        body.append(_shown(p.text[b:shown_end]))
    else:
        body.append(_shown(p.text[shown_start:shown_end]))
    if shown_end < len(p.text):
        body.append(" [...]", style="dim")
    terms = highlight_terms(question)
    if terms:
        pattern = r"(?<![^\W_])(?:" + "|".join(re.escape(t) for t in terms) + r")(?![^\W_])"
        body.highlight_regex(re.compile(pattern, re.IGNORECASE), style="yellow")
    parts: list[Any] = [header]
    if explain:
        parts.append(Padding(Text(explanation(hit), style="dim"), (0, 0, 0, 4)))
    parts.append(Padding(body, (0, 0, 0, 4), expand=False))
    if hit.also_in:
        parts.append(Padding(Text("also in: " + visible(", ".join(hit.also_in)), style="dim"), (0, 0, 0, 4)))
    parts.append(Text(""))
    return Group(*parts)


def explanation(hit: Hit) -> str:
    """Why a hit ranked where it did: each side's rank and score, and the fused score."""
    dense = f"dense #{hit.dense_rank} (similarity {hit.dense_score:.3f})" if hit.dense_rank else "dense: not in its top list"
    bm25 = f"bm25 #{hit.bm25_rank} (score {hit.bm25_score:.2f})" if hit.bm25_rank else "bm25: not in its top list"
    fused = f" · fused {hit.score:.4f}" if hit.mode == "hybrid" else ""
    if hit.ranked_by:   # the learned ranker's score and its largest terms
        terms = ", ".join(f"{name} {value:+.2f}" for name, value in hit.ranked_by[:4])
        fused = f" · ranker {hit.score:.2f} ({terms})"
    return f"{dense} · {bm25}{fused}"


def answer_renderable(answer: Answer, explain: bool = False, full: bool = False) -> Group:
    """All hits for a question under the answer confidence: a warning when none of them answers it, a
    "weak match" label when the confidence is below `weak_match_below` (`full`: whole passages)."""
    parts: list[Any] = []
    verdict = answer.verdict
    if answer.answered is False and verdict is not None:
        reason = f": {verdict.top_reason.text}" if verdict.top_reason else ""
        nearest = " Nearest passages:" if answer.hits else ""
        parts.append(Text(f"No answer in these documents{terminal_safe(reason)} (answer confidence "
                          f"{verdict.answer_confidence:.2f}).{nearest}", style="bold yellow"))
    elif verdict is not None and answer.hits:
        if verdict.answer_confidence < weak_match_below(verdict.model):
            parts.append(Text(f"Weak match (answer confidence {verdict.answer_confidence:.2f}): the passages "
                              "may not answer this; check them.", style="bold yellow"))
        else:
            parts.append(Text(f"Answer confidence {verdict.answer_confidence:.2f}.", style="dim"))
    if explain and verdict is not None:
        parts.append(Text(verdict_explanation(verdict), style="dim"))
    if not answer.hits and verdict is not None and verdict.top_reason and verdict.top_reason.signal == "min_confidence":
        parts.append(Text("Passages withheld below --min-confidence.", style="yellow"))
    elif not answer.hits:
        parts.append(Text("No passage matches that question.", style="yellow"))
    parts += [hit_text(hit, answer.question, explain, full) for hit in answer.hits]
    return Group(*parts)


@lru_cache(maxsize=8)
def weak_match_below(model: str) -> float:
    """The answer confidence under which an answer of weight set `model` is labelled a weak match: from the
    cross-validated calibration in qa/answer/verdict.json, made monotone (qa.evaluate.monotone), the lowest
    confidence from which every bin held as many right as wrong; never below the set's threshold (under it:
    "No answer"); even odds (0.5: the confidence is a calibrated probability) with no calibration table."""
    from qa.answer.verdict import WEIGHTS_FILE, load_weights
    from qa.evaluate import monotone

    threshold = load_weights()[model].threshold
    try:
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
        bins = sorted(_calibration_bin(row) for row in data["fitted_on"]["summary"][model]["cross_validated_calibration"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        bins = []
    if not bins:
        return max(threshold, 0.5)
    below = bins[-1][1]
    for low, _, _, share_right in reversed(monotone(bins)):
        if share_right < 0.5:
            break
        below = low
    return max(threshold, below)


def _calibration_bin(row: Any) -> tuple[float, float, int, float]:
    """(from, to, questions, share right) of a calibration row: `"0.4-0.5: 16, 0.62"` or a dict of those."""
    if isinstance(row, dict):
        return float(row["from"]), float(row["to"]), int(row["questions"]), float(row["share_right"])
    bounds, _, counts = str(row).partition(":")
    low, _, high = bounds.strip().partition("-")
    return float(low), float(high), int(counts.split(",")[0]), float(counts.split(",")[1])


def below_minimum(answer: Answer, minimum: float | None) -> Answer:
    """`--min-confidence`: an answer whose confidence is below `minimum` reported as not answered, its hits
    withheld (a script reading the first result never gets a passage it did not ask for), the reason first
    in `why`. Answers not judged (no confidence) and `minimum` None are left as they are."""
    verdict = answer.verdict
    if minimum is None or verdict is None or verdict.answer_confidence >= minimum:
        return answer
    reason = Reason("min_confidence", round(minimum, 4),
                    f"the answer confidence is below --min-confidence {minimum:g}", 0.0)
    verdict = replace(verdict, answered=False, reasons=(reason, *verdict.reasons))
    return replace(answer, hits=[], answered=False, verdict=verdict)


def verdict_explanation(verdict: Verdict) -> str:
    """Why the verdict went as it did: each signal's value and how much it weighed, strongest first."""
    state = "answered" if verdict.answered else "not answered"
    lines = [f"verdict: {state}, answer confidence {verdict.answer_confidence:.2f} ({verdict.model} weights)"]
    lines += [f"  {r.effect:+.2f}  {terminal_safe(r.text)}  [{r.signal} {r.value:g}]" for r in verdict.reasons]
    return "\n".join(lines)


def verdict_json(verdict: Verdict | None) -> dict[str, Any]:
    """`answer_confidence` and `why` (each signal: value, text, effect in log-odds) as plain data."""
    if verdict is None:
        return {"answer_confidence": None, "why": None}
    return {"answer_confidence": round(verdict.answer_confidence, 4),
            "why": [{"signal": r.signal, "value": r.value, "text": r.text, "effect": r.effect} for r in verdict.reasons]}


def hit_json(hit: Hit, explain: bool = False) -> dict[str, Any]:
    """A hit as plain data; the text is exactly the source span."""
    p = hit.passage
    data: dict[str, Any] = {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "file": p.file,
        "path": hit.path,
        "line_start": p.line_start,
        "line_end": p.line_end,
        "page": p.page,
        "page_label": p.page_label,
        "heading": p.heading,
        "source_line": p.source_line,
        "paragraph": p.paragraph,
        "citation": hit.citation,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "answer_start": hit.answer_start,
        "answer_end": hit.answer_end,
        "answer_heading": hit.answer_heading,
        "also_in": list(hit.also_in),
    }
    if explain:
        data.update(
            dense_rank=hit.dense_rank,
            dense_score=None if hit.dense_score is None else round(hit.dense_score, 6),
            bm25_rank=hit.bm25_rank,
            bm25_score=None if hit.bm25_score is None else round(hit.bm25_score, 6),
            fused_score=round(hit.score, 6) if hit.mode == "hybrid" else None,
            ranked_by=dict(hit.ranked_by) or None,
        )
    return data


def answer_json(answer: Answer, explain: bool = False, **extra: Any) -> dict[str, Any]:
    """One question's answer as plain data (the `qa ask --json` object and a `qa batch` line)."""
    return {
        **extra,
        "question": answer.question,
        "mode": answer.mode,
        "answered": answer.answered,
        "confidence": None if answer.confidence is None else round(answer.confidence, 4),
        **verdict_json(answer.verdict),
        "results": [hit_json(h, explain) for h in answer.hits],
    }


def kind_tables(scores: dict[str, Any]) -> list[Any]:
    """`qa eval`'s recall@1/recall@5 by kind of answerable question and mode (none for a set of one kind)."""
    from rich.table import Table

    kinds = sorted({kind for s in scores.values() for kind in s.recall_by_kind(5)})
    if len(kinds) < 2:
        return []
    table = Table(title="recall@1 / recall@5 by kind of question", title_justify="left")
    table.add_column("kind")
    for mode in scores:
        table.add_column(mode, justify="right")
    for kind in kinds:
        table.add_row(Text(terminal_safe(kind)), *(
            "—" if kind not in s.recall_by_kind(5) else
            f"{s.recall_by_kind(1)[kind][0]}/{s.recall_by_kind(5)[kind][0]} of {s.recall_by_kind(5)[kind][1]}"
            for s in scores.values()))
    return [table]


def verdict_tables(scores: dict[str, Any]) -> list[Any]:
    """`qa eval`'s verdict tables: said "no answer" per question kind and mode, and the calibration
    of the default mode's answer confidence (bins against the share of questions answered right)."""
    from rich.table import Table

    judged = {mode: s for mode, s in scores.items() if s.by_kind}
    if not judged:
        return []
    kinds = Table(title="Said \"no answer\" (flagged; false alarms for answerable kinds)", title_justify="left")
    kinds.add_column("kind")
    for mode in judged:
        kinds.add_column(mode, justify="right")
    for kind in sorted({k for s in judged.values() for k in s.by_kind}):
        kinds.add_row(Text(terminal_safe(kind)), *(
            "—" if kind not in s.by_kind else f"{s.by_kind[kind][0]}/{s.by_kind[kind][1]}" for s in judged.values()))
    mode = "hybrid" if "hybrid" in judged else next(iter(judged))
    calibration = Table(title=f"Answer confidence against answers right ({mode}; right: a top-3 passage "
                              "answers)", title_justify="left")
    for column in ("confidence", "questions", "right", "share right"):
        calibration.add_column(column, justify="right")
    for row in judged[mode].calibration():
        calibration.add_row(f"{row['from']:.1f}–{row['to']:.1f}", str(row["questions"]), str(row["right"]),
                            f"{row['share_right']:.2f}")
    return [kinds, calibration]


def shown_renderable(shown: Any) -> Group:
    """`qa show`: the citation, then the cited lines (marked `>`) with the lines around them, numbered."""
    parts: list[Any] = [Text(visible(f"{shown.citation}  ({shown.file}, lines {shown.cited_first_line}-"
                                          f"{shown.cited_last_line} of the text qa extracted)"), style="bold cyan")]
    for number, cited, line in shown.lines():
        row = Text(f"{'>' if cited else ' '} {number:>5} | ", style="dim")
        row.append(_shown(line), style="bold" if cited else "")
        parts.append(row)
    return Group(*parts)
