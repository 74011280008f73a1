"""Collapsing a ranking into hits, on passages made by hand (qa/search/collapse.py): no index, no model.

Written for the mutation run (tests/README.md, "Mutation testing"): the index-level tests in
test_collapse.py never fold a copy that is split over two passages of another file, so `_fold` could drop the
second part unseen.
"""

from __future__ import annotations

import numpy as np

from qa.ingest.split import Passage
from qa.search.collapse import MAX_MERGE_GAP, collapse, touching

PARAGRAPH = ("The Andean condor glides over the cordillera for hours without flapping its wings, riding thermal "
             "currents that rise from the sunlit slopes, and it can travel two hundred kilometres in a day.")


class Source:
    """Passages and document texts held in memory (qa.search.collapse.PassageSource)."""

    vectors: np.ndarray | None = None

    def __init__(self, texts: dict[str, str], passages: list[Passage]) -> None:
        self.texts, self.rows = texts, passages

    def passages(self, rows: list[int]) -> list[Passage]:
        return [self.rows[r] for r in rows]

    def document_text(self, path: str) -> str:
        return self.texts[path]


def passage(texts: dict[str, str], file: str, start: int, end: int) -> Passage:
    text = texts[file]
    return Passage(file, start, end, text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1, text[start:end])


def test_a_copy_split_over_two_passages_is_cited_once_spanning_both():
    half = PARAGRAPH.index(" riding")
    texts = {"a.txt": PARAGRAPH + "\n", "b.txt": "Notes.\n\n" + PARAGRAPH + "\n"}
    offset = texts["b.txt"].index(PARAGRAPH)
    shown = passage(texts, "a.txt", 0, len(PARAGRAPH))
    first = passage(texts, "b.txt", offset, offset + half)
    second = passage(texts, "b.txt", offset + half + 1, offset + len(PARAGRAPH))   # a space between the two
    source = Source(texts, [shown, first, second])
    chosen = collapse([(0, 3.0), (1, 2.0), (2, 1.0)], 5, None, source)
    assert len(chosen) == 1 and chosen[0].passage == shown
    assert len(chosen[0].copies) == 1, chosen[0].copies
    copy = chosen[0].copies[0]
    assert (copy.file, copy.start, copy.end) == ("b.txt", first.start, second.end)
    assert copy.text == PARAGRAPH


def test_touching_needs_only_whitespace_within_the_gap():
    text = "alpha beta.   \n  gamma delta." + " " * 100 + "epsilon." + " x " + "zeta."
    texts = {"t.txt": text}
    a = passage(texts, "t.txt", 0, 11)
    b = passage(texts, "t.txt", text.index("gamma"), text.index("gamma") + 12)
    far = passage(texts, "t.txt", text.index("epsilon"), text.index("epsilon") + 8)
    past_x = passage(texts, "t.txt", text.index("zeta"), len(text))
    source = Source(texts, [])
    assert touching(a, b, source) and touching(b, a, source)
    assert not touching(b, far, source), f"more than {MAX_MERGE_GAP} characters apart"
    assert not touching(far, past_x, source), "a word between them"
    # Far into a file (offsets well past MAX_MERGE_GAP), one space apart, and with nothing between them.
    deep = numbered_words(100)
    texts["d.txt"] = deep
    left = passage(texts, "d.txt", deep.index("w60 "), deep.index(" w61 "))
    right = passage(texts, "d.txt", deep.index("w61 "), deep.index(" w62 "))
    flush = passage(texts, "d.txt", deep.index(" w61 "), deep.index(" w62 "))
    assert touching(left, right, source) and touching(right, left, source)
    assert left.end == flush.start and touching(left, flush, source) and touching(flush, left, source)
    other = Passage("u.txt", a.start, a.end, 1, 1, a.text)
    assert not touching(a, other, Source({**texts, "u.txt": text}, []))


def numbered_words(count: int) -> str:
    """Text of distinct words: no passage of it is a copy of another."""
    return " ".join(f"w{i}" for i in range(count))


def test_a_passage_touching_a_full_hit_is_a_hit_of_its_own_and_one_overlapping_it_is_left_out():
    from qa.search.collapse import MAX_HIT_CHARS

    text = numbered_words(1500)
    texts = {"long.txt": text}
    big_start = text.index(" w20 ") + 1
    big_end = text.rindex(" ", 0, big_start + MAX_HIT_CHARS - 10)
    big = passage(texts, "long.txt", big_start, big_end)            # nearly MAX_HIT_CHARS long
    before = passage(texts, "long.txt", 0, big_start)                # ends where it starts: touching
    overlapping = passage(texts, "long.txt", text.index("w10 "), text.index(" w30 "))
    assert big.end - big.start <= MAX_HIT_CHARS < big.end - before.start
    source = Source(texts, [big, before, overlapping])
    touching_hits = collapse([(0, 2.0), (1, 1.0)], 5, None, source)
    assert [(c.passage.start, c.passage.end) for c in touching_hits] == [(big.start, big.end), (before.start, before.end)]
    overlapping_hits = collapse([(0, 2.0), (2, 1.0)], 5, None, source)
    assert [(c.passage.start, c.passage.end) for c in overlapping_hits] == [(big.start, big.end)]
    # Right after the hit, with no space between, the same.
    after = passage(texts, "long.txt", big_end, big_end + 40)
    source = Source(texts, [big, after])
    assert [c.passage.start for c in collapse([(0, 2.0), (1, 1.0)], 5, None, source)] == [big.start, big_end]


def test_a_short_passage_next_to_a_hit_is_merged_into_it():
    text = numbered_words(200)
    texts = {"t.txt": text}
    first = passage(texts, "t.txt", 0, text.index(" w50 "))
    second = passage(texts, "t.txt", text.index("w50 "), text.index(" w90 "))
    chosen = collapse([(0, 2.0), (1, 1.0)], 5, None, Source(texts, [first, second]))
    assert len(chosen) == 1
    assert (chosen[0].passage.start, chosen[0].passage.end) == (first.start, second.end)
    assert chosen[0].primary == first and chosen[0].score == 2.0
