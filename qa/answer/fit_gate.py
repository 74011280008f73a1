"""Fit the verdict's subject gate: is the question about what the documents are about at all?

The main model (qa/answer/fit.py) weighs every signal to tell a question the best passages answer from one
they do not, near misses and off-topic questions alike, with its threshold set so that it flags at most 2%
of answerable questions. Off-topic questions ("how do I prune a fig tree" of the Python docs) then fall
between: far from every passage, but no further than some answerable questions worded unlike the documents,
so the shared threshold let 19 of 116 validation off-topic questions through (hybrid). The gate is a second,
smaller logistic model fitted on answerable against off-topic questions only, over the few signals that
say how far the question is from the whole corpus (GATE_FEATURES); a question is flagged when either model
says so. Fitted on the fit and validation splits (never the held-out one), its threshold the highest that
flags at most GATE_MAX_FALSE_ALARMS of the answerable questions, cross-validated.
"""

from __future__ import annotations

import numpy as np

from qa.answer.logistic import balanced, cross_validated, fit_logistic, sigmoid

#: The signals the gate reads per search mode. Chosen by leaving each pair of validation sets out in turn
#: (trained on the rest and the fit split, 1% of answerable questions flagged; hybrid, 422 answerable and
#: 116 off-topic questions): the four below caught 110 of the 116 off-topic ones and wrongly 2 answerable
#: ones; adding terms_in_best_passage flagged 2 answerable questions more for 1 off-topic one, bm25_strength
#: changed nothing, and each of the two similarities alone caught fewer. Without a vector (BM25-only) only
#: the words are left: 50 of 116 caught at the same 2 answerable ones (bm25_strength is left out there: its
#: weight came out negative, a strong BM25 match counting against the subject).
GATE_FEATURES = {
    "hybrid": ("passage_similarity", "sentence_similarity", "terms_in_corpus", "passage_standout"),
    "dense": ("passage_similarity", "sentence_similarity", "terms_in_corpus", "passage_standout"),
    "bm25": ("terms_in_corpus", "terms_in_best_passage"),
}
GATE_MAX_FALSE_ALARMS = 0.01   # share of answerable questions the gate may flag (cross-validated)


def fit_gate(mode: str, rows: list[dict[str, float]], kinds: list[str]) -> tuple[dict[str, object], dict[str, object]]:
    """The gate of one search mode (as verdict.json stores it) and the summary of its fit, from each
    question's signals (`rows`) and kind; near-topic questions are left out (the main model's work)."""
    names = GATE_FEATURES[mode]
    keep = [i for i, kind in enumerate(kinds) if kind in ("answerable", "off-topic")]
    x = np.asarray([[rows[i][name] for name in names] for i in keep])
    y = np.asarray([1.0 if kinds[i] == "answerable" else 0.0 for i in keep])
    mean, scale = x.mean(0), x.std(0) + 1e-6
    weights, bias = fit_logistic((x - mean) / scale, y, balanced(y))
    if (weights <= 0).any():   # every signal says "closer to the documents": a negative weight is noise
        bad = [name for name, w in zip(names, weights) if w <= 0]
        raise ValueError(f"the {mode} gate weighs {', '.join(bad)} against its meaning; refusing to write")
    cv = sigmoid(cross_validated(x, y))
    answerable = np.sort(cv[y == 1])
    threshold = float(answerable[int(GATE_MAX_FALSE_ALARMS * len(answerable))])
    flagged = {"answerable": f"{int((cv[y == 1] < threshold).sum())}/{int((y == 1).sum())}",
               "off-topic": f"{int((cv[y == 0] < threshold).sum())}/{int((y == 0).sum())}"}
    model = {"features": list(names), "mean": [round(v, 6) for v in mean], "scale": [round(v, 6) for v in scale],
             "weights": [round(v, 6) for v in weights], "bias": round(bias, 6), "threshold": round(threshold, 6)}
    print(f"{mode:>6} gate: {len(y)} questions; threshold {threshold:.3f}; cross-validated flagged {flagged}")
    for name, w in zip(names, weights):
        print(f"        {name:<24} {w:+.3f}")
    return model, {"questions": len(y), "cross_validated_flagged": flagged}
