"""The records a search returns: a Hit (a passage, where it ranked, and why) and an Answer (the hits for one
question, and whether they answer it)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from qa.ingest.split import Passage

if TYPE_CHECKING:
    from qa.answer.verdict import Verdict


@dataclass(frozen=True)
class Hit:
    """One answer: a passage, where it ranked, and why."""

    rank: int
    score: float
    mode: str                 # the search that produced the ranking: dense, bm25 or hybrid
    passage: Passage
    path: str                 # the source file as a user can open it
    dense_rank: int | None = None
    dense_score: float | None = None
    bm25_rank: int | None = None
    bm25_score: float | None = None
    answer_start: int | None = None   # the sentence that best answers, as source-file offsets
    answer_end: int | None = None
    #: HTML: the heading the answering sentence is under, when its passage starts under another one
    answer_heading: str | None = None
    also_in: tuple[str, ...] = ()     # citations of copies of this passage in other places
    row: int | None = None            # the index row of the passage that ranked (before merging)
    #: Hybrid search: what each of the ranker's features added to the score (qa/search/rank.py), largest first
    ranked_by: tuple[tuple[str, float], ...] = ()

    @property
    def citation(self) -> str:
        """The openable path and the passage's locator (`path:12-18`, `page.html:212 § Heading`, `a.pdf p. iv`,
        `a.pdf p. 1-2` for a hit over two pages...); `qa show CITATION` prints it with its context."""
        return str(self.passage.cite(self.path))

    @property
    def answer_citation(self) -> str:
        """The citation with the section of the answering sentence when that is another one
        (`page.html:212 § Copying files, answer under § Fees`), as the terminal prints it; `qa show` opens it."""
        return str(self.passage.cite(self.path, self.answer_heading))


@dataclass(frozen=True)
class Answer:
    """The hits for one question, and whether they answer it."""

    question: str
    mode: str
    hits: list[Hit]
    #: Whether the documents answer the question, by the verdict (None: not judged).
    answered: bool | None = None
    #: Cosine similarity of the question to the best sentence of the top passages (None without a model).
    confidence: float | None = None
    #: The verdict: calibrated answer_confidence and the reasons (None: not judged).
    verdict: Verdict | None = None

    @property
    def answer_confidence(self) -> float | None:
        """The estimated chance that the top passages answer the question (None: not judged)."""
        return None if self.verdict is None else self.verdict.answer_confidence


def merged(first: Passage, second: Passage, source: str) -> Passage:
    """One passage spanning two overlapping or adjacent passages of the same file.

    It is cited from where the earlier one starts to where the later one ends: a merged passage that runs
    over two PDF pages is cited `p. 1-2`, over two DOCX sections `§ A ¶ 5 to § B ¶ 1`, over HTML blocks on
    later source lines `:40-52 § Heading`, over numbered HTML blocks `¶ 3-5` (never by a page or section the
    answer may not be on).
    """
    start, end = min(first.start, second.start), max(first.end, second.end)
    earlier = first if first.start <= second.start else second     # its locator (page, heading...) starts the citation
    later = second if earlier is first else first
    if later.end < earlier.end or later.start == earlier.start and later.end == earlier.end:
        later = earlier                                             # one holds the other: it ends there too
    page, label = _last(later, "page"), (later.last_page_label if later.last_page is not None else later.page_label)
    line = _last(later, "source_line")
    section, paragraph = ((later.last_heading, later.last_paragraph) if later.last_paragraph is not None
                          else (later.heading, later.paragraph))
    if earlier.source_line is not None and line is not None and (earlier.paragraph is None) != (paragraph is None):
        # An HTML page cites most blocks by source line and some by number (qa/sources/html.py): a hit
        # from one kind into the other is cited by its source lines, first to last (`:40-40 § H` when both
        # are on one line): a block number alone would leave the later part out.
        return replace(earlier, start=start, end=end, line_start=min(first.line_start, second.line_start),
                       line_end=max(first.line_end, second.line_end), text=source[start:end], paragraph=None,
                       last_source_line=line, last_heading=None, last_paragraph=None)
    return replace(
        earlier, start=start, end=end, line_start=min(first.line_start, second.line_start),
        line_end=max(first.line_end, second.line_end), text=source[start:end],
        last_page=page if page is not None and page != earlier.page else None,
        last_page_label=label if page is not None and page != earlier.page else None,
        last_source_line=line if line is not None and line != earlier.source_line else None,
        last_heading=section if paragraph is not None and (section, paragraph) != (earlier.heading, earlier.paragraph)
        else None,
        last_paragraph=paragraph if paragraph is not None and (section, paragraph) != (earlier.heading, earlier.paragraph)
        else None,
    )


def _last(passage: Passage, field: str) -> int | None:
    """The page or source line `passage` ends in (its `last_` field when it runs on past its first)."""
    last: int | None = getattr(passage, f"last_{field}")
    return last if last is not None else getattr(passage, field)
