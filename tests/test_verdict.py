"""The verdict (qa/answer/verdict.py): each signal on constructed cases, independence from -k, BM25-only
verdicts, the plain-JSON weights, what the user sees, and the quality on held-out questions."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from qa import Index, QAError
from qa.evaluate import normalise
from qa.answer.answer_type import asked_type, asked_unit, holds, holds_unit
from qa.answer.verdict import WEIGHTS_FILE, load_gates, load_weights
from tests.conftest import REPO, run_qa

TOWN = {
    "library.txt": "Millbrook library\n\nThe Millbrook public library opened in 1998 and holds 20,000 books. "
                   "Its head librarian is Anna Keller, who started the reading club for children.\n",
    "bridge.txt": "The stone bridge\n\nThe old stone bridge over the river Wren was restored by local volunteers. "
                  "They replaced the broken parapet and cleared the arches of weeds. "
                  "The bridge is open to walkers and cyclists again.\n",
    "garden.txt": "The community garden\n\nThe community garden grows tomatoes, beans and sunflowers. "
                  "Neighbours water the beds each evening during the dry months.\n",
    "bakery.txt": "Hill Street bakery\n\nThe bakery on Hill Street sells rye bread, apple cake and pretzels. "
                  "It is run by a family that moved to town from the coast.\n",
    "club.txt": "Millbrook Rovers\n\nThe football club Millbrook Rovers plays its home games at the meadow ground. "
                "Its youth teams train on Saturday mornings.\n",
    "weather.txt": "Weather station\n\nA weather station on the school roof records rain, wind and temperature. "
                   "Pupils publish the readings on the notice board.\n",
}


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Index:
    """A small corpus where each near miss can be built on purpose."""
    root = tmp_path_factory.mktemp("town")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in TOWN.items():
        (corpus / name).write_text(text, encoding="utf-8")
    Index.build([corpus], root / "ix")
    return Index.open(root / "ix")


def signals(index: Index, question: str, mode: str = "hybrid") -> dict[str, float]:
    return dict(index.answer(question, k=3, mode=mode).verdict.features)


def reason(index: Index, question: str, signal: str, mode: str = "hybrid") -> str:
    return next(r.text for r in index.answer(question, k=3, mode=mode).verdict.reasons if r.signal == signal)


# --- each signal on constructed cases -------------------------------------------------


def test_answer_type_a_number_question_whose_passages_hold_no_number(town):
    asked = "How many volunteers restored the stone bridge over the river Wren?"
    assert signals(town, asked)["answer_type_missing"] == 1.0
    assert "asks for a number and the best sentences hold none" in reason(town, asked, "answer_type_missing")
    assert signals(town, "When did the Millbrook library open?")["answer_type_missing"] < 1.0, "1998 is a date"
    assert signals(town, "What does the bakery on Hill Street sell?")["answer_type_missing"] == 0.0, "asks for no type"
    assert signals(town, asked, "bm25")["answer_type_missing"] == 1.0, "BM25 mode checks the answer type too"


def test_answer_type_the_question_s_own_words_are_not_the_answer(town):
    """"Who restored the bridge over the river Wren?": "Wren" is a name, but the question's own; the
    passage says "local volunteers" and names nobody."""
    asked = "Who restored the old stone bridge over the river Wren?"
    assert signals(town, asked)["answer_type_missing"] == 1.0
    assert "asks for a person and the best sentences hold none" in reason(town, asked, "answer_type_missing")
    assert signals(town, "Who started the reading club for children?")["answer_type_missing"] == 0.0, "Anna Keller"
    own = frozenset({"who", "restored", "the", "bridge", "over", "river", "wren"})
    assert holds("person", "The bridge over the river Wren was restored.") is True
    assert holds("person", "The bridge over the river Wren was restored.", own) is False
    assert holds("number", "trade grew in 2022", frozenset({"trade", "2022"})) is False
    assert holds("number", "trade grew 13.4 percent in 2022", frozenset({"trade", "2022"})) is True


def test_answer_unit_an_amount_of_something_the_passages_never_count(town):
    assert signals(town, "How many volunteers restored the stone bridge over the river Wren?")["answer_unit_missing"] == 1.0
    assert signals(town, "How many books does the Millbrook library hold?")["answer_unit_missing"] == 0.0
    assert signals(town, "How much did the restoration of the stone bridge cost?")["answer_unit_missing"] == 1.0
    assert "a sum of money and the best passages give none" in reason(
        town, "How much did the restoration of the stone bridge cost?", "answer_unit_missing")


def test_answer_near_subject_a_number_about_something_else_is_no_answer(town):
    """"How many books ..." finds 20,000 books in the library's sentence; asked of the bakery, the only
    numbers in the best passages sit in sentences about other things."""
    assert signals(town, "How many books does the Millbrook library hold?")["answer_near_subject"] >= 0.9
    asked = "How many loaves of rye bread does the Hill Street bakery sell each day?"
    assert signals(town, asked)["answer_near_subject"] <= 0.2
    assert signals(town, asked, "bm25")["answer_near_subject"] <= 0.2
    assert signals(town, "What does the bakery on Hill Street sell?")["answer_near_subject"] == 1.0, "asks for no type"
    assert "mention at most" in reason(town, "How many books does the Hill Street bakery sell?", "answer_near_subject")


def test_answer_near_subject_reads_the_sentences_beside_the_number_not_the_whole_passage(tmp_path, fake_model):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TOWN.items():   # other documents, so that the harbour's words are rare
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "harbour.txt").write_text(
        "Harbour report\n\nThe harbour of Millbrook handled 420 ships last year. The old lighthouse was painted "
        "white in spring. The fishing fleet landed cod, herring and mackerel.\n", encoding="utf-8")
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    harbour = Index.open(tmp_path / "ix")
    for mode in ("hybrid", "bm25"):
        assert signals(harbour, "How many ships did the Millbrook harbour handle last year?", mode)["answer_near_subject"] == 1.0
        # One passage holds both, but the number is two sentences away from the fleet and its herring.
        assert signals(harbour, "How many tonnes of herring did the fishing fleet land?", mode)["answer_near_subject"] < 0.2


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_coverage_no_word_of_the_question_in_the_documents_is_no_answer(town, mode):
    answer = town.answer("What is the recipe for guacamole?", k=3, mode=mode)
    assert not answer.answered and answer.verdict.answer_confidence == 0.0
    assert "“recipe” or “guacamole” never occur in these documents" in answer.verdict.top_reason.text
    assert answer.hits, "the nearest passages are still listed"
    assert town.answer("What is the recipe for apple cake?", k=3, mode=mode).verdict.answer_confidence > 0.0


@pytest.mark.parametrize("question, unit", [
    ("How many vaccine doses did China send to Cuba?", ("count", "doses")),
    ("With how many CELAC members has China set up mechanisms?", ("count", "members")),
    ("How much did trade between China and Argentina grow in 2022?", ("percent", None)),
    ("What was the value of bilateral trade in 2022?", ("money", None)),
    ("How much did the station cost?", ("money", None)), ("Who is Pan Deng?", None),
    ("How many times does timeit run the statement?", None), ("How do I count how many doses were sent?", None),
])
def test_the_amount_a_question_asks_for(question, unit):
    assert asked_unit(question) == unit


@pytest.mark.parametrize("question, kind", [
    ("How many doses were sent?", "number"), ("What was the value of the trade in 2022?", "number"),
    ("When will the factory open?", "date"), ("Who will chair the next meeting?", "person"),
    ("How can I contact the organisers?", "contact"), ("What is the e-mail address of the club?", "e-mail address"),
    ("What is the website of the centre?", "web address"), ("Which city hosts the forum?", "place"),
    ("Which company built the plant?", "organisation"), ("When does the finally clause run?", None),
    ("How do I read a file?", None), ("Where does China's digital economy rank in the world?", None),
    ("Where does Pan Deng work?", "place"),
])
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert asked_type(question) == kind


def test_what_counts_as_each_kind_of_answer():
    assert holds("number", "16 countries") and holds("number", "a four-day visit") and holds("number", "$22.64 billion")
    assert not holds("number", "COVID-19 and 5G networks"), "digits inside names are not amounts"
    assert holds("date", "by early 2025") and holds("date", "on September 4") and not holds("date", "a long time")
    assert holds("person", "the speech by Anna Keller") and not holds("person", "The bridge is open.")
    assert holds("e-mail address", "write to club@example.org") and not holds("e-mail address", "write to us")
    assert holds("contact", "see www.example.org") and holds("contact", "call +44 20 7946 0958")
    assert holds_unit(("count", "satellites"), "has developed six Earth resource satellites")
    assert not holds_unit(("count", "doses"), "vaccines and ventilators for 5 countries"), "a number of something else"
    assert holds_unit(("money", None), "to $22.64 billion") and not holds_unit(("money", None), "16 countries")
    assert holds_unit(("percent", None), "grew 13.4 percent") and not holds_unit(("percent", None), "grew fast")


def test_coverage_a_name_absent_from_the_corpus(town):
    found = signals(town, "Who is Anna Keller?")
    absent = signals(town, "Who is Anna Weber?")
    assert found["terms_in_corpus"] == 1.0 and absent["terms_in_corpus"] < 0.7
    assert "“Weber” never occurs in these documents" == reason(town, "Who is Anna Weber?", "names_unknown")
    assert found["names_unknown"] == 0.0 and absent["names_unknown"] == 0.5, "Anna is known, Weber is not"
    assert found["names_missing"] == 0.0 and absent["names_missing"] > 0.5, "Weber, the rarer, weighs more"


def test_coverage_key_terms_that_never_meet_in_one_passage(town):
    """Each word is in the corpus, but no passage holds both: the near miss of '2022 + Brazil + trade'."""
    apart = signals(town, "What did the Hill Street bakery sell in 1998?")
    together = signals(town, "What does the Hill Street bakery sell?")
    assert apart["terms_in_corpus"] == together["terms_in_corpus"] == 1.0
    assert apart["names_unknown"] == together["names_unknown"] == 0.0
    assert apart["names_missing"] > 0 and together["names_missing"] == 0.0
    assert apart["terms_in_best_passage"] < together["terms_in_best_passage"] == 1.0
    assert "“1998”" in reason(town, "What did the Hill Street bakery sell in 1998?", "names_missing")


def test_score_shape_similarity_and_agreement(town):
    on_topic = signals(town, "Who restored the old stone bridge over the river Wren?")
    off_topic = signals(town, "What is the boiling point of ethanol?")
    assert on_topic["sentence_similarity"] > off_topic["sentence_similarity"] + 0.3
    assert on_topic["passage_similarity"] > off_topic["passage_similarity"]
    assert on_topic["passage_standout"] > 0.5 > 0.2 > off_topic["passage_standout"], "close to one passage, or to none"
    assert on_topic["rankings_agree"] == 1.0, "both searches put the bridge first"
    assert on_topic["bm25_strength"] > off_topic["bm25_strength"]
    assert 0 <= on_topic["similarity_margin"] <= 1


def test_a_near_miss_and_an_off_topic_question_are_not_answered_but_the_real_one_is(town):
    assert town.answer("Who started the reading club for children?").answered is True
    assert town.answer("What is the boiling point of ethanol?").answered is False
    assert town.answer("How many books does the Millbrook library hold?").answered is True


@pytest.mark.parametrize("question", ["How do I replace the battery in my laptop?", "How do I open a bank account?"])
def test_the_off_topic_guard_a_question_about_as_far_from_every_passage(town, question):
    """A question sharing a word but no subject with the documents ("replaced" the parapet, "open" to
    walkers) is far from every passage: flagged by the subject gate, and the reason given first is how far
    (not the lack of a name or a number it never asked for, which now weighs nothing either way)."""
    answer = town.answer(question)
    assert answer.answered is False
    assert answer.verdict.top_reason.signal == "off_subject"
    assert answer.verdict.top_reason.text.startswith((
        "the question is far from what these documents are about (the best passage has similarity 0.",
        "the question is far from what these documents are about (the best passage's similarity stands 0."))
    neutral = {r.signal: r.effect for r in answer.verdict.reasons}
    assert neutral["names_missing"] == neutral["answer_type_missing"] == neutral["answer_near_subject"] == 0.0


OFF_TOPIC_THE_FIRST_MODEL_ANSWERS = ["Which vitamin does sunlight help the body make?",
                                     "What food goes well with a glass of port wine?",
                                     "How do I clean antique china plates without damaging the glaze?"]


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize("question", OFF_TOPIC_THE_FIRST_MODEL_ANSWERS)
def test_the_subject_gate_flags_what_the_first_model_lets_through(index, question, mode):
    """Validation off-topic questions (seeds-6, seeds-7) that the first model answers, its threshold being
    low enough for answerable questions worded unlike the news articles: the subject gate flags them, says
    so first, and caps the confidence at its own."""
    answer = index.answer(question, k=3, mode=mode)
    features = dict(answer.verdict.features)
    first = load_weights()[mode]
    assert first.probability(features) >= first.threshold     # the first model alone would answer
    assert answer.answered is False
    assert answer.verdict.top_reason.signal == "off_subject"
    assert answer.verdict.top_reason.text.startswith("the question is far from what these documents are about (")
    assert answer.answer_confidence <= load_gates()[mode].threshold


def test_the_subject_gate_fit_refuses_a_signal_against_its_meaning_and_keeps_its_false_alarm_share():
    from qa.answer.fit_gate import GATE_FEATURES, GATE_MAX_FALSE_ALARMS, fit_gate

    rng = __import__("numpy").random.default_rng(1)
    names = GATE_FEATURES["bm25"]
    kinds = ["answerable"] * 300 + ["off-topic"] * 100 + ["near-topic"] * 50
    rows = [{names[0]: rng.normal(0.8 if kind == "answerable" else 0.3, 0.2), names[1]: rng.normal(0.5, 0.2)}
            for kind in kinds]
    for row, kind in zip(rows, kinds):   # the second signal higher for on-subject questions, as it should be
        row[names[1]] += 0.3 if kind == "answerable" else 0.0
    model, summary = fit_gate("bm25", rows, kinds)
    assert summary["questions"] == 400          # near-topic questions are the first model's work
    flagged, answerable = map(int, str(summary["cross_validated_flagged"]["answerable"]).split("/"))
    assert flagged <= GATE_MAX_FALSE_ALARMS * answerable
    for row, kind in zip(rows, kinds):   # now the second signal is lower for on-subject questions
        row[names[1]] -= 0.6 if kind == "answerable" else 0.0
    with pytest.raises(ValueError, match=f"weighs {names[1]} against its meaning"):
        fit_gate("bm25", rows, kinds)


# --- independent of -k ----------------------------------------------------------------

QUESTIONS = ["What did BGI Genomics set up in Uruguay?", "How many vaccine doses did China send to Cuba?",
             "Who will chair the next China-CELAC ministerial meeting?", "What is the population of Mars?",
             "What was the value of bilateral trade between China and Colombia in 2022?",
             "How can I contact the organisers of the Chongqing forum?"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_the_verdict_does_not_depend_on_k(index, mode):
    seen = {}
    for k in (1, 3, 10, 20):
        for answer in index.answer_many(QUESTIONS, k=k, mode=mode):
            v = answer.verdict
            key = (answer.answered, round(v.answer_confidence, 9), answer.confidence and round(answer.confidence, 6),
                   tuple((r.signal, r.value) for r in v.reasons))
            assert seen.setdefault(answer.question, key) == key, f"{answer.question!r} changed at k={k}"


def test_the_hybrid_verdict_judges_the_passages_the_ranker_shows(index, monkeypatch):
    """In hybrid mode the verdict reads the learned ranker's best passages, the ones shown first (its reasons
    are about them), not reciprocal-rank fusion's; for any -k, also past the candidate depth."""
    import qa.index as module
    from qa.search.fusion import fuse

    seen = []
    judge = module.verdict_for
    monkeypatch.setattr(module, "verdict_for", lambda query, vector, candidates, stored:
                        seen.append(candidates) or judge(query, vector, candidates, stored))
    differs = 0
    for question in QUESTIONS + OFF_TOPIC_THE_FIRST_MODEL_ANSWERS:
        for k in (3, index.search_settings.depth + 10):
            answer = index.answer(question, k=k, mode="hybrid")
            judged = [row for row, _ in seen[-1].ranking[:3]]
            assert judged[0] == answer.hits[0].row, question
            if k == 3:
                shown = judged
            assert judged == shown, (question, k)
        fused = [row for row, _ in fuse(list(seen[-1].dense), list(seen[-1].sparse), index.search_settings)[:3]]
        differs += fused != shown
    assert differs   # some question's three best differ between fusion and the ranker: the check can fail
    # past the depth, the hits are ranked from deeper lists; the verdict's order is made again at the depth
    depths = []
    rank = type(index).ranked
    monkeypatch.setattr(type(index), "ranked", lambda self, query, vector, dense, sparse:
                        depths.append(max(len(dense), len(sparse))) or rank(self, query, vector, dense, sparse))
    index.answer(QUESTIONS[0], k=index.search_settings.depth + 10, mode="hybrid")
    assert len(depths) == 2 and depths[1] <= index.search_settings.depth   # (the seeds have fewer passages)


def test_the_verdict_does_not_depend_on_k_through_the_cli(seeds_index: Path):
    for question in QUESTIONS[1:4]:
        outputs = [json.loads(run_qa("ask", question, "--json", "-k", k, "--index", str(seeds_index)).stdout)
                   for k in ("1", "3", "10")]
        verdicts = [(o["answered"], o["answer_confidence"], o["why"]) for o in outputs]
        assert verdicts[0] == verdicts[1] == verdicts[2], question
        assert [len(o["results"]) for o in outputs] == [1, 3, 10], "-k still cuts the hits shown"


# --- BM25-only mode -------------------------------------------------------------------


def test_the_bm25_verdict_is_the_same_in_every_process(seeds_index: Path):
    """Sentences are ranked by a sum over the question's words; summed in set order, its last bits (and a
    tie between two sentences) changed with the process's string hashing, and so did the verdict."""
    question = "How many countries from Latin America and the Caribbean attended the Chongqing forum?"
    verdicts = [json.loads(run_qa("ask", question, "--json", "--mode", "bm25", "--index", str(seeds_index),
                                  env={"PYTHONHASHSEED": seed}).stdout) for seed in ("1", "2", "3")]
    assert verdicts[0]["why"] == verdicts[1]["why"] == verdicts[2]["why"]


def test_bm25_mode_gives_a_verdict(seeds_index: Path):
    answerable = json.loads(run_qa("ask", "What did BGI Genomics set up in Uruguay?", "--json", "--mode", "bm25",
                                   "--index", str(seeds_index)).stdout)
    assert answerable["answered"] is True and answerable["confidence"] is None, "no similarity without a model"
    assert 0.5 <= answerable["answer_confidence"] <= 1 and {w["signal"] for w in answerable["why"]} >= {
        "bm25_strength", "names_unknown", "answer_type_missing"}
    off_topic = json.loads(run_qa("ask", "What is the population of Mars?", "--json", "--mode", "bm25",
                                  "--index", str(seeds_index)).stdout)
    assert off_topic["answered"] is False and off_topic["answer_confidence"] < 0.5


def test_no_matching_passage_is_no_answer(index):
    answer = index.answer("zzzz qqqq", mode="bm25")
    assert answer.hits == [] and answer.answered is False and answer.answer_confidence == 0.0
    assert answer.verdict.top_reason.text == "no passage matches the question"


# --- the weights ----------------------------------------------------------------------


def test_the_weights_are_plain_json_read_without_pickle(monkeypatch):
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert set(data["models"]) == {"hybrid", "dense", "bm25"}
    assert data["fitted_on"]["files"] and data["fitted_on"]["questions"]["pydoc"]["near-topic"] > 0
    for model in data["models"].values():
        assert len(model["features"]) == len(model["weights"]) == len(model["mean"]) == len(model["scale"])

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    load_weights.cache_clear()
    try:
        weights = load_weights()
    finally:
        load_weights.cache_clear()
    assert weights["bm25"].features == tuple(data["models"]["bm25"]["features"])


def test_the_fit_gathers_every_signal_without_reading_the_weights(town, monkeypatch):
    """`python -m qa.answer.fit` judges inside `without_weights`: it must run when verdict.json cannot be read
    (an older format: the refit the error message asks for), and get the same signals as a normal verdict."""
    import qa.answer.verdict as verdict
    from qa.answer.weights import without_weights

    question = "Who started the reading club for children?"
    judged = town.answer(question, k=3).verdict
    monkeypatch.setattr(verdict, "load_weights", lambda: (_ for _ in ()).throw(QAError("format 1, expected 2")))
    with pytest.raises(QAError):
        town.answer(question, k=3)
    with without_weights():
        unjudged = town.answer(question, k=3).verdict
    assert unjudged.features == judged.features and unjudged.reasons == ()


@pytest.mark.parametrize("damage", ['{"format": 2, "models": {}}', "not json", '{"format": 99}', "NO_GATES",
                                    '{"format": 2, "models": {"hybrid": {"features": ["os.system"]}}}'])
def test_damaged_weights_are_refused_with_a_hint(tmp_path: Path, damage):
    path = tmp_path / "verdict.json"
    if damage == "NO_GATES":   # the first model's weights whole, the subject gates missing
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
        damage = json.dumps({key: value for key, value in data.items() if key != "gates"})
    path.write_text(damage, encoding="utf-8")
    with pytest.raises(QAError, match="python -m qa.answer.fit"):
        load_weights(path)
    with pytest.raises(QAError, match="python -m qa.answer.fit"):
        load_gates(path)


# --- what the user sees ---------------------------------------------------------------


def test_no_answer_names_the_top_reason_and_still_lists_passages(seeds_index: Path):
    text = run_qa("ask", "How can I contact the organisers of the Chongqing forum?", "-k", "2",
                  "--index", str(seeds_index)).stdout
    first = " ".join(text.split(" 1. seeds/")[0].split())
    assert first.startswith("No answer in these documents: no sentence of the best passages holds a contact "
                            "(answer confidence 0.") and first.endswith("). Nearest passages:")
    assert " 1. seeds/" in text and " 2. seeds/" in text


def test_explain_and_json_carry_the_reasons(seeds_index: Path):
    question = "What did BGI Genomics set up in Uruguay?"
    text = run_qa("ask", question, "-k", "1", "--explain", "--index", str(seeds_index)).stdout
    assert "\nverdict: answered, answer confidence" in "\n" + text, text[:200]   # after the confidence line, if any
    assert "similarity" in text and "answer_type_missing" in text
    data = json.loads(run_qa("ask", question, "--json", "--index", str(seeds_index)).stdout)
    assert data["answered"] is True and data["confidence"] > 0.5 and data["answer_confidence"] >= 0.5
    assert all(set(w) == {"signal", "value", "text", "effect"} for w in data["why"])
    assert data["why"][0]["effect"] >= data["why"][-1]["effect"], "the strongest reason for the verdict first"


def test_eval_reports_each_kind_and_the_calibration(seeds_index: Path):
    questions = "tests/verdict/seeds.jsonl"
    text = run_qa("eval", questions, "--index", str(seeds_index)).stdout
    assert "near-topic" in text and "off-topic" in text and "share right" in text
    data = json.loads(run_qa("eval", questions, "--json", "--index", str(seeds_index)).stdout)
    hybrid = data["modes"]["hybrid"]
    kinds = hybrid["by_kind"]
    assert kinds["off-topic"]["questions"] == 26 and kinds["near-topic"]["questions"] == 46
    assert hybrid["flagged"] == kinds["off-topic"]["flagged"] + kinds["near-topic"]["flagged"]
    assert hybrid["false_alarms"] == kinds["answerable"]["flagged"]
    bins = hybrid["calibration"]
    assert sum(b["questions"] for b in bins) == 102 and all(0 <= b["share_right"] <= 1 for b in bins)
    assert data["modes"]["bm25"]["by_kind"], "BM25 mode is judged too"


# --- quality on held-out questions (the fit never read them) --------------------------


def test_recalibration_keeps_every_decision_and_matches_the_share_right():
    """fit_verdict weights the classes equally (ranks well, inflates probabilities), then folds Platt
    scaling into the weights: the same questions are answered, and the probabilities average to the share
    of questions that are right (on a fit with 30% right, the balanced model averages near 50%)."""
    import numpy as np

    from qa.answer.fit import balanced, fit_logistic, platt, sigmoid

    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.3).astype(float)
    x = rng.normal(size=(400, 3)) + y[:, None] * np.array([1.0, 0.5, 0.0])
    weights, bias = fit_logistic(x, y, balanced(y))
    log_odds = x @ weights + bias
    threshold = 0.4
    a, b = platt(log_odds, y)
    weights, bias = a * weights, a * bias + b
    folded_threshold = sigmoid(a * np.log(threshold / (1 - threshold)) + b)
    before, after = sigmoid(log_odds), sigmoid(x @ weights + bias)
    assert ((before >= threshold) == (after >= folded_threshold)).all()
    assert abs(before.mean() - y.mean()) > 0.1
    assert abs(after.mean() - y.mean()) < 1e-6


def held_out(corpus: str) -> list[dict]:
    questions = []
    for n in (2, 3):
        lines = (REPO / "tests" / "verdict" / f"{corpus}-{n}.jsonl").read_text(encoding="utf-8").splitlines()
        questions += [q for q in map(json.loads, lines) if q["split"] == "held-out"]
    return questions


def flagged_share(index: Index, questions: list[dict], kind: str, mode: str = "hybrid") -> float:
    chosen = [q["question"] for q in questions if q["kind"] == kind]
    return sum(not a.answered for a in index.answer_many(chosen, k=3, mode=mode)) / len(chosen)


# Floors at the levels measured by tests/bench/verdict_report.py (README "How good is it?") on the
# validation sets seeds-2/pydoc-2 and seeds-3/pydoc-3 (read to choose issue 25's changes; the first model was never
# fitted on them, the subject gate of qa/answer/fit_gate.py is since 2026-12-05): a change that makes the verdict
# worse on these questions fails here.
def test_held_out_seeds_quality(index):
    questions = held_out("seeds")
    assert flagged_share(index, questions, "off-topic") == 1.0      # measured 13/13 (the target)
    # measured 3/34, above the 5% target here (4.1% over both corpora): "Who wrote the piece on ten years
    # of the China-CELAC Forum?" and "When was the Global Times story ... published?" (the person and the
    # date stand in lines that share few of the question's words), and one long paraphrase
    assert flagged_share(index, questions, "answerable") <= 0.1
    assert flagged_share(index, questions, "near-topic") >= 0.47    # measured 18/36


SLICE = REPO / "tests" / "pydoc-slice"


def slice_questions() -> list[dict]:
    """The Python-docs validation sets pydoc-2, -3 and -4 over tests/pydoc-slice (a part of the docs small
    enough to index in the suite): their answerable questions whose gold phrase the slice holds, and all
    their near-topic and off-topic ones (a part of the docs answers none of them either)."""
    questions = []
    for n in (2, 3, 4):
        lines = (REPO / "tests" / "verdict" / f"pydoc-{n}.jsonl").read_text(encoding="utf-8").splitlines()
        for q in map(json.loads, lines):
            if q["kind"] != "answerable" or all(
                    (SLICE / g["file"]).is_file()
                    and normalise(g["contains"]) in normalise((SLICE / g["file"]).read_text(encoding="utf-8"))
                    for g in q["gold"]):
                questions.append(q)
    return questions


@pytest.fixture(scope="module")
def pydoc_slice(tmp_path_factory: pytest.TempPathFactory) -> Index:
    """tests/pydoc-slice indexed with the real model (about 450 passages)."""
    folder = tmp_path_factory.mktemp("pydoc-slice") / "index"
    Index.build([SLICE], folder)
    return Index.open(folder)


def test_held_out_python_docs_quality(pydoc_slice):
    """Measured on the slice (hybrid): answerable flagged 0/24, near-topic 31/48, off-topic 18/20; one
    question more may go wrong in each, never two. (It was skipped unless the whole Python docs corpus had
    been indexed by hand, so it never ran in CI.)"""
    questions = slice_questions()
    assert {kind: sum(q["kind"] == kind for q in questions) for kind in ("answerable", "near-topic", "off-topic")} == {
        "answerable": 24, "near-topic": 48, "off-topic": 20}, "the sets or the slice changed: measure again"
    assert flagged_share(pydoc_slice, questions, "off-topic") >= 17 / 20
    assert flagged_share(pydoc_slice, questions, "answerable") <= 1 / 24
    assert flagged_share(pydoc_slice, questions, "near-topic") >= 30 / 48


# --- false "no answer" causes of issue 25 (each failed before its fix) ------------------------------


def _build(tmp_path: Path, fake_model: Path, texts: dict[str, str]) -> Index:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in texts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    Index.build([corpus], tmp_path / "ix", model=str(fake_model))
    return Index.open(tmp_path / "ix")


QUILL = {
    **{f"note{n}.txt": f"Quill note {n}\n\nQuill {topic} is described on this page of the Quill manual.\n"
       for n, topic in enumerate(["installation", "packages", "testing", "logging", "networking", "threads"])},
    **{name: text for name, text in TOWN.items() if name != "library.txt"},
    "borealis.txt": "Borealis\n\nBorealis is a plotting add-on that draws charts and maps.\n",
    "sorting.txt": "Sorting\n\nTo sort a list, call sort on the list: the list is sorted in place. "
                   "A sorted copy of a list comes from sorted.\n",
    "lists.txt": "Lists\n\nA list holds items in order; append adds an item to the end of the list.\n",
    "dicts.txt": "Dictionaries\n\nA dictionary maps keys to values; sorting a dictionary sorts its keys into a list.\n",
}


def test_a_name_the_whole_corpus_uses_is_no_evidence_against_a_passage(tmp_path, fake_model):
    """"How do I sort a list in Quill?" over notes on the Quill language: "Quill" is on 6 of 14 pages (as
    "Python" is on a fifth of the Python docs' passages), not on the one about sorting; it was the question's
    only name, so its absence weighed as a missing name in full (names_missing 1.0)."""
    quill = _build(tmp_path, fake_model, QUILL)
    common = signals(quill, "How do I sort a list in Quill?", "bm25")
    assert common["names_missing"] < 0.2, common   # its rarity, 0.11 (it was 1.0)
    assert "Quill" not in quill.answer("How do I sort a list in Quill?", 3, "bm25").verdict.top_reason.text


def test_an_example_value_in_the_question_is_not_a_name_the_documents_must_hold(tmp_path, fake_model):
    dates = _build(tmp_path, fake_model, {**TOWN,
        "dates.txt": "Reading dates\n\nThe parse function reads a date string and returns a date. The format "
                     "argument says how the string is written, for instance day, month and year.\n",
        "clock.txt": "Clocks\n\nThe clock function returns the time of day in seconds.\n"})
    for question in ('How do I parse a date string like "2023-01-05"?', "How do I parse a date string like 2023-01-05?",
                     "How do I parse a date string such as '5 Jan 2023'?"):
        found = signals(dates, question, "bm25")
        assert found["names_unknown"] == 0.0 and found["terms_in_corpus"] == 1.0, (question, found)
    how_to = signals(dates, "How can I check that the date string 2023-01-05 is valid?", "bm25")
    assert how_to["names_unknown"] == 0.0, "a number in a how-to question is the example the method is applied to"
    unquoted = signals(dates, "Which date string was parsed in 2023?", "bm25")
    assert unquoted["names_unknown"] == 1.0, "a number the question asks about (not an example) is still a name"


def test_a_chinese_question_is_judged_by_the_character_pairs_bm25_searches(tmp_path, fake_model):
    """The pairs that straddle two words ("猫吃", "吃什" of "大熊猫吃什么") are in no text; they counted as
    words the documents never use, and the reason repeated the whole run once per pair."""
    from tests.test_cjk import KYOTO, PANDA, TEA

    cjk = _build(tmp_path, fake_model, {"panda.txt": PANDA, "tea.txt": TEA, "kyoto.md": KYOTO})
    for mode in ("hybrid", "bm25"):
        found = signals(cjk, "大熊猫吃什么？", mode)
        assert found["terms_in_corpus"] == 1.0 and found["terms_in_best_passage"] == 1.0, found
    answer = cjk.answer("长颈鹿吃什么？", k=3)   # giraffes: no pair of it is in the documents
    assert not answer.answered and answer.verdict.top_reason.text.count("长颈鹿吃什么") == 0
    assert "“长颈”" in answer.verdict.top_reason.text


def test_a_few_stray_cjk_characters_are_no_text_a_chinese_question_is_judged_by(tmp_path, fake_model):
    """The Python docs use two CJK pairs (a Japanese name given as an example): a Chinese question with a
    command in it (pydoc-9 vp9-10, "用 2to3 -w 改写源文件时...") had every pair counted as a word the documents
    never use, and was flagged off the documents' subject. Documents with so few CJK terms hold no text in
    the language: the question is judged by the words they can hold."""
    from qa.answer.terms import CJK_TEXT_TERMS

    stray = "Names\n\nA name may be given in any script, as in the example 景太郎 below.\n"
    docs = _build(tmp_path, fake_model, {**TOWN, "names.txt": stray,
                                         "tool.txt": "The fixer tool\n\nRun fixer -w to write the changes back.\n"})
    assert sum(1 for t in docs.stored.bm25.vocabulary if "\u4e00" <= t[0] <= "\u9fff") < CJK_TEXT_TERMS
    for mode in ("hybrid", "bm25"):
        found = signals(docs, "用 fixer 改写源文件时怎样写回？", mode)
        assert found["terms_in_corpus"] == 1.0, found


def test_a_question_in_a_script_the_documents_do_not_use_says_so(town):
    """A Chinese question over English documents: no word of it can occur in them. The reason says that in
    one line, instead of the whole question repeated once per character pair ("“米尔布鲁克...”, “米尔布鲁克...”,
    ... or 12 more never occur")."""
    answer = town.answer("米尔布鲁克图书馆有多少本书？", k=3)
    assert not answer.answered and answer.hits, "the nearest passages are still listed"
    assert answer.verdict.top_reason.text == "the question is in Chinese or Japanese and these documents hold no text in either"


@pytest.mark.parametrize("question", ["How do I find out how often the weather station records the rain?",
                                      "How can I tell how long the bakery on Hill Street has been open?",
                                      "What is the default way the pupils publish the weather readings?"])
def test_a_how_to_question_asks_for_a_method_not_a_number(town, question):
    assert signals(town, question)["answer_type_missing"] == 0.0
    assert signals(town, question)["answer_near_subject"] == 1.0


def test_a_people_or_adjective_form_of_a_name_is_the_name(fake_seeds_index):
    """"Uruguayan" where the passage says "Uruguay" (and "November" where it says "Nov") was a name the
    documents never use."""
    seeds = Index.open(fake_seeds_index)
    for question in ("Which Uruguayan minister spoke about the partnership with China?",
                     "What did the Chilean market get from China?", "Which Argentine minister attended the forum?",
                     "Which countries did Xi Jinping visit in November 2024?"):   # the text says "Nov 13 to 21"
        found = signals(seeds, question, "bm25")
        assert found["names_unknown"] == 0.0, (question, found)
    assert signals(seeds, "Which Ruritanian minister spoke at the forum?", "bm25")["names_unknown"] == 1.0


def test_an_ordinal_or_a_common_acronym_is_no_name_the_documents_must_hold(town):
    """"a 3rd party parser", "a menu UI": capitalised or numbered, but common words (pydoc-6 vp6-06, vp6-20 were
    told "none of the best passages mentions “3rd”" and "... “UI”" though the passages answer them)."""
    for question in ("How do I water the community garden beds without a 3rd party timer?",
                     "Is there a UI where pupils publish the weather readings?"):
        found = signals(town, question, "bm25")
        assert found["names_missing"] == 0.0 and found["names_unknown"] == 0.0, (question, found)
    assert signals(town, "Is there a Ruritanian timer for the community garden beds?", "bm25")["names_unknown"] == 1.0


def test_an_acronym_is_found_where_a_passage_spells_it_out(tmp_path, fake_model):
    """"LAC countries" where the passage says "the Latin American and Caribbean countries" (seeds-6 vs6-29 was
    told "no best passage mentions “LAC” with the question's other names"); an acronym nothing spells is still
    missing."""
    from qa.answer.terms import acronym_forms, spelled_acronyms

    assert acronym_forms("LAC") <= spelled_acronyms("Together, the Latin American and Caribbean countries can grow.")
    assert acronym_forms("ICTs") <= spelled_acronyms("Information and Communication Technologies help.")
    # a possessive is the acronym (seeds-9 vs9-08: "no best passage mentions “CAICT's”")
    assert acronym_forms("CAICT's") == acronym_forms("CAICT’s") == acronym_forms("CAICT") != frozenset()
    assert acronym_forms("CAICT") <= spelled_acronyms("Yu Xiaohui, president of the Chinese Academy of Information and "
                                                      "Communication Technology, spoke.")
    # a hyphenated name is its parts, in the question and in the passage (seeds-10 vs10-18, "the China-LAC food
    # centre", where the article says "the China-Latin America and the Caribbean Sustainable Food Innovation Center")
    assert acronym_forms("China-LAC", "lac") == acronym_forms("LAC") and not acronym_forms("China-LAC", "china")
    assert acronym_forms("LAC") <= spelled_acronyms("Moreover, the China-Latin America and the Caribbean Food Center opened.")
    assert not acronym_forms("LAC") & spelled_acronyms("Latin music and Caribbean food.")
    trade = _build(tmp_path, fake_model, {**TOWN,
        "lac.txt": "Green trade\n\nThe LAC region is far away.\n\n" + "Nothing here. " * 600 + "\n\nBy working with "
                   "China, the Latin American and Caribbean countries can unleash the market potential of green energy.\n"})
    found = signals(trade, "What can LAC countries unleash by working with China on green energy?", "bm25")
    assert found["names_missing"] == 0.0, found
    missing = signals(trade, "What can OECD countries unleash by working with China on green energy?", "bm25")
    assert missing["names_missing"] > 0.0, missing


# "measured per phrase pattern on labelled questions": each phrase pattern with questions labelled by hand
# (from the fit and validation sets, and users' how-to phrasing); asked_type must give every label.
ANSWER_TYPES = {
    "how do I ... how long / how often (a method)": [
        ("How do I measure how long a small piece of code takes to run?", None),
        ("How do I find out how often an item appears in a list?", None),
        ("How can I control how long a queue waits for an item?", None),
        ("How to check how many items are in a list?", None),
        ("What is the best way to find out how long ago a file changed?", None),
        ("Is there a way to limit how often a function is called?", None)],
    "where does X look / is X stored (a location in a system, not a place)": [
        ("Where does Python look for modules when importing?", None), ("Where is the config file stored?", None),
        ("Where does Pan Deng work?", "place"), ("Where was the forum held?", "place")],
    "how many times (how often: a bare number, no unit)": [
        ("How many times does timeit run the statement by default?", "number")],
    "how long / how often (a quantity)": [
        ("How long was Murillo's visit to China?", "number"), ("How long is the cooking time for rice?", "number"),
        ("How often does the committee meet?", "number"), ("How long does the BYD factory take to build a car?", "number")],
    "what is the default ... (any kind of value)": [
        ("What is the default timer of timeit?", None), ("What is the default encoding of open()?", None),
        ("What is the default value of indent in json.dumps?", None)],
    "how many / how much (an amount)": [
        ("How many doses were sent?", "number"), ("How much did the station cost?", "number")],
    "an e-mail as the subject, not the address asked for": [
        ("How do I build an email header with non-ASCII characters like 'Grüße'?", None),
        ("how do i turn a date like 'Mon, 20 Nov 1995 19:12:08 -0500' from an email into a datetime", None),
        ("What email format does smtplib send?", None),
        ("What is the email address of the Chinese Academy of Information and Communications Technology?",
         "e-mail address"),
        ("What is the email of the forum's organisers?", "e-mail address"),
        ("Which e-mail should I write to for press questions?", "e-mail address")],
    "how can I contact ... (a contact, even phrased as how-to)": [
        ("How can I contact the organisers?", "contact"), ("How do I get in touch with the club?", "contact")],
}


@pytest.mark.parametrize("pattern", list(ANSWER_TYPES))
def test_answer_type_per_phrase_pattern(pattern):
    wrong = [(q, asked_type(q), kind) for q, kind in ANSWER_TYPES[pattern] if asked_type(q) != kind]
    assert not wrong, wrong
