"""How the splitter cuts a sentence longer than a passage (qa/ingest/split.py): as late as the limit allows, at a
word start, never leaving a piece of less than half the limit; and the cut pieces pack with what follows.

Written for the mutation run (tests/README.md, "Mutation testing"): the existing test cut a sentence of one
repeated one-piece word, where every place is a word start, so where the cut falls was never checked.
"""

from __future__ import annotations

import random
from pathlib import Path

from qa.ingest.split import WordPieceCounter, split_document
from qa.model.embedder import model_folder
from qa.sources import Document, find_paragraphs

COUNTER = WordPieceCounter(model_folder("all-MiniLM-L6-v2") / "tokenizer.json")
#: Words of 1 to 8 word pieces (less than half of every limit below: a word start is always in reach).
WORDS = ["cooperation", "laboratory", "Uruguay", "the", "xqzvxqzv", "qzxjvk", "avocado", "Chongqing", "renewable"]


def document(text: str) -> Document:
    paragraphs, junk = find_paragraphs(text)
    return Document(Path("doc.txt"), "doc.txt", text, "0" * 64, len(text), paragraphs, junk)


def pieces(text: str) -> int:
    return COUNTER.count([text])[0]


def test_a_long_sentence_is_cut_at_the_last_word_start_within_the_limit():
    """Each piece but the last is as long as it can be: the next word would not have fitted."""
    rng = random.Random(7)
    for max_tokens in (20, 33, 50):
        sentence = " ".join(rng.choice(WORDS) for _ in range(300)) + "."
        text = "An opening line.\n\n" + sentence + "\n"     # the sentence does not start the file
        passages = split_document(document(text), COUNTER, max_tokens, overlap=0)
        cut = [p for p in passages if p.start >= text.index(sentence)]
        assert len(cut) > 3
        for passage, following in zip(cut, cut[1:]):
            assert pieces(passage.text) <= max_tokens
            assert text[passage.end] == " " and following.start == passage.end + 1, "cut between words"
            next_word = text[following.start:].split(" ", 1)[0]
            assert pieces(passage.text + " " + next_word) > max_tokens, (max_tokens, passage.text[-40:], next_word)


def test_a_word_longer_than_half_the_limit_is_cut_inside_rather_than_leave_a_short_piece():
    giant = "xqzv" * 10                                  # 40 word pieces, no word start inside
    text = "one two three four five six seven eight " + giant + " end.\n"
    passages = split_document(document(text), COUNTER, 20, overlap=0)
    assert pieces(passages[0].text) == 20, [p.text for p in passages]
    assert passages[0].text.startswith("one two") and not passages[0].text.endswith("eight")
    covered = "".join(text[p.start:p.end] for p in passages).replace(" ", "")
    assert covered == text.strip().replace(" ", "")


def test_the_last_piece_of_a_cut_sentence_packs_with_the_next_sentence():
    long = " ".join(["cooperation"] * 150) + "."        # 151 pieces: cut into 100 and 51
    text = long + " A short one follows here.\n"
    passages = split_document(document(text), COUNTER, 100, overlap=0)
    assert len(passages) == 2, [pieces(p.text) for p in passages]
    assert passages[1].text.endswith("A short one follows here.")
    assert passages[1].text.startswith("cooperation")
