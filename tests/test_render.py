"""Document text reaches the terminal as inert text: no markup, no escape sequences."""

from __future__ import annotations

import io
import json

from rich.console import Console

from qa.ingest.split import Passage
from qa.ui.render import answer_json, answer_renderable, terminal_safe
from qa.search.hits import Answer, Hit

HOSTILE = (
    "[bold red]alarm[/] [link=https://evil.example]click[/link] "
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x1b]52;c;ZXZpbA==\x07clipboard "
    "\x1b[2J\x1b[Hcleared \x1b[31mred\x1b[0m \x9b31m \x07bell \u202eevil\u202c "
    "digital cooperation"
)


def render(hits, question: str, terminal: bool) -> str:
    buffer = io.StringIO()
    console = Console(width=100, file=buffer, force_terminal=terminal, color_system="truecolor" if terminal else None)
    console.print(answer_renderable(Answer(question, "hybrid", hits)))
    return buffer.getvalue()


def hostile_hit() -> Hit:
    passage = Passage("evil[bold].txt", 0, len(HOSTILE), 3, 4, HOSTILE)
    return Hit(1, 0.5, "hybrid", passage, "docs/evil[bold].txt")


def test_markup_and_escape_sequences_from_a_document_are_inert():
    for terminal in (False, True):
        out = render([hostile_hit()], "digital cooperation", terminal)
        assert "[bold red]alarm[/]" in out and "[link=https://evil.example]" in out
        assert "docs/evil[bold].txt:3-4" in out
        for sequence in ("\x1b]8;;https", "\x1b]52", "\x1b[2J", "\x1b[H", "\x9b", "\x07", "\u202e", "\x1b[31m"):
            assert sequence not in out, repr(sequence)
        if not terminal:
            assert "\x1b" not in out


def test_question_words_are_highlighted_on_a_terminal():
    out = render([hostile_hit()], "digital cooperation", terminal=True)
    assert "\x1b[33mdigital\x1b[0m" in out


def test_json_keeps_the_exact_text():
    data = json.loads(json.dumps(answer_json(Answer("q", "hybrid", [hostile_hit()]))))
    assert data["results"][0]["text"] == HOSTILE


def test_terminal_safe_keeps_ordinary_text():
    text = "Línea uno\n数字经济 — “quoted” 50%\ttab"
    assert terminal_safe(text) == "Línea uno\n数字经济 — “quoted” 50%    tab"


def test_the_printed_citation_parses_back_as_the_hit_s_own():
    """What the terminal prints after the rank, ", answer under § ..." included, is the hit's citation:
    `qa show` parses it back to the same record, even with a label and headings that need quoting."""
    from qa.citation import Citation

    cases = [
        (Passage("a § b.pdf", 0, 9, 1, 1, "Owls hunt", page=3, page_label="A 1"), None),
        (Passage("p.html", 0, 9, 1, 1, "Owls hunt", heading="Top > Fees ¶ 2", source_line=40), "Costs \x1b[2J"),
        (Passage("s.docx", 0, 9, 1, 1, "Owls hunt", heading="Methods", paragraph=5, last_heading="Results",
                 last_paragraph=1), None),
    ]
    for passage, answer_heading in cases:
        hit = Hit(1, 0.5, "hybrid", passage, "docs/" + passage.file, answer_start=0, answer_end=9,
                  answer_heading=answer_heading)
        out = render([hit], "owls", terminal=False)
        printed = out.splitlines()[0].split("1. ", 1)[1].rsplit("  score", 1)[0]
        assert printed == hit.answer_citation
        assert Citation.parse(printed, [hit.path]) == passage.cite(hit.path, answer_heading)


def judged(confidence: float, answered: bool = True, model: str = "hybrid") -> Answer:
    from qa.answer.verdict import Reason, Verdict

    reason = Reason("similarity", 0.5, "the best sentence is close to the question", 0.3)
    verdict = Verdict(answered, confidence, (reason,), None, model)
    passage = Passage("owls.txt", 0, 24, 1, 1, "Barn owls hunt at night.")
    return Answer("when do owls hunt", "hybrid", [Hit(1, 0.5, "hybrid", passage, "owls.txt")], answered, None, verdict)


def test_every_answer_shows_its_confidence_and_a_weak_one_is_labelled():
    from qa.ui.render import weak_match_below

    below = weak_match_below("hybrid")
    strong = render_answer(judged(min(1.0, below + 0.05)))
    assert f"Answer confidence {min(1.0, below + 0.05):.2f}." in strong and "Weak match" not in strong
    weak = render_answer(judged(below - 0.01))
    assert f"Weak match (answer confidence {below - 0.01:.2f})" in weak and "Barn owls hunt" in weak
    unanswered = render_answer(judged(0.01, answered=False))
    assert "No answer in these documents" in unanswered and "(answer confidence 0.01)" in unanswered
    assert "Weak match" not in unanswered and "Answer confidence" not in unanswered
    assert "confidence" not in render_answer(Answer("q", "hybrid", [hostile_hit()])), "not judged: nothing to show"


def test_the_weak_match_threshold_comes_from_the_verdict_calibration(tmp_path, monkeypatch):
    import qa.answer.verdict as verdict
    from qa.ui.render import weak_match_below

    data = json.loads(verdict.WEIGHTS_FILE.read_text(encoding="utf-8"))
    table = ["0.0-0.1: 50, 0.02", "0.1-0.2: 20, 0.30", "0.2-0.3: 20, 0.55", "0.3-0.4: 10, 0.45",
             "0.4-0.5: 10, 0.40", "0.5-0.6: 10, 0.70", "0.6-0.7: 10, 0.80", "0.7-1.0: 30, 0.95"]
    for mode in ("hybrid", "dense", "bm25"):
        data["fitted_on"]["summary"][mode]["cross_validated_calibration"] = table
    data["fitted_on"]["summary"]["bm25"]["cross_validated_calibration"] = [
        {"from": 0.0, "to": 0.5, "questions": 9, "share_right": 0.2},
        {"from": 0.5, "to": 0.7, "questions": 9, "share_right": 0.4},
        {"from": 0.7, "to": 1.0, "questions": 9, "share_right": 0.9}]
    del data["fitted_on"]["summary"]["dense"]
    weights = tmp_path / "verdict.json"
    weights.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(verdict, "WEIGHTS_FILE", weights)
    weak_match_below.cache_clear()
    try:
        threshold = verdict.load_weights()["hybrid"].threshold
        assert weak_match_below("hybrid") == max(threshold, 0.5)    # every bin from 0.5 up is right half the time
        assert weak_match_below("bm25") == max(verdict.load_weights()["bm25"].threshold, 0.7)
        assert weak_match_below("dense") == max(verdict.load_weights()["dense"].threshold, 0.5)   # no table: even odds
        # one small bin out of order (the verdict's hybrid table after its refit of 2026-12-05: 0.5-0.6 right 7 of
        # 9, 0.6-0.7 right 7 of 15) is pooled with its neighbour: 14 of 24 right, so 0.5, not 0.7
        data["fitted_on"]["summary"]["hybrid"]["cross_validated_calibration"] = [
            "0.0-0.5: 100, 0.10", "0.5-0.6: 9, 0.78", "0.6-0.7: 15, 0.47", "0.7-1.0: 100, 0.90"]
        weights.write_text(json.dumps(data), encoding="utf-8")
        weak_match_below.cache_clear()
        assert weak_match_below("hybrid") == max(threshold, 0.5)
    finally:
        weak_match_below.cache_clear()


def test_min_confidence_reports_a_weaker_answer_as_not_answered_and_withholds_its_passages():
    from qa.ui.render import below_minimum

    weak = below_minimum(judged(0.3), 0.5)
    assert weak.answered is False and weak.hits == []
    data = answer_json(weak)
    assert data["answered"] is False and data["results"] == [] and data["answer_confidence"] == 0.3
    assert data["why"][0]["signal"] == "min_confidence" and "--min-confidence 0.5" in data["why"][0]["text"]
    out = render_answer(weak)
    assert "No answer in these documents: the answer confidence is below --min-confidence 0.5 (answer confidence " \
           "0.30)." in out and "Passages withheld below --min-confidence." in out and "Barn owls" not in out
    strong = judged(0.6)
    assert below_minimum(strong, 0.5) is strong and below_minimum(strong, None) is strong
    assert below_minimum(judged(0.5), 0.5).hits, "at the minimum is enough"
    unjudged = Answer("q", "hybrid", [hostile_hit()])
    assert below_minimum(unjudged, 0.9) is unjudged


def render_answer(answer: Answer) -> str:
    buffer = io.StringIO()
    Console(width=200, file=buffer).print(answer_renderable(answer))
    return buffer.getvalue()
