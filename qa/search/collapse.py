"""From a ranking to hits: merge overlapping or adjacent passages of one file, fold copies of a passage.

    hits, primaries = select_hits(ranking, k, mode, dense, sparse, max_per_file, stored, cite)

Walking the first CANDIDATE_DEPTH rows of the ranking best first, a passage that is a copy of a chosen one
(mostly the same 5-word shingles, or nearly the same vector) is folded into it and cited under "also in"
(once per place); one that overlaps or touches a chosen one (same file, only whitespace between) is merged
into it while the merged hit stays within MAX_HIT_CHARS (else it is left out when it overlaps a hit, and is a
hit of its own when it only touches one); a file already holding `max_per_file` hits gives no more; anything
else becomes the next hit. Only then are the hits cut to k: the same candidates are merged and folded
whatever k is, so hit i (and its citation) is the same for every k >= i.
"""

from __future__ import annotations

from functools import lru_cache
from dataclasses import dataclass, replace
from typing import Callable, Protocol

import numpy as np

from qa.config import SearchSettings
from qa.search.bm25 import passage_terms
from qa.ingest.split import Passage
from qa.search.hits import Hit, merged

#: Two passages this similar are copies of one another (one is shown, the other cited): their vectors'
#: cosine, or the share of the shorter one's 5-word shingles found in the other.
DUPLICATE_SIMILARITY = 0.98
COPY_CONTAINMENT = 0.6
#: Passages of one file further apart than this many characters are never merged.
MAX_MERGE_GAP = 64
#: Hits are made from this many rows of the ranking, whatever k is (the depth each side is searched to).
CANDIDATE_DEPTH = SearchSettings.depth
#: A hit grown by merging is never longer than this many characters (one passage alone may be longer):
#: merged hits never cover a whole long page. A hit always holds its primary passage whole (so the answering
#: sentence). Chosen by measurement (tests/bench/RESULTS.md, "Hit size bound"): a lower bound leaves out the
#: answer lying between two hits of one short page (tests/test_retrieval.py r-11).
MAX_HIT_CHARS = 4000

Shingles = frozenset[int]   # the hashes of 5-word shingles


class PassageSource(Protocol):
    """What collapsing reads from an index: passages by row, document texts, vectors."""

    vectors: np.ndarray | None

    def passages(self, rows: list[int]) -> list[Passage]: ...

    def document_text(self, path: str) -> str: ...


@dataclass(frozen=True)
class Chosen:
    """A hit being assembled: the passage that ranked, what was merged into it, and its folded copies."""

    row: int                       # the row that ranked (its vector stands for the hit)
    score: float
    primary: Passage               # the passage that ranked, before anything was merged into it
    passage: Passage               # the span shown: the primary and what was merged into it
    shingles: Shingles
    copies: tuple[Passage, ...] = ()   # passages elsewhere with the same text, in the order found
    #: the shingles of copies shorter than the hit's own passage: a passage repeating such a copy's text is a
    #: copy too, even when the hit's own passage holds much else besides it (one line holding the same
    #: paragraph in three places)
    copy_shingles: tuple[Shingles, ...] = ()


def select_hits(
    ranking: list[tuple[int, float]],
    k: int,
    mode: str,
    dense: list[tuple[int, float]],
    sparse: list[tuple[int, float]],
    max_per_file: int | None,
    source: PassageSource,
    display_path: Callable[[str], str],
) -> tuple[list[Hit], list[Passage]]:
    """The best k hits of `ranking` (merged and folded), and each hit's primary passage.

    `display_path` turns a passage's file into the path shown to the user (in hits and "also in").
    """
    chosen = collapse(ranking, k, max_per_file, source)
    dense_at = {row: (rank, score) for rank, (row, score) in enumerate(dense, start=1)}
    sparse_at = {row: (rank, score) for rank, (row, score) in enumerate(sparse, start=1)}
    hits = []
    for rank, c in enumerate(chosen, start=1):
        d_rank, d_score = dense_at.get(c.row, (None, None))
        s_rank, s_score = sparse_at.get(c.row, (None, None))
        own = str(c.passage.cite(display_path(c.passage.file)))
        also_in = tuple(dict.fromkeys(cited for copy in c.copies      # never the hit's own citation again
                                      if (cited := str(copy.cite(display_path(copy.file)))) != own))
        hits.append(Hit(rank, c.score, mode, c.passage, display_path(c.passage.file), d_rank, d_score, s_rank, s_score,
                        also_in=also_in, row=c.row))
    return hits, [c.primary for c in chosen]


def collapse(ranking: list[tuple[int, float]], k: int, max_per_file: int | None, source: PassageSource) -> list[Chosen]:
    """Up to k hits from `ranking`, best first, no two of them overlapping or copies (two touch only when
    merging them would pass MAX_HIT_CHARS).

    The hits are made from the first CANDIDATE_DEPTH rows whatever k is, then cut to k: asking for more
    hits never changes the first ones.
    """
    candidates = ranking[:CANDIDATE_DEPTH]
    rows = [r for r, _ in candidates]
    copies_by_vector = _vector_copies(source, rows)
    chosen: list[Chosen] = []
    for (row, score), passage in zip(candidates, source.passages(rows)):
        near = next((i for i, c in enumerate(chosen) if touching(c.passage, passage, source)), None)
        shingles = shingles_of(passage.text)
        # A copy of another hit is cited there, even when it touches this one: its text is shown once.
        copy = next((i for i, c in enumerate(chosen)
                     if i != near and _same_text(c, row, shingles, copies_by_vector)), None)
        if copy is not None:
            chosen[copy] = _fold(chosen[copy], passage, source)
            continue
        if near is not None:
            grown = _merge_into(chosen, near, passage, source)
            if grown is not None:
                chosen = grown
                continue
            if any(_overlap(c.passage, passage) for c in chosen):
                continue        # too big to merge, and mostly shown already
        if not max_per_file or sum(c.passage.file == passage.file for c in chosen) < max_per_file:
            chosen.append(Chosen(row, score, passage, passage, shingles))
    return chosen[:k]


def touching(a: Passage, b: Passage, source: PassageSource) -> bool:
    """Same file, and the spans overlap or only whitespace (at most MAX_MERGE_GAP characters) lies between."""
    if a.file != b.file:
        return False
    if a.start < b.end and b.start < a.end:
        return True
    first, second = (a, b) if a.end <= b.start else (b, a)
    gap = second.start - first.end
    return gap == 0 or (gap <= MAX_MERGE_GAP and source.document_text(a.file)[first.end : second.start].isspace())


@lru_cache(maxsize=4096)   # a passage's shingles depend on its text only: a warm server re-tokenised 50 a question
def shingles_of(text: str) -> Shingles:
    """The 5-word shingles of a text (its BM25 terms, five at a time), each kept as its hash: sets of numbers
    intersect several times faster than sets of word tuples, whose hashes Python does not keep."""
    words = passage_terms(text)
    return frozenset(hash(words[i : i + 5]) for i in range(len(words) - 4))


def _merge_into(chosen: list[Chosen], target: int, passage: Passage, source: PassageSource) -> list[Chosen] | None:
    """`chosen` with `passage` merged into hit `target`, and every other hit the grown span comes to touch;
    None when the merged hit would be longer than MAX_HIT_CHARS."""
    text = source.document_text(passage.file)
    grown = replace(chosen[target], passage=merged(chosen[target].passage, passage, text))
    others = [(i, c) for i, c in enumerate(chosen) if i != target]
    absorbed = True
    while absorbed:
        absorbed = False
        for entry in others:
            if touching(entry[1].passage, grown.passage, source):
                grown = replace(grown, passage=merged(grown.passage, entry[1].passage, text))
                for copy in entry[1].copies:
                    grown = _fold(grown, copy, source)
                others.remove(entry)
                absorbed = True
                break
    if grown.passage.end - grown.passage.start > MAX_HIT_CHARS:
        return None
    result = [c for _, c in others]
    result.insert(sum(1 for i, _ in others if i < target), grown)
    return result


def _overlap(a: Passage, b: Passage) -> bool:
    return a.file == b.file and a.start < b.end and b.start < a.end


def _fold(target: Chosen, copy: Passage, source: PassageSource) -> Chosen:
    """`target` citing `copy` as another place with its text; a copy touching one already cited extends it."""
    copies = list(target.copies)
    theirs = shingles_of(copy.text)
    if len(theirs) < len(target.shingles):   # a smaller copy is the repeated text itself, without the rest
        target = replace(target, copy_shingles=(*target.copy_shingles, theirs))
    for i, known in enumerate(copies):
        if touching(known, copy, source):
            copies[i] = merged(known, copy, source.document_text(copy.file))
            return replace(target, copies=tuple(copies))
    return replace(target, copies=(*copies, copy))


def _vector_copies(source: PassageSource, rows: list[int]) -> set[tuple[int, int]]:
    """The pairs of candidate rows whose vectors are nearly the same (cosine >= DUPLICATE_SIMILARITY): the
    candidates' vectors read once, in row order, and compared all at once."""
    if source.vectors is None or not rows:
        return set()
    ordered = np.asarray(sorted(set(rows)), dtype=np.int64)
    block = np.asarray(source.vectors[ordered], dtype=np.float32)
    first, second = np.nonzero(block @ block.T >= DUPLICATE_SIMILARITY)
    return {(int(ordered[a]), int(ordered[b])) for a, b in zip(first, second) if a != b}


def _same_text(chosen: Chosen, row: int, theirs: Shingles, copies_by_vector: set[tuple[int, int]]) -> bool:
    """A copy: mostly the same words in the same order (5-word shingles), or nearly the same vector."""
    for mine in (chosen.shingles, *chosen.copy_shingles):
        if mine and theirs and len(mine & theirs) >= COPY_CONTAINMENT * min(len(mine), len(theirs)):
            return True
    return (chosen.row, row) in copies_by_vector
