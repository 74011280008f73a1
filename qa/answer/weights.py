"""The verdict's model: the signals it reads, and one logistic weight set per search mode, read from plain JSON.

`qa/answer/verdict.json` (written by `python -m qa.answer.fit`; never unpickled) holds, for hybrid, dense
and bm25, the weights that turn the signals' values into `answer_confidence`, and the threshold above
which a question counts as answered; and each mode's subject gate (qa/answer/fit_gate.py): the weights
that tell a question on the documents' subject from an off-topic one, and the threshold below which the
question is off-topic whatever the first model says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa import config
from qa.errors import QAError

#: The weights, written by `python -m qa.answer.fit`.
WEIGHTS_FILE = Path(__file__).with_name("verdict.json")
WEIGHTS_FORMAT = 2

SIGNALS: dict[str, str] = {
    "sentence_similarity": "similarity of the best sentence to the question",
    "passage_similarity": "similarity of the best passage (dense search) to the question",
    "similarity_margin": "how far the best sentence stands out from the next one",
    "passage_standout": "how far the best passage's similarity stands above the last of the dense ranking's top "
                        f"{config.SearchSettings.depth}: a question the documents are about has passages clearly "
                        "closer than the rest; an off-topic question is about as far from all of them",
    "rankings_agree": "how high each search ranks the other's first passage (mean reciprocal rank in its top 5)",
    "terms_in_corpus": "share of the question's words (weighted by rarity) found anywhere in the documents",
    "terms_in_best_passage": "share of the question's words (weighted by rarity) found in one of the best passages",
    "names_unknown": "share of the question's names and numbers that never occur in the documents (quoted text and "
                     "example values are not names the documents must hold)",
    "names_missing": "the question's names and numbers missing from the best passage that holds most of them, weighted "
                     "by rarity, as a share of all its names' weight (counted as at least one rare name's): a name "
                     "found on most passages weighs next to nothing",
    "answer_type_missing": "the question asks for a kind of answer (number, date, name, ...) and the best sentences "
                           "do not hold one besides the question's own words: 0 when the best does, 1/3 when the "
                           "second does, ..., 1 when none does",
    "answer_unit_missing": "1 when the question asks for an amount (how many doses, what it cost, how much it grew) "
                           "and the best passages give no such amount",
    "answer_near_subject": "the question asks for a kind of answer: the most of the question's words (weighted by "
                           "rarity) found in a best-passage sentence that holds one, with the sentences beside it; "
                           "1 when the question asks for no particular kind",
    "bm25_strength": "BM25 score of the best passage as a share of the most the question's words can score",
    "bm25_margin": "how far the best BM25 passage stands out from the next one",
}


@dataclass(frozen=True)
class WeightSet:
    """A logistic model: P(answered) = sigmoid(bias + sum(weight * (value - mean) / scale))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float   # answered when the probability is at least this

    def effects(self, features: dict[str, float]) -> dict[str, float]:
        return {name: w * (features[name] - m) / s
                for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights)}

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.effects(features).values())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold}


def _weight_set(data: Any) -> WeightSet:   # data: parsed JSON, whatever the file holds
    names = data["features"]
    numbers = [data["mean"], data["scale"], data["weights"]]
    if not all(isinstance(n, str) and n in SIGNALS for n in names) or any(len(n) != len(names) for n in numbers):
        raise ValueError("features do not match their numbers")
    values = [float(x) for row in numbers for x in row] + [float(data["bias"]), float(data["threshold"])]
    if not all(math.isfinite(v) for v in values) or any(float(s) <= 0 for s in data["scale"]):
        raise ValueError("a weight is not a finite number")
    mean, scale, weights = (tuple(float(x) for x in row) for row in numbers)
    return WeightSet(tuple(names), mean, scale, weights, float(data["bias"]), float(data["threshold"]))


def _read(path: Path) -> tuple[dict[str, WeightSet], dict[str, WeightSet]]:
    """The weight sets and the subject gates by mode, read from plain JSON (never unpickled). Raises QAError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {WEIGHTS_FORMAT}")
        models = {mode: _weight_set(data["models"][mode]) for mode in config.MODES}
        gates = {mode: _weight_set(data["gates"][mode]) for mode in config.MODES}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise QAError(f"The verdict weights {path} cannot be read ({error}). Reinstall qa, or refit them with: "
                      "python -m qa.answer.fit") from None
    return models, gates


@lru_cache(maxsize=4)
def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, WeightSet]:
    """The weight sets by mode."""
    return _read(path)[0]


@lru_cache(maxsize=4)
def load_gates(path: Path = WEIGHTS_FILE) -> dict[str, WeightSet]:
    """The subject gates by mode."""
    return _read(path)[1]


_UNUSED = [False]


@contextmanager
def without_weights() -> Iterator[None]:
    """Within: the verdict gathers every signal and decides nothing, reading no weights -- how the fit
    (python -m qa.answer.fit) judges, so that it runs whatever verdict.json holds (an older format, damage)."""
    _UNUSED[0] = True
    try:
        yield
    finally:
        _UNUSED[0] = False


def weights_unused() -> bool:
    """Whether the verdict runs inside `without_weights`."""
    return _UNUSED[0]
