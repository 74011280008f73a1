"""Answer marking: choose the answering sentence of each shown hit.

A step after search (see DESIGN.md): for each of the first `config.ANSWER_PASSAGES` hits, the sentence of
the hit as shown (the passage that ranked, preferred, and what was merged into it) that answers the
question best, in every mode:

- with the question's vector (hybrid and dense search): the sentence whose stored vector is closest to it,
  plus small shares for holding the question's term weight and the kind of answer it asks for (a number
  for "how many"), less a little for a line that does not end like a sentence (a title, a heading);
- without one (bm25 mode, the BM25 fallback, an index without sentence vectors): the sentence holding
  the most of the question's term weight: each BM25 term of the question (the Query's terms, so CJK
  character pairs too; stop words and question words left out) counted once, weighted by its IDF in the
  index, with the same preferences. A tie goes to the earlier sentence; a hit none of whose sentences
  holds a term gets no mark.

The mark takes in the next sentence too when that one goes on about the marked one (it opens with a pronoun,
or with "The X" for a word X of the marked sentence): "... the Initiative was released." "The initiative
called for ...".

Sentences are the ones stored at build time (bounded by the readers' paragraphs, so a line wrap does not
end one); an index without them is split here, lines joined the way the readers join wrapped lines.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from qa import config
from qa.answer.answer_type import QUESTION_WORDS, holds
from qa.ingest.split import Passage, nearest_heading, sentence_spans
from qa.query import Query
from qa.search.bm25 import STOP_WORDS, tokenize
from qa.search.hits import Hit
from qa.sources.text import continues

if TYPE_CHECKING:
    from qa.search.bm25 import BM25
    from qa.store.stored import StoredIndex

# Chosen with tests/bench/marking.py on tests/questions.jsonl and tests/verdict/seeds.jsonl, and (the two
# losses) tests/bench/questions/pydoc-validation.jsonl over tests/pydoc-slice; steps of 0.05-0.1. The
# numbers: tests/bench/marking.py's docstring.
#: With a vector: how much a sentence's share of the question's term weight adds to its similarity ...
TERM_SHARE = 0.1
#: ... how much holding the kind of answer the question asks for (a number for "how many", a date for
#: "when", ...) adds ...
TYPE_SHARE = 0.05
#: ... how much a line that does not end like a sentence (a title, a heading, a signature) loses ...
UNENDED_LOSS = 0.1
#: ... and how much a sentence merged into the hit from a neighbour of the passage that ranked loses.
MERGED_LOSS = 0.05
#: Without one: holding the kind of answer asked for adds this share to a sentence's term weight share; a
#: line that does not end like a sentence keeps this share of its score, a merged neighbour's sentence this.
TYPE_SHARE_TERMS = 0.3
UNENDED_KEEP_TERMS = 0.7
MERGED_KEEP_TERMS = 0.8
#: A sentence ends with . ! ? : ; or a CJK stop, maybe closed by quotes or brackets.
_ENDED = re.compile(r"[.!?。！？:;][\"'”’)\]」』]*$")
#: A term in nearly every passage still counts this much (Okapi IDF turns negative there).
IDF_FLOOR = 0.01

#: A sentence: its row in the stored sentence vectors (None when not stored), start and end in the file.
Sentence = tuple[int | None, int, int]


def mark_answers(hits: list[Hit], primaries: list[Passage], vector: np.ndarray | None, stored: StoredIndex,
                 query: Query | None = None) -> list[Hit]:
    """The hits with the answering sentence of each of the first `config.ANSWER_PASSAGES` marked
    (`answer_start`/`answer_end`, and `answer_heading` when that sentence is under another heading).
    Without `vector` the sentences are weighed by `query`'s terms; with neither, nothing is marked.
    Every sentence a hit shows is a candidate, those of the passage that ranked (`primaries`) preferred:
    the answer was in a merged neighbour in 6 of 75 hybrid hits of the seeds' questions."""
    top = hits[: config.ANSWER_PASSAGES]
    found = [passage_sentences(hit.passage, stored) for hit in top]
    similarity = _similarities(found, vector, stored)
    weights = term_weights(query, stored.bm25) if query is not None else {}
    if similarity is None and not weights:
        return hits
    marked = []
    for hit, primary, sentences in zip(top, primaries, found):
        passage = hit.passage
        texts = [passage.text[s - passage.start : e - passage.start] for _, s, e in sentences]
        ranked = [primary.start <= s and e <= primary.end for _, s, e in sentences]
        typed = [query is not None and query.asked is not None and holds(query.asked, text, query.own_words)
                 for text in texts]
        best = choose(sentences, texts, typed, ranked, similarity, weights, stored.bm25.scheme)
        if best is not None:
            _, start, end = best
            end = _continued_to(sentences, texts, sentences.index(best))
            hit = replace(hit, answer_start=start, answer_end=end, answer_heading=_heading_of(hit, start, stored))
        marked.append(hit)
    return marked + hits[len(marked):]


def choose(sentences: list[Sentence], texts: list[str], typed: list[bool], ranked: list[bool],
           similarity: dict[int, float] | None, weights: dict[str, float], scheme: str) -> Sentence | None:
    """The answering sentence of one hit (None when nothing points to any): `texts` are the sentences'
    texts, `typed` whether each holds the kind of answer the question asks for, `ranked` whether each is
    in the passage that ranked (not merged into the hit from a neighbour)."""
    if not sentences:
        return None
    total = sum(weights.values())
    held = [term_weight(text, weights, scheme) / total if total else 0.0 for text in texts]
    ended = [bool(_ENDED.search(text)) for text in texts]
    if similarity is not None and all(row is not None for row, _, _ in sentences):
        scores = [similarity[row] + TERM_SHARE * share + TYPE_SHARE * kind - (0.0 if end else UNENDED_LOSS)
                  - (0.0 if own else MERGED_LOSS)
                  for (row, _, _), share, kind, end, own in zip(sentences, held, typed, ended, ranked) if row is not None]
    elif any(held):
        scores = [(share + TYPE_SHARE_TERMS * kind) * (1.0 if end else UNENDED_KEEP_TERMS)
                  * (1.0 if own else MERGED_KEEP_TERMS) for share, kind, end, own in zip(held, typed, ended, ranked)]
    else:
        return None
    return sentences[max(range(len(sentences)), key=lambda i: (scores[i], -i))]


def _continued_to(sentences: list[Sentence], texts: list[str], chosen: int) -> int:
    """Where the mark of sentence `chosen` ends: with the next sentence too when that one goes on about the
    same thing ("The center was set up in 2023." "Its goal is ..."; "... the Chongqing Initiative was
    released." "The initiative called for ..."), in the same paragraph or the next (news paragraphs are a
    sentence or two): the answer was in the sentence after the marked one in 15 of the 35 misses on the
    seeds' questions."""
    end = sentences[chosen][2]
    if chosen + 1 < len(sentences) and continues_subject(texts[chosen], texts[chosen + 1]):
        return sentences[chosen + 1][2]
    return end


#: Words that open a sentence about what the sentence before it was about.
_REFERRING = frozenset("it its this these those they their he his she her such".split())
_DEFINITE = frozenset("the this these that".split())


def continues_subject(sentence: str, following: str) -> bool:
    """Whether `following` starts by referring back to `sentence`: a pronoun ("It", "Their", ...), or "The X"
    / "This X" where X (singular or plural, possessive or not) is a word of `sentence`."""
    words = _WORD.findall(following[:80])
    if not words:
        return False
    first = words[0].lower()
    if first in _REFERRING:
        return True
    return first in _DEFINITE and len(words) > 1 and _stem(words[1]) in {_stem(w) for w in _WORD.findall(sentence)}


_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _stem(word: str) -> str:
    word = word.lower().removesuffix("'s").removesuffix("’s")
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def term_weights(query: Query, bm25: BM25) -> dict[str, float]:
    """Each BM25 term of the question the index holds (stop words and words that only shape a question, such
    as "how many", left out), with its IDF (Okapi's, at least IDF_FLOOR)."""
    size = max(bm25.size, 1)
    weights = {}
    for term in query.terms_in(bm25.scheme):
        t = bm25.vocabulary.get(term)
        if t is None or term in weights or term in STOP_WORDS or term in QUESTION_WORDS:
            continue
        frequency = int(bm25.indptr[t + 1] - bm25.indptr[t])
        weights[term] = max(math.log((size - frequency + 0.5) / (frequency + 0.5)), IDF_FLOOR)
    return weights


def term_weight(text: str, weights: dict[str, float], scheme: str) -> float:
    """The weight of the question's terms `text` holds, each counted once (summed in a fixed order: a
    set's order changes from one process to the next, and with it the last bits of a sum)."""
    if not weights:
        return 0.0
    return sum(weights.get(term, 0.0) for term in sorted(set(tokenize(text, scheme))))


def passage_sentences(passage: Passage, stored: StoredIndex) -> list[Sentence]:
    """The sentences of a passage, as stored at build time, or split here when the index stored none."""
    found: list[Sentence] = list(stored.sentences_in(passage.file, passage.start, passage.end))
    if found:
        return found
    return [(None, passage.start + s, passage.start + e) for s, e in line_sentences(passage.text)]


def line_sentences(text: str) -> list[tuple[int, int]]:
    """Sentences of `text` as (start, end): a line break ends one unless the line continues on the next
    (see qa.sources.text.continues), as the readers join wrapped lines into one paragraph."""
    spans: list[tuple[int, int]] = []
    start = cursor = 0
    lines = text.split("\n")
    for number, line in enumerate(lines):
        end = cursor + len(line)
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if not following.strip() or not line.strip() or not continues(line, following):
            spans += sentence_spans(text, start, end)
            start = end + 1
        cursor = end + 1
    return spans


def _similarities(found: list[list[Sentence]], vector: np.ndarray | None, stored: StoredIndex) -> dict[int, float] | None:
    """Each stored sentence's similarity to the question (None without a vector or stored sentence vectors)."""
    if vector is None or stored.sentence_vectors is None:
        return None
    rows = sorted({row for sentences in found for row, _, _ in sentences if row is not None})
    if not rows:
        return {}
    values = np.asarray(stored.sentence_vectors[rows], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    return {row: float(value) for row, value in zip(rows, values)}


def _heading_of(hit: Hit, offset: int, stored: StoredIndex) -> str | None:
    """An HTML passage runs on across headings and is cited under the one it starts under: the heading the
    answer at `offset` is under, when it is another one."""
    if hit.passage.source_line is None:
        return None
    region = stored.region_at(hit.passage.file, offset)
    if region is None or not region.heading or region.heading == hit.passage.heading:
        return None
    return nearest_heading(region.heading)
