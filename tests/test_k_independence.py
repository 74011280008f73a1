"""Hits do not depend on -k: rank 1 and its citation (and every hit i for k >= i) are the same whatever k is,
and a merged hit has a size bound (qa/search/collapse.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa import Index
from qa.config import MODES, SearchSettings
from qa.evaluate import load_questions
from qa.search import collapse
from tests.conftest import REPO, SEEDS
from tests.fixtures.make import report_docx, report_pdf

KS = range(1, 21)
#: The seeds question sets (all of them: answerable, near-topic and off-topic questions).
SEEDS_SETS = ["questions.jsonl", "retrieval.jsonl", "seeds-validation.jsonl", "unanswerable.jsonl", "verdict/seeds.jsonl",
              "verdict/seeds-2.jsonl", "verdict/seeds-3.jsonl", "verdict/seeds-4.jsonl"]
#: Questions over the folder of every format tests/test_formats.py indexes.
MIXED_QUESTIONS = [
    "Where do tawny owls stay all year?",
    "How long did each night walk last?",
    "Why do farmers keep wide margins of tall grass?",
    "Where do long-eared owls roost?",
    "What do little owls do when alarmed?",
    "How many barn owl nests did the survey count?",
    "À quelle heure ouvre le café Chez Hibou à Montréal ?",
    "Which species were counted in the survey?",
    "What did the volunteers record?",
    "digital cooperation forum",
    "owls",
]


def seeds_questions() -> list[str]:
    """Every third question of the seeds sets (all of them take minutes at 20 values of k on a shared machine)."""
    questions = [q.question for name in SEEDS_SETS for q in load_questions(REPO / "tests" / name)][::3]
    assert len(questions) > 100
    return questions


def signature(hit) -> tuple:
    """Everything that identifies a hit to a person: what it cites and shows, and where it ranked."""
    return hit.rank, hit.citation, hit.passage.start, hit.passage.end, hit.also_in


def assert_independent_of_k(index: Index, questions: list[str], mode: str) -> None:
    """Hits at every k = 1..20 are the first k hits at k = 20: rank 1 and its citation never change."""
    most = index.answer_many(questions, max(KS), mode, judge=False)
    for k in KS:
        for question, answer, full in zip(questions, index.answer_many(questions, k, mode, judge=False), most):
            assert [signature(h) for h in answer.hits] == [signature(h) for h in full.hits[:k]], (mode, k, question)


@pytest.mark.parametrize("mode", MODES)
def test_seeds_hits_are_the_same_for_every_k(fake_seeds_index: Path, mode: str):
    # The index searches each side to max(depth, 4 * k): a depth of 80 keeps the ranking itself fixed up to
    # k = 20, so what is checked is that merging and folding never depend on k.
    index = Index(Index.open(fake_seeds_index).stored, search=SearchSettings(depth=80))
    assert_independent_of_k(index, seeds_questions(), mode)


@pytest.mark.parametrize("mode", MODES)
def test_rank_1_and_its_citation_are_the_same_for_every_k_with_the_default_settings(fake_seeds_index: Path,
                                                                                     mode: str):
    index = Index.open(fake_seeds_index)
    questions = seeds_questions()
    first = [a.hits[:1] for a in index.answer_many(questions, 1, mode, judge=False)]
    assert sum(map(len, first)) > 0.9 * len(questions)
    for k in KS:
        for question, one, answer in zip(questions, first, index.answer_many(questions, k, mode, judge=False)):
            assert [signature(h) for h in answer.hits[:1]] == [signature(h) for h in one], (mode, k, question)


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Path:
    """The folder of every format tests/test_formats.py uses, indexed with the fake model."""
    fixtures = REPO / "tests" / "fixtures"
    folder = tmp_path_factory.mktemp("mixed-k") / "docs"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(fixtures / "article.html", folder / "article.html")
    shutil.copy(fixtures / "cp1252.html", folder / "cafe.html")
    shutil.copy(fixtures / "sphinx-operator.html", folder / "operator.html")
    (folder / "report.pdf").write_bytes(report_pdf(broken_page=1))
    (folder / "survey.docx").write_bytes(report_docx())
    (folder / "notes.md").write_text("---\ntitle: Owl notes\n---\n# Owls\n\nLong-eared owls roost in dense conifers.\n")
    (folder / "mac.txt").write_bytes(b"Little owls perch on fence posts.\rThey bob their heads when alarmed.\r")
    shutil.copy(SEEDS / "004_bc3bbd6dfccf26ec.txt", folder / "sub" / "news.txt")
    Index.build([folder], folder.parent / "ix", model=str(fake_model))
    return folder.parent / "ix"


@pytest.mark.parametrize("mode", MODES)
def test_hits_over_every_format_are_the_same_for_every_k(mixed_index: Path, mode: str):
    index = Index.open(mixed_index)
    files = {p.file.rsplit(".", 1)[-1] for p in index.stored.all_passages()}
    assert {"html", "pdf", "docx", "md", "txt"} <= files
    assert_independent_of_k(index, MIXED_QUESTIONS, mode)


#: One long page on one subject: every passage of it matches, and each touches the next.
LONG_PAGE = "\n\n".join(f"Section {i}. The kestrel hovers over the meadow at dawn, watching for voles in the grass; "
                        f"observers counted {i} kestrels hunting along the hedge that morning." for i in range(100)) + "\n"


@pytest.fixture(scope="module")
def long_page_index(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Path:
    folder = tmp_path_factory.mktemp("long-page") / "docs"
    folder.mkdir()
    (folder / "kestrels.txt").write_text(LONG_PAGE, encoding="utf-8")
    (folder / "other.txt").write_text("Barn owls hunt mice at night over the meadow.\n", encoding="utf-8")
    Index.build([folder], folder.parent / "ix", model=str(fake_model))
    return folder.parent / "ix"


@pytest.mark.parametrize("mode", MODES)
def test_a_merged_hit_is_bounded_and_never_the_whole_long_page(long_page_index: Path, mode: str):
    index = Index.open(long_page_index)
    passages = [p for p in index.stored.all_passages() if p.file == "kestrels.txt"]
    assert len(passages) > 10 and len(LONG_PAGE) > 3 * collapse.MAX_HIT_CHARS
    question = "How many kestrels hover over the meadow watching for voles at dawn?"
    for k in (1, 3, 10, 20):
        hits = index.search(question, k=k, mode=mode)
        assert hits
        kestrels = [h for h in hits if h.passage.file == "kestrels.txt"]
        assert kestrels
        for hit in kestrels:
            size = hit.passage.end - hit.passage.start
            longest = max(p.end - p.start for p in passages)
            assert size <= max(collapse.MAX_HIT_CHARS, longest), (k, hit.citation, size)
            assert size < len(LONG_PAGE) / 3, (k, hit.citation, size)
            assert LONG_PAGE[hit.passage.start : hit.passage.end] == hit.passage.text
        assert not any(a.passage.start < b.passage.end and b.passage.start < a.passage.end
                       for i, a in enumerate(kestrels) for b in kestrels[i + 1 :]), "hits never overlap"
    # Merging still happens: the first hit holds more than the passage that ranked.
    top = index.search(question, k=1, mode=mode)[0]
    assert top.passage.end - top.passage.start > min(p.end - p.start for p in passages)


@pytest.mark.parametrize("mode", MODES)
def test_rank_1_on_a_long_page_does_not_move_with_k(long_page_index: Path, mode: str):
    """Many touching passages: before, rank 1 grew with k (4 candidates read at -k 1, 80 at -k 20)."""
    index = Index.open(long_page_index)
    question = "How many kestrels hover over the meadow watching for voles at dawn?"
    first = index.search(question, k=1, mode=mode)[0]
    for k in KS:
        assert signature(index.search(question, k=k, mode=mode)[0]) == signature(first), k


def test_eval_scores_and_names_what_ask_prints(fake_seeds_index: Path):
    """`qa eval` finds an answer at the rank `qa ask` prints it, and its "first instead" is the citation
    `qa ask -k 1` prints for rank 1 (the merged hit, answer part included)."""
    from qa.evaluate import answers, evaluate

    index = Index.open(fake_seeds_index)
    questions = load_questions(REPO / "tests" / "questions.jsonl")
    scores = evaluate(index, questions, modes=("hybrid", "bm25"))
    misses = 0
    for mode, score in scores.items():
        for question in questions:
            if not question.gold:
                continue
            for k in (1, 5):
                printed = index.answer(question.question, k, mode).hits
                found = next((h.rank for h in printed if answers(h, question.gold)), None)
                rank = score.found_at[question.id]
                assert found == (rank if rank is not None and rank <= k else None), (mode, question.id, k)
        for miss in score.misses:
            top = index.answer(miss["question"], 1, mode).hits[0]
            assert miss["first"] == top.answer_citation and miss["first_text"] == top.passage.text[:160]
            misses += 1
    assert misses > 0, "the fake model misses some: the miss column is checked"


def test_eval_counts_recall_per_kind_of_question(fake_seeds_index: Path, tmp_path: Path):
    """`qa eval` reports recall@1 and recall@5 for each kind of answerable question, and the kinds add up."""
    from qa.evaluate import evaluate
    from qa.ui.render import kind_tables

    lines = (REPO / "tests" / "seeds-validation.jsonl").read_text(encoding="utf-8").splitlines()
    kinds = ["lookup", "paraphrase", "keyword"]
    tagged = [json.dumps(json.loads(line) | {"kind": kinds[i % 3]}) for i, line in enumerate(lines) if line.strip()]
    path = tmp_path / "kinds.jsonl"
    path.write_text("\n".join(tagged) + "\n", encoding="utf-8")
    questions = load_questions(path)
    scores = evaluate(Index.open(fake_seeds_index), questions, modes=("hybrid",), judge=False)["hybrid"]
    for k in (1, 5):
        by_kind = scores.recall_by_kind(k)
        assert set(by_kind) == set(kinds)
        assert sum(n for _, n in by_kind.values()) == len(questions)
        assert sum(found for found, _ in by_kind.values()) == round(scores.recall(k) * len(questions))
        for kind, (found, n) in by_kind.items():
            ids = [q.id for q in questions if q.kind == kind]
            assert n == len(ids)
            assert found == sum(1 for i in ids if scores.found_at[i] is not None and scores.found_at[i] <= k)
    [table] = kind_tables({"hybrid": scores})
    assert [str(cell) for cell in table.columns[0].cells] == sorted(kinds)
    assert scores.as_dict()["recall_by_kind"]["lookup"]["questions"] == scores.recall_by_kind(5)["lookup"][1]
