"""`qa eval`, the answering sentence, "no good answer" and --explain (merging and copies: test_collapse.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluate import evaluate, load_questions
from qa.search.rank import FEATURES
from tests.conftest import REPO, SEEDS, run_qa

BGI = "What did BGI Genomics set up in Uruguay?"
DEV = REPO.parent / "shared" / "dev-questions.jsonl"
SETS = [REPO / "tests" / "retrieval.jsonl", REPO / "tests" / "questions.jsonl", DEV]


def test_eval_prints_a_table_per_mode_and_the_misses(seeds_index: Path):
    result = run_qa("eval", "tests/questions.jsonl", "--index", str(seeds_index))
    assert result.returncode == 0, result.stderr
    for word in ("dense", "bm25", "hybrid", "recall@1", "recall@5", "recall@10", "MRR@10", "no answer, flagged",
                 "Not first in hybrid"):
        assert word in result.stdout


def test_eval_json_on_the_dev_set_meets_the_bar(seeds_index: Path):
    if not DEV.is_file():
        pytest.skip("../shared/dev-questions.jsonl is not beside the repository")
    result = run_qa("eval", str(DEV), "--json", "--index", str(seeds_index))
    modes = json.loads(result.stdout)["modes"]
    hybrid = modes["hybrid"]
    assert hybrid["recall@5"] == 1.0 and hybrid["mrr@10"] >= 0.9
    # Precision first (issue 25): no answerable question flagged. Of the two unanswerable ones, the exchange
    # rate of the yuan and the Brazilian real is no longer flagged since "Brazilian" counts as "Brazil", which
    # the seeds name: a near-topic miss the README's verdict section counts among the flags that fewer false
    # alarms cost. The World Cup one is still flagged.
    assert hybrid["unanswerable"] == 2 and hybrid["flagged"] >= 1 and hybrid["false_alarms"] == 0
    assert modes["bm25"]["flagged"] is not None, "bm25 mode is judged too (without the model)"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_hybrid_is_at_least_as_good_as_the_better_side_on_every_set(index, path):
    """A floor on the sets the search defaults were tuned on (tests/bench/tune.py reads all three): it catches a
    regression (with BM25 weight 0 in the fusion it fails on retrieval.jsonl, MRR 0.922 < 0.969, and on
    questions.jsonl, recall@5 0.94 < 0.96), but passing it is no evidence that fusion helps on unseen
    questions: the strict comparisons are on the validation sets (test_heldout.py, test_heldout_pydoc.py)."""
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    scores = evaluate(index, load_questions(path))
    best_single = max(scores["dense"].mrr(), scores["bm25"].mrr())
    assert scores["hybrid"].mrr() >= best_single
    assert scores["hybrid"].recall(5) >= max(scores["dense"].recall(5), scores["bm25"].recall(5))


def test_eval_only_counts_the_gold_file_and_phrase(index, tmp_path: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "right", "question": BGI, "gold": [{"file": "004_bc3bbd6dfccf26ec.txt", "contains": "clinical  LABORATORY in\nUruguay"}]},
        {"id": "wrong-file", "question": BGI, "gold": [{"file": "000_ad54f42682f048e2.txt", "contains": "clinical laboratory in Uruguay"}]},
        {"id": "wrong-phrase", "question": BGI, "gold": [{"file": "004_bc3bbd6dfccf26ec.txt", "contains": "a laboratory on Mars"}]},
    ]))
    hybrid = evaluate(index, load_questions(questions), ("hybrid",))["hybrid"]
    assert hybrid.found_at == {"right": 1, "wrong-file": None, "wrong-phrase": None}
    assert hybrid.recall(10) == pytest.approx(1 / 3) and hybrid.mrr() == pytest.approx(1 / 3)


def test_the_answering_sentence_is_marked(seeds_index: Path):
    data = json.loads(run_qa("ask", BGI, "--json", "--index", str(seeds_index)).stdout)
    top = data["results"][0]
    source = (SEEDS / top["file"]).read_text(encoding="utf-8")
    assert top["start"] <= top["answer_start"] < top["answer_end"] <= top["end"]
    sentence = source[top["answer_start"] : top["answer_end"]]
    assert "clinical laboratory in Uruguay" in sentence and "ventilators" not in sentence
    assert all(r["answer_start"] is None for r in data["results"][3:]), "only the top passages are judged"


@pytest.mark.parametrize("question", ["What is the population of Mars?", "Who won the 2022 football World Cup?",
                                      "How do I bake sourdough bread?"])
def test_no_good_answer_is_said_above_the_results(seeds_index: Path, question):
    data = json.loads(run_qa("ask", question, "--json", "--index", str(seeds_index)).stdout)
    assert data["answered"] is False and data["results"], "the nearest passages are still listed"
    text = run_qa("ask", question, "--index", str(seeds_index)).stdout
    assert text.startswith("No answer in these documents")


def test_an_answerable_question_is_answered(seeds_index: Path):
    data = json.loads(run_qa("ask", BGI, "--json", "--index", str(seeds_index)).stdout)
    assert data["answered"] is True and data["confidence"] > 0.5


def test_explain_shows_both_sides(seeds_index: Path):
    text = run_qa("ask", BGI, "--explain", "-k", "3", "--index", str(seeds_index)).stdout
    assert "dense #" in text and "bm25 #" in text and "ranker" in text and "best_sentence" in text
    data = json.loads(run_qa("ask", BGI, "--explain", "--json", "--index", str(seeds_index)).stdout)
    top = data["results"][0]
    assert top["dense_rank"] >= 1 and top["bm25_rank"] >= 1
    # The learned ranker's score is the sum of what each of its features added (qa/search/rank.py).
    assert set(top["ranked_by"]) == set(FEATURES)
    assert top["fused_score"] == pytest.approx(sum(top["ranked_by"].values()), abs=1e-3)
    plain = json.loads(run_qa("ask", BGI, "--json", "--index", str(seeds_index)).stdout)
    assert "dense_rank" not in plain["results"][0]
