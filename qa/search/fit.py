"""Fit the hybrid ranker (qa/search/rank.py) and write qa/search/ranker.json: `python -m qa.search.fit`.

    python -m qa.search.fit --index pydoc=/tmp/pydoc-full --index kernel=/tmp/kernel-sample --index seeds=DIR

Reads only the fit sets (FIT_SETS; each names the corpus its files are relative to). Per question it takes
the candidates of both searches (the union of the dense and BM25 top `depth`) and their features, labels a
candidate 1 when its passage holds a gold phrase in a gold file, and fits a pairwise logistic model: for
each question, every (answering, other) candidate pair should score the answering one higher, each question
weighing the same. That is a linear scorer, so the weights are written as plain JSON with the means and
scales the features are standardised by.

`--report` prints, by 5-fold cross-validation over questions (folds by question, fixed seed), the
candidates' MRR@10 and recall@1/@5 under reciprocal-rank fusion and under the fitted scorer, per corpus,
and the ablation: the change when each feature alone is left out. The validation sets are read by
`--validate` through `qa eval`'s own scoring (tests/bench/questions/README.md says which sets are which);
held-out sets are never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa import config
from qa.answer.fit import fit_logistic
from qa.evaluate import Question, evaluate, load_questions, normalise
from qa.index import Index
from qa.query import Query
from qa.search.fusion import fuse
from qa.search.rank import FEATURES, RANKER_FILE, RANKER_FORMAT, Ranker, features

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "tests" / "bench" / "questions"
VERDICT = REPO / "tests" / "verdict"
SHARED = next((p / "shared" for p in (REPO.parent, REPO.parents[1]) if (p / "shared").is_dir()), REPO.parent / "shared")

#: The sets the fit reads, by corpus. Never a held-out set, nor the sets read once as held-out
#: before (pydoc-heldout-2, -3 and -4, kernel-heldout, the seeds' and the Python docs' newest verdict sets): see
#: tests/bench/questions/README.md.
FIT_SETS = {
    "pydoc": [QUESTIONS / "pydoc-fit-2.jsonl", QUESTIONS / "pydoc-tune.jsonl",
              *(VERDICT / f"pydoc{n}.jsonl" for n in ("", "-2", "-3", "-4", "-5"))],
    "kernel": [QUESTIONS / "kernel-fit.jsonl"],
    "seeds": [REPO / "tests" / "questions.jsonl", REPO / "tests" / "retrieval.jsonl", SHARED / "dev-questions.jsonl",
              *(VERDICT / f"seeds{n}.jsonl" for n in ("", "-2", "-3", "-4", "-5"))],
}
#: Sets that chose defaults before (validation): `--validate` reads them, the fit never does.
VALIDATION_SETS = {
    "pydoc": [QUESTIONS / "pydoc-validation.jsonl"],
    "seeds": [REPO / "tests" / "seeds-validation.jsonl", VERDICT / "seeds-6.jsonl"],
}
FOLDS = 5
L2 = 1.0


@dataclass
class Sample:
    """One question's candidates: rows, features, and which ones answer it."""

    corpus: str
    id: str
    rows: list[int]
    x: np.ndarray
    y: np.ndarray
    fused: np.ndarray      # reciprocal-rank fusion's score of each candidate (the baseline)


def answerable(paths: list[Path]) -> list[Question]:
    """The questions with a gold answer in `paths`, ids made unique per file."""
    questions = []
    for path in paths:
        if path.is_file():
            questions += [replace(q, id=f"{path.stem}:{q.id}") for q in load_questions(path) if q.gold]
    return questions


def holds(passage_file: str, text: str, gold: tuple[tuple[str, str], ...]) -> bool:
    text = normalise(text)
    return any((passage_file == f or passage_file.endswith("/" + f)) and normalise(p) in text for f, p in gold)


def collect(corpus: str, index: Index, questions: list[Question], depth: int) -> list[Sample]:
    """Every question's candidates and features."""
    queries = [Query.of(q.question) for q in questions]
    keep = [i for i, query in enumerate(queries) if query.searchable]
    samples = []
    ranked = index.rankings([queries[i] for i in keep], "hybrid", depth)
    for i, (vector, dense, sparse) in zip(keep, ranked):
        rows, x = features(queries[i], vector, dense, sparse, index.stored)
        passages = index.stored.passages(rows)
        y = np.array([holds(p.file, p.text, questions[i].gold) for p in passages], dtype=float)
        rrf = dict(fuse(dense, sparse, index.search_settings))
        samples.append(Sample(corpus, questions[i].id, rows, x, y, np.array([rrf[row] for row in rows])))
    return samples


def pairs(samples: list[Sample], columns: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Differences of (answering - other) candidates, both ways round, each question weighing the same."""
    xs, ys, ws = [], [], []
    for s in samples:
        positive, negative = s.x[s.y == 1][:, columns], s.x[s.y == 0][:, columns]
        if not len(positive) or not len(negative):
            continue
        difference = (positive[:, None, :] - negative[None, :, :]).reshape(-1, len(columns))
        weight = np.full(len(difference), 1.0 / len(difference))
        xs += [difference, -difference]
        ys += [np.ones(len(difference)), np.zeros(len(difference))]
        ws += [weight, weight]
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def fit(samples: list[Sample], columns: list[int], l2: float = L2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and scales over `columns` (the scales standardise each feature over all candidates)."""
    every = np.vstack([s.x[:, columns] for s in samples])
    mean, scale = every.mean(0), every.std(0)
    scale[scale == 0] = 1.0
    x, y, w = pairs(samples, columns)
    weights, _ = fit_logistic(x / scale, y, w * len(samples), l2)
    return weights, mean, scale


def found_at(sample: Sample, score: np.ndarray) -> int | None:
    """Rank of the first answering candidate under `score` (ties by row, as the ranker breaks them)."""
    order = sorted(range(len(sample.rows)), key=lambda i: (-score[i], sample.rows[i]))
    return next((rank for rank, i in enumerate(order, start=1) if sample.y[i]), None)


def measures(ranks: list[int | None]) -> str:
    n = max(len(ranks), 1)
    mrr = sum(1 / r for r in ranks if r and r <= 10) / n
    return (f"MRR@10 {mrr:.3f} R@1 {sum(1 for r in ranks if r == 1) / n:.3f} "
            f"R@5 {sum(1 for r in ranks if r and r <= 5) / n:.3f}")


def cross_validated(samples: list[Sample], columns: list[int], l2: float = L2) -> list[int | None]:
    """Each question's rank from a scorer fitted without its fold."""
    fold = np.random.default_rng(0).permutation(len(samples)) % FOLDS
    ranks: list[int | None] = [None] * len(samples)
    for f in range(FOLDS):
        train = [s for s, g in zip(samples, fold) if g != f]
        weights, mean, scale = fit(train, columns, l2)
        for i in np.flatnonzero(fold == f):
            s = samples[i]
            ranks[i] = found_at(s, ((s.x[:, columns] - mean) / scale) @ weights)
    return ranks


def report(samples: list[Sample], l2: float) -> None:
    every = list(range(len(FEATURES)))
    corpora = sorted({s.corpus for s in samples})
    learned = cross_validated(samples, every, l2)
    print(f"{len(samples)} questions; candidates per question {np.mean([len(s.rows) for s in samples]):.0f}; "
          f"answer among them {np.mean([s.y.any() for s in samples]):.2f}")
    for corpus in corpora:
        chosen = [i for i, s in enumerate(samples) if s.corpus == corpus]
        print(f"  {corpus:7} ({len(chosen)}) rrf     {measures([found_at(samples[i], samples[i].fused) for i in chosen])}")
        print(f"  {corpus:7} ({len(chosen)}) learned {measures([learned[i] for i in chosen])}")
    base = sum(1 / r for r in learned if r and r <= 10) / len(samples)
    print("ablation (cross-validated MRR@10 over all questions without the feature, change):")
    for c, name in enumerate(FEATURES):
        ranks = cross_validated(samples, [i for i in every if i != c], l2)
        mrr = sum(1 / r for r in ranks if r and r <= 10) / len(samples)
        print(f"  {name:18} {mrr:.3f} ({mrr - base:+.3f})")


def validate(indexes: dict[str, Index], ranker: Ranker) -> None:
    """qa eval's scores of hybrid search on the validation sets, with reciprocal-rank fusion and the ranker."""
    for corpus, paths in VALIDATION_SETS.items():
        if corpus not in indexes:
            continue
        for path in paths:
            questions = [q for q in load_questions(path)]
            index = indexes[corpus]
            for fusion in ("rrf", "learned"):
                index.search_settings = replace(index.search_settings, fusion=fusion)
                index.ranker = ranker
                scores = evaluate(index, questions, ("hybrid",), judge=False)["hybrid"]
                print(f"  {path.name:28} {fusion:8} R@1 {scores.recall(1):.3f} R@5 {scores.recall(5):.3f} "
                      f"R@10 {scores.recall(10):.3f} MRR@10 {scores.mrr(10):.3f}")


def document(weights: np.ndarray, mean: np.ndarray, scale: np.ndarray, samples: list[Sample], depth: int,
             l2: float) -> dict[str, object]:
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.corpus] = counts.get(s.corpus, 0) + 1
    return {
        "format": RANKER_FORMAT,
        "about": "The hybrid ranker (qa/search/rank.py): score = sum(weight * (feature - mean) / scale) over the "
                 "union of the dense and BM25 top `depth`. Written by python -m qa.search.fit; plain JSON.",
        "fitted_on": {"sets": {c: [str(p.relative_to(REPO) if p.is_relative_to(REPO) else p.name) for p in paths]
                               for c, paths in FIT_SETS.items()},
                      "questions": counts, "objective": "pairwise logistic, each question weighing the same",
                      "l2": l2},
        "depth": depth,
        "features": list(FEATURES),
        "weights": [round(float(w), 6) for w in weights],
        "means": [round(float(m), 6) for m in mean],
        "scales": [round(float(s), 6) for s in scale],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.search.fit", description=__doc__.split("\n")[0])
    parser.add_argument("--index", action="append", default=[], metavar="CORPUS=DIR",
                        help=f"an index of a corpus of FIT_SETS ({', '.join(FIT_SETS)})")
    parser.add_argument("--depth", type=int, default=config.SearchSettings.depth)
    parser.add_argument("--l2", type=float, default=L2)
    parser.add_argument("--report", action="store_true", help="cross-validated scores and the ablation")
    parser.add_argument("--validate", action="store_true", help="qa eval's scores on the validation sets")
    parser.add_argument("--out", type=Path, default=RANKER_FILE, help="where to write the weights ('-': nowhere)")
    args = parser.parse_args(argv)
    indexes = {}
    for given in args.index:
        corpus, _, folder = given.partition("=")
        if corpus not in FIT_SETS or not folder:
            parser.error(f"--index takes CORPUS=DIR with CORPUS one of {', '.join(FIT_SETS)}")
        indexes[corpus] = Index.open(folder)
    samples: list[Sample] = []
    for corpus, index in indexes.items():
        started = time.perf_counter()
        questions = answerable(FIT_SETS[corpus])
        samples += collect(corpus, index, questions, args.depth)
        print(f"{corpus}: {len(questions)} questions, {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.report:
        report(samples, args.l2)
    every = list(range(len(FEATURES)))
    weights, mean, scale = fit(samples, every, args.l2)
    for name, w in zip(FEATURES, weights):
        print(f"  weight {name:18} {w:+.3f}")
    ranker = Ranker(tuple(map(float, weights)), tuple(map(float, mean)), tuple(map(float, scale)), args.depth)
    if args.validate:
        validate(indexes, ranker)
    if str(args.out) != "-":
        args.out.write_text(json.dumps(document(weights, mean, scale, samples, args.depth, args.l2), indent=1) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
