"""Search changes tried at size and not kept: `python tests/bench/search_variants.py [--heldout]`.

Each variant changes one step of hybrid search on the default indexes of tests/bench/granularity.py
(the whole Python docs corpus and the seeds, 200 word pieces, overlap 2; run that script first) and
prints MRR@10 / recall@5 / recall@10 of dense, BM25 and hybrid search on the tune sets (pydoc-tune; the
seeds' dev, own and retrieval sets). `--heldout` adds the held-out sets: read them only to confirm a
variant that won on the tune sets of both corpora.

- docs-sum / docs-max: document-level aggregation, each passage's fused score plus `weight` times the
  sum (or the best) of the fused scores of the other passages of its file in the ranking;
- rm3: pseudo-relevance feedback for BM25: the 10 most weighty terms (IDF times their share of the top
  10 passages, each weighted by its softmaxed score) join the question with weight 0.3;
- sentences: dense score (1 - w) * passage similarity + w * the best similarity of the passage's own
  sentence vectors (multi-granularity retrieval);
- per-file: at most N hits from one file (`--max-per-file N` as a default), so that one long page
  cannot fill the top 5 or 10.

`--pydoc-index`/`--seeds-index` point at other indexes built with the defaults (`qa index`).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import qa.index  # noqa: E402
from qa import Index  # noqa: E402
from qa.search.bm25 import BM25, STOP_WORDS, tokenize  # noqa: E402
from qa.evaluate import evaluate, load_questions  # noqa: E402
from qa.search.fusion import fuse  # noqa: E402
from tune import HELD_OUT, question_sets  # noqa: E402

INDEXES = HERE / ".cache" / "granularity"
QUESTIONS = HERE / "questions"
MODES = ("dense", "bm25", "hybrid")
VARIANTS = ["none", "docs-sum:0.1", "docs-sum:0.2", "docs-max:0.2", "docs-max:0.5", "rm3:0.2", "rm3:0.3",
            "sentences:0.5", "sentences:0.85", "sentences:1.0", "per-file:1", "per-file:2", "per-file:3"]


def doc_fusion(files: list[str], how: str, weight: float):
    def fused(dense, sparse, settings):
        ranking = fuse(dense, sparse, settings)
        by_file: dict[str, list[float]] = {}
        for row, score in ranking:
            by_file.setdefault(files[row], []).append(score)
        scored = []
        for row, score in ranking:
            others = sorted(by_file[files[row]], reverse=True)
            others.remove(score)
            scored.append((row, score + weight * (sum(others) if how == "sum" else max(others, default=0.0))))
        return sorted(scored, key=lambda item: (-item[1], item[0]))
    return fused


def rm3_top(bm25: BM25, terms_of: list[list[str]], alpha: float, feedback: int = 10, expansion: int = 10):
    plain = BM25.top.__get__(bm25)

    def top(query: str, depth: int) -> list[tuple[int, float]]:
        first = plain(query, feedback)
        if not first:
            return first
        asked = Counter(tokenize(query, bm25.scheme))
        scores = np.array([s for _, s in first])
        share = np.exp(scores - scores.max())
        share /= share.sum()
        relevance: Counter[str] = Counter()
        for (row, _), p in zip(first, share):
            words = terms_of[row]
            for term, count in Counter(words).items():
                if term not in STOP_WORDS and len(term) > 2 and not term.isdigit():
                    relevance[term] += p * count / max(len(words), 1)

        def idf(term: str) -> float:
            t = bm25.vocabulary.get(term)
            df = int(bm25.indptr[t + 1] - bm25.indptr[t]) if t is not None else 0
            return max(math.log((bm25.size - df + 0.5) / (df + 0.5)), 0.0)

        added = sorted(((t, v * idf(t)) for t, v in relevance.items() if t not in asked), key=lambda x: -x[1])[:expansion]
        total = sum(v for _, v in added) or 1.0
        weights = {t: (1 - alpha) * c for t, c in asked.items()}
        for term, value in added:
            weights[term] = weights.get(term, 0.0) + alpha * len(asked) * value / total
        summed = np.zeros(bm25.size, dtype=np.float32)
        for term, w in weights.items():
            t = bm25.vocabulary.get(term)
            if t is not None:
                span = slice(bm25.indptr[t], bm25.indptr[t + 1])
                summed[bm25.rows[span]] += w * bm25.weights[span]
        rows = np.flatnonzero(summed)
        order = rows[np.lexsort((rows, -summed[rows]))][:depth]
        return [(int(r), float(summed[r])) for r in order]
    return top


def sentence_top(index: Index, weight: float):
    stored = index.stored
    owners = np.fromiter((r[0] for r in stored._db.execute("SELECT passage FROM sentences ORDER BY row")), dtype=np.int64)
    counts = np.bincount(owners, minlength=stored.size)
    starts = np.cumsum(counts) - counts
    sentences = np.asarray(stored.sentence_vectors, dtype=np.float32)
    passages = np.asarray(stored.vectors, dtype=np.float32)

    def top(queries: np.ndarray, depth: int) -> list[list[tuple[int, float]]]:
        ranked = []
        for q in np.atleast_2d(queries):
            own = passages @ q
            best = np.where(counts > 0, np.maximum.reduceat(sentences @ q, np.minimum(starts, len(sentences) - 1)), own)
            score = (1 - weight) * own + weight * best
            keep = np.argsort(-score, kind="stable")[:depth]
            ranked.append([(int(r), float(score[r])) for r in keep])
        return ranked
    return top


def capped(index: Index, most: int):
    def answer_many(questions, k=10, mode="hybrid", max_per_file=None, judge=True):
        return Index.answer_many(index, questions, k, mode, most, judge)
    return answer_many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated NAME:WEIGHT (or none)")
    parser.add_argument("--heldout", action="store_true", help="also the held-out sets (confirm, never choose)")
    parser.add_argument("--pydoc-index", type=Path, default=INDEXES / "pydoc-200-2")
    parser.add_argument("--seeds-index", type=Path, default=INDEXES / "seeds-200-2")
    args = parser.parse_args()
    sets = {"pydoc": {"pydoc-tune": load_questions(QUESTIONS / "pydoc-tune.jsonl")}, "seeds": question_sets()}
    if args.heldout:
        sets["pydoc"]["pydoc-heldout"] = load_questions(QUESTIONS / "pydoc-heldout.jsonl")
        sets["seeds"]["seeds-heldout"] = load_questions(HELD_OUT)
    indexes = {"pydoc": Index.open(args.pydoc_index), "seeds": Index.open(args.seeds_index)}
    for index in indexes.values():
        if index.dense_error():
            raise SystemExit(f"dense search is unavailable: {index.dense_error()}; run tests/bench/granularity.py")
    files = {name: [p.file for p in ix.stored.passages(list(range(ix.size)))] for name, ix in indexes.items()}
    header = ["variant"] + [f"{name} {m}" for c in sets for name in sets[c] for m in MODES]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    plain_top = {name: ix._dense.top for name, ix in indexes.items()}
    for variant in args.variants.split(","):
        how, _, weight = variant.partition(":")
        cells = [variant]
        for corpus, index in indexes.items():
            qa.index.fuse = doc_fusion(files[corpus], how[5:], float(weight)) if how.startswith("docs-") else fuse
            bm25 = index.stored.bm25
            bm25.__dict__.pop("top", None)
            if how == "rm3":
                terms = [tokenize(p.text, bm25.scheme) for p in index.stored.passages(list(range(index.size)))]
                bm25.top = rm3_top(bm25, terms, float(weight))
            index._dense.top = sentence_top(index, float(weight)) if how == "sentences" else plain_top[corpus]
            index.__dict__.pop("answer_many", None)
            if how == "per-file":
                index.answer_many = capped(index, int(weight))
            for questions in sets[corpus].values():
                scores = evaluate(index, questions, MODES, judge=False)
                cells += [f"{scores[m].mrr():.3f}/{scores[m].recall(5):.2f}/{scores[m].recall(10):.2f}" for m in MODES]
        print("| " + " | ".join(cells) + " |", flush=True)
    qa.index.fuse = fuse


if __name__ == "__main__":
    main()
