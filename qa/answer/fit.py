"""Fit the verdict's weights on the fit split and write qa/answer/verdict.json: `python -m qa.answer.fit`.

    python tests/bench/pydoc_corpus.py     # once: the Python docs corpus and its index
    python -m qa.answer.fit [--seeds-index DIR] [--pydoc-index DIR] [--out FILE]
Reads only the fit split (tests/verdict/*.jsonl with "split": "fit", and the older seeds sets that
were used for tuning before); the validation and held-out sets (qa.answer.fit_sets.ROLES) are for
tests/bench/verdict_report.py. For each
search mode it gathers every signal the verdict computes, fits an L2-regularised logistic model of
"the top passages answer the question" (answerable, and a gold passage among the top three), with
both classes weighted equally, and picks the decision threshold on 5-fold cross-validated
probabilities: the highest threshold that flags at most MAX_FALSE_ALARMS (2%, issue 25: a false "no
answer" costs more than a missed one) of the answerable fit questions. Weighting the classes equally ranks well but inflates the probabilities (fewer than half of
the fit questions are right), so the model's log-odds are then recalibrated (Platt scaling: a logistic
fit of "right" on the cross-validated log-odds, classes as they come) and the recalibration is folded
into the weights and the threshold: the same questions are answered, and `answer_confidence` is the
chance the shown passages answer. The weights are written as plain JSON with the features, the data
and the settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa import config
from qa.answer.fit_gate import GATE_MAX_FALSE_ALARMS, fit_gate
from qa.answer.fit_sets import OLDER_SEEDS_SETS, PYDOC_SETS, REPO, SEEDS_SETS, Item, answer_all, load, right
from qa.answer.logistic import FOLDS, L2, balanced, cross_validated, fit_logistic, platt, sigmoid
from qa.answer.weights import WEIGHTS_FILE, WEIGHTS_FORMAT, load_weights, without_weights
from qa.errors import QAError
from qa.evaluate import calibration

if TYPE_CHECKING:
    from qa.index import Index

#: Where tests/bench keeps its indexes (tests/bench/pydoc_corpus.py builds the Python docs one).
BENCH_CACHE = REPO / "tests" / "bench" / ".cache"

#: Every question file the fit reads (only their "split": "fit" lines; the older sets whole).
SETS = [*SEEDS_SETS, *PYDOC_SETS, *OLDER_SEEDS_SETS]

#: The signals each weight set uses (see qa/answer/verdict.py SIGNALS), chosen by 5-fold cross-validation on
#: the fit split (flagged near-topic and off-topic questions at the same false alarms), keeping only
#: signals whose weight comes out with the sign their meaning gives it.
#: - passage_standout (best passage against the 50th of the dense ranking) is what separates off-topic
#:   questions: their similarities are low and flat, while an answerable question written in other
#:   words than the documents' still has passages clearly closer than the rest.
#: - similarity_margin is left out of the hybrid set: among sentences that are all far from an off-topic
#:   question one may still stand out, which made some off-topic questions look answered.
#: - rankings_agree (ranks of each search's first passage in the other) is gathered and shown but left
#:   out: it rewards off-topic questions whose two searches agree on the same weak passage, and it
#:   depends on exact ranks that tuning the search changes.
#: - bm25_strength and terms_in_corpus are left out of the hybrid and dense sets: beside
#:   terms_in_best_passage their weights came out against their meaning (a passage matching the
#:   question's words well counted against an answer: the generated near misses match every word but
#:   one, and the older answerable questions avoid the documents' words). The BM25-only set, which has
#:   no similarity to lean on, keeps bm25_strength although its weight is negative there too: without it
#:   cross-validation flags 38/59 off-topic questions instead of 41/59 (an exception to the rule, to
#:   replace when a BM25 signal with an honest sign is found).
#: - answer_near_subject (the question's words around the best sentence holding an answer of the asked
#:   kind), with the terms_in_corpus rule of verdict_for, raised cross-validated near-topic flags from 54%
#:   to 59% (hybrid; off-topic 84% to 88%) at the same false alarms:
#:   "how many vehicles did China export to Chile" finds numbers of vehicles, but not beside "Chile". In
#:   the BM25-only set it changed nothing (sentences are ranked by the question's words there already).
FEATURES = {
    "hybrid": ("sentence_similarity", "passage_standout", "terms_in_best_passage", "names_unknown",
               "names_missing", "answer_type_missing", "answer_unit_missing", "answer_near_subject"),
    "dense": ("sentence_similarity", "similarity_margin", "passage_standout", "terms_in_best_passage",
              "names_unknown", "names_missing", "answer_type_missing", "answer_unit_missing", "answer_near_subject"),
    "bm25": ("bm25_strength", "terms_in_best_passage", "names_unknown", "names_missing", "answer_type_missing",
             "answer_unit_missing"),
}
#: The value of a signal that says nothing either way: the question asks for no kind of answer, names nothing.
NEUTRAL = {"answer_type_missing": 0.0, "answer_unit_missing": 0.0, "answer_near_subject": 1.0, "names_unknown": 0.0,
           "names_missing": 0.0}
MAX_FALSE_ALARMS = 0.02  # share of answerable fit questions the threshold may flag (cross-validated)


def calibration_table(probability: np.ndarray, y: np.ndarray) -> list[str]:
    """"bin: questions, share right" for each tenth of probability that holds questions."""
    return [f"{row['from']:.1f}-{row['to']:.1f}: {row['questions']}, {row['share_right']:.2f}"
            for row in calibration(zip(probability.tolist(), (y == 1).tolist()))]


def fit_mode(mode: str, indexes: dict[str, Index], items: dict[str, list[Item]]) -> tuple[dict[str, object],
                                                                                          dict[str, object]]:
    """The weight set of one search mode (as verdict.json stores it) and the summary of its fit; prints both."""
    rows, labels, kinds, gated = [], [], [], []
    for corpus, index in indexes.items():
        for item, answer in zip(items[corpus], answer_all(index, items[corpus], mode)):
            assert answer.verdict is not None     # answers are judged
            features = dict(answer.verdict.features)
            rows.append([features[name] for name in FEATURES[mode]])
            labels.append(1.0 if right(item, answer) else 0.0)
            kinds.append(item.kind)
            reason = answer.verdict.top_reason
            gated.append(reason is not None and reason.signal == "terms_in_corpus")   # decided without the model
    x, y, kinds_array = np.asarray(rows), np.asarray(labels), np.asarray(kinds)
    # Centred on each signal's neutral value where it has one, so a question that asks for no name or
    # kind of answer gets no credit for it in --explain; the bias absorbs the shift (same decisions).
    mean = np.asarray([NEUTRAL.get(name, m) for name, m in zip(FEATURES[mode], x.mean(0))])
    scale = x.std(0) + 1e-6
    weights, bias = fit_logistic((x - mean) / scale, y, balanced(y))
    log_odds = cross_validated(x, y)
    model_decides = ~np.asarray(gated)
    cv = np.where(model_decides, sigmoid(log_odds), 0.0)
    answerable = cv[kinds_array == "answerable"]
    allowed = int(MAX_FALSE_ALARMS * len(answerable))
    threshold = float(np.sort(answerable)[allowed]) if len(answerable) > allowed else 0.5
    threshold = min(threshold, 0.5)   # whatever the model thinks more likely right than not is answered
    flagged = {kind: f"{int((cv[kinds_array == kind] < threshold).sum())}/{int((kinds_array == kind).sum())}"
               for kind in ("answerable", "near-topic", "off-topic")}
    a, b = platt(log_odds[model_decides], y[model_decides])
    calibrated = np.where(model_decides, sigmoid(a * log_odds + b), 0.0)
    weights, bias, threshold = a * weights, a * bias + b, float(sigmoid(a * np.log(threshold / (1 - threshold)) + b))
    model = {"features": list(FEATURES[mode]), "mean": [round(v, 6) for v in mean],
             "scale": [round(v, 6) for v in scale], "weights": [round(v, 6) for v in weights],
             "bias": round(bias, 6), "threshold": round(threshold, 6)}
    summary = {"questions": len(y), "right": int(y.sum()), "cross_validated_flagged": flagged,
               "recalibration": {"slope": round(a, 4), "intercept": round(b, 4)},
               "cross_validated_calibration": calibration_table(calibrated, y)}
    print(f"{mode:>6}: {len(y)} fit questions ({int(y.sum())} right); threshold {threshold:.3f}; "
          f"cross-validated flagged {flagged}")
    print(f"        recalibrated log-odds x {a:.3f} {b:+.3f}; cross-validated calibration "
          f"(bin: questions, share right) {'; '.join(calibration_table(calibrated, y))}; "
          f"before: {'; '.join(calibration_table(cv, y))}")
    for name, w in zip(FEATURES[mode], weights):
        print(f"        {name:<24} {w:+.3f}")
    return model, summary


def open_indexes(seeds: Path, pydoc: Path) -> dict[str, Index]:
    """The two corpora's indexes, brought up to date first (the seeds index is built when missing; the
    Python docs one must have been built once by tests/bench/pydoc_corpus.py). Raises QAError."""
    from qa.index import Index

    if not (REPO / "tests" / "verdict").is_dir():
        raise QAError(f"No question sets at {REPO / 'tests' / 'verdict'}: run the fit from a qa checkout.")
    if not (pydoc / "CURRENT").is_file():
        raise QAError(f"No Python docs index at {pydoc}. Build it once with: python tests/bench/pydoc_corpus.py")
    Index.build([REPO / "seeds"], seeds)
    Index.build(None, pydoc)          # updated from the paths it was built from
    return {"seeds": Index.open(seeds), "pydoc": Index.open(pydoc)}


def counts(items: dict[str, list[Item]]) -> dict[str, dict[str, int]]:
    """How many questions of each kind, per corpus."""
    return {corpus: {kind: sum(1 for i in its if i.kind == kind) for kind in ("answerable", "near-topic", "off-topic")}
            for corpus, its in items.items()}


def weights_document(models: dict[str, dict[str, object]], summary: dict[str, dict[str, object]],
                     items: dict[str, list[Item]], gates: dict[str, dict[str, object]],
                     gate_summary: dict[str, object]) -> dict[str, object]:
    """verdict.json: the weight sets and the gates, and what they were fitted on."""
    return {
        "format": WEIGHTS_FORMAT,
        "about": "Logistic weights of the verdict (qa/answer/verdict.py), one set per search mode: "
                 "P(answered) = 1 / (1 + exp(-(bias + sum(weight * (value - mean) / scale)))); answered when "
                 "P >= threshold. Written by python -m qa.answer.fit; plain JSON, read with json.",
        "fitted_on": {
            "label": "1 when the question is answerable and a gold passage is among the top 3 hits",
            "split": "fit (the held-out split is never read)",
            "files": [str(p.relative_to(REPO)) if p.is_relative_to(REPO) else f"../{p.parent.name}/{p.name}"
                      for p in SETS if p.is_file()
                      and (p in OLDER_SEEDS_SETS or '"split": "fit"' in p.read_text(encoding="utf-8"))],
            "corpora": {"seeds": "seeds/ (5 news articles)",
                        "pydoc": "Python 3.11 docs: tutorial/ and 40 library pages (tests/bench/pydoc_corpus.py)"},
            "questions": counts(items),
            "regularisation": f"L2 {L2} on standardised weights; classes weighted equally",
            "threshold": f"highest that flags at most {MAX_FALSE_ALARMS:.0%} of answerable fit questions "
                         f"({FOLDS}-fold cross-validated), at most 0.5 before recalibration",
            "recalibration": "Platt scaling of the cross-validated log-odds against the label, folded into "
                             "the weights, bias and threshold (same decisions; calibrated answer_confidence)",
            "summary": summary,
            "date": time.strftime("%Y-%m-%d"),
        },
        "models": models,
        "gates_fitted_on": gate_summary,
        "gates": gates,
    }


def fit_gates(indexes: dict[str, Index]) -> tuple[dict[str, dict[str, object]], dict[str, object]]:
    """The subject gate of every search mode (qa/answer/fit_gate.py), fitted on the fit and validation splits."""
    items = {corpus: load(corpus, "fit") + load(corpus, "validation") for corpus in indexes}
    gates: dict[str, dict[str, object]] = {}
    summary: dict[str, object] = {"label": "1 when the question is answerable, 0 when off-topic (near-topic left out)",
                                  "split": "fit and validation (the held-out split is never read)",
                                  "questions": counts(items),
                                  "threshold": f"highest that flags at most {GATE_MAX_FALSE_ALARMS:.0%} of answerable "
                                               f"questions ({FOLDS}-fold cross-validated)"}
    for mode in config.MODES:
        rows, kinds = [], []
        for corpus, index in indexes.items():
            for item, answer in zip(items[corpus], answer_all(index, items[corpus], mode)):
                assert answer.verdict is not None     # answers are judged
                rows.append(dict(answer.verdict.features))
                kinds.append(item.kind)
        gates[mode], summary[mode] = fit_gate(mode, rows, kinds)
    return gates, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.answer.fit", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seeds-index", type=Path, default=BENCH_CACHE / "seeds-index",
                        help="index of seeds/ (built or updated here; default: %(default)s)")
    parser.add_argument("--pydoc-index", type=Path, default=BENCH_CACHE / "pydoc-index",
                        help="index of the Python docs subset (tests/bench/pydoc_corpus.py; default: %(default)s)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        with without_weights():   # the signals only: the fit runs whatever verdict.json holds now
            indexes = open_indexes(args.seeds_index, args.pydoc_index)
            items = {corpus: load(corpus, "fit") for corpus in indexes}
            models: dict[str, dict[str, object]] = {}
            summary: dict[str, dict[str, object]] = {}
            for mode in config.MODES:
                models[mode], summary[mode] = fit_mode(mode, indexes, items)
            gates, gate_summary = fit_gates(indexes)
    except (QAError, ValueError) as error:
        print(f"qa.answer.fit: {error}", file=sys.stderr)
        return 1
    document = weights_document(models, summary, items, gates, gate_summary)
    args.out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    load_weights.cache_clear()
    load_weights(args.out)   # refuse to finish with a file the verdict cannot read
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
