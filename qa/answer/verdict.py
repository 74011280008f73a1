"""The verdict: whether the documents answer a question, how sure that is, and why.

A stage after search (see DESIGN.md). Its input is the question, its vector (None in BM25-only
mode) and a fixed depth of the dense and BM25 rankings -- never the k hits, so `-k` cannot change
it; in hybrid mode ordered as the hits are, by the learned ranker over that depth, so that its reasons
are about the passages shown first -- plus read access to the passages, their sentence vectors and the
BM25 statistics. It gathers
signals that each catch a different near miss:

- answer type: the question asks for a number, date, name, e-mail, ... and the best sentences hold none;
- coverage: the question's words, weighted by rarity (IDF), and its names and numbers are missing from
  the best passages, or from the whole corpus;
- score shape: how similar the best sentence and passage are, how far the best sentence stands out
  from the next and the best passage from the depth of the dense ranking, how much dense and BM25
  search agree on their top passages.

The signals are gathered by qa/answer/evidence.py (the question's words and their rarity: terms.py); a
logistic model over them (qa/answer/weights.py: one weight set per search mode, plain JSON written by the
fitting script) turns them, here, into `answer_confidence`, the estimated chance that the top passages
answer the question, and the decision with its reasons. A second, smaller model per mode, the subject gate
(qa/answer/fit_gate.py), reads only how far the question is from the whole corpus: below its threshold the
question is off the documents' subject, and not answered whatever the first model says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.answer.evidence import Candidates, Evidence, gather
# WEIGHTS_FILE and WEIGHTS_FORMAT re-exported: the CLI's render and the fitting script read them here
from qa.answer.weights import (WEIGHTS_FILE, WEIGHTS_FORMAT, WeightSet, load_gates,  # noqa: F401
                              load_weights, weights_unused)
from qa.query import Query
from qa.search.hits import Answer

if TYPE_CHECKING:
    from qa.store.stored import StoredIndex

__all__ = ["Candidates", "Evidence", "Reason", "Verdict", "decide", "gather", "load_weights",
           "verdict_for", "WEIGHTS_FILE", "WEIGHTS_FORMAT"]


@dataclass(frozen=True)
class Reason:
    """One signal: its value, what it means, and how much it moved the verdict (log-odds)."""

    signal: str
    value: float
    text: str
    effect: float


@dataclass(frozen=True)
class Verdict:
    """Whether the documents answer the question, the calibrated chance they do, and why."""

    answered: bool
    answer_confidence: float
    reasons: tuple[Reason, ...]      # the signal that weighed most towards the decision first
    similarity: float | None          # best sentence similarity (None in BM25-only mode)
    model: str                        # the weight set used: hybrid, dense or bm25
    features: tuple[tuple[str, float], ...] = ()   # every signal gathered, also those the weight set ignores

    @property
    def top_reason(self) -> Reason | None:
        return self.reasons[0] if self.reasons else None


# --- deciding -------------------------------------------------------------------------


def decide(evidence: Evidence, weights: WeightSet, model: str, gate: WeightSet | None = None) -> Verdict:
    """The verdict for gathered evidence under one weight set and, if given, its subject gate."""
    confidence = weights.probability(evidence.features)
    off = _off_subject(evidence, gate) if gate is not None else None
    answered = off is None and confidence >= weights.threshold
    effects = weights.effects(evidence.features)
    # + 0.0 turns a rounded -0.0 into 0.0 (a neutral signal shows no effect, not "-0.0").
    reasons = [Reason(name, round(evidence.features[name], 4), evidence.texts[name], round(effects[name], 4) + 0.0)
               for name in weights.features]
    reasons.sort(key=lambda r: -r.effect if answered else r.effect)
    if off is not None:
        # The chance the passages answer a question off their subject is no more than the gate gives it.
        reason, on_subject = off
        return Verdict(False, min(confidence, on_subject), (reason, *reasons), evidence.similarity, model,
                       tuple(sorted(evidence.features.items())))
    return Verdict(answered, confidence, tuple(reasons), evidence.similarity, model,
                   tuple(sorted(evidence.features.items())))


def _off_subject(evidence: Evidence, gate: WeightSet) -> tuple[Reason, float] | None:
    """The subject gate's reason and probability when it finds the question off the documents' subject, told
    by the signal that weighed most against it; None when the question is on their subject."""
    on_subject = gate.probability(evidence.features)
    if on_subject >= gate.threshold:
        return None
    effects = gate.effects(evidence.features)
    worst = min(gate.features, key=lambda name: effects[name])
    below = math.log(on_subject / (1 - on_subject)) - math.log(gate.threshold / (1 - gate.threshold))
    return Reason("off_subject", round(on_subject, 4),
                  f"the question is far from what these documents are about ({evidence.texts[worst]})",
                  round(below, 4)), on_subject


def verdict_for(query: Query, vector: np.ndarray | None, candidates: Candidates, stored: StoredIndex) -> Verdict:
    """Whether the documents answer `query`, judged from the candidates' best passages (in hybrid mode the
    ranker's, the hits shown first). Inside `weights.without_weights()` (the fit) every signal is gathered
    and nothing is decided: no weights are read."""
    model = candidates.mode if vector is not None else "bm25"
    evidence = gather(query, vector, candidates, stored)
    if not candidates.ranking:   # nothing to judge: no passage shares a word with the question
        empty = Reason("no_passage", 1.0, "no passage matches the question", 0.0)
        return Verdict(False, 0.0, (empty,), evidence.similarity, model, tuple(sorted(evidence.features.items())))
    if evidence.features["terms_in_corpus"] == 0.0:
        # Not one word the question is about occurs in the documents ("a recipe for guacamole"): they
        # cannot state its answer, however close some passage's vector comes. Of 172 answerable fit
        # questions none is in this case; of 68 off-topic ones, 31 are.
        absent = Reason("terms_in_corpus", 0.0, evidence.texts["terms_in_corpus"], 0.0)
        return Verdict(False, 0.0, (absent,), evidence.similarity, model,
                       tuple(sorted(evidence.features.items())))
    if weights_unused():
        return Verdict(True, 1.0, (), evidence.similarity, model, tuple(sorted(evidence.features.items())))
    return decide(evidence, load_weights()[model], model, load_gates()[model])


def no_words(question: str, mode: str) -> Answer:
    """The answer to a question without a word to search for ("...", "?!"): none, and that reason."""
    reason = Reason("no_words", 0.0, "the question has no words to search for", 0.0)
    return Answer(question, mode, [], False, None, Verdict(False, 0.0, (reason,), None, mode))
