"""The verdict's question sets (qa/answer/fit_sets.py) and the two indexes they are asked of, for
tests/bench/verdict_report.py (the fit itself is `python -m qa.answer.fit`).

Two corpora: the seeds (`seeds/`) and a subset of the Python 3.11 docs (`pydoc_corpus.py`).
"""

from __future__ import annotations

from pathlib import Path

from qa import Index
from qa.answer.fit_sets import (HELD_OUT, OLDER_SEEDS_SETS, PYDOC_SETS, REPO, ROLES, SEEDS_SETS, Item,  # noqa: F401
                                answer_all, load, right)

HERE = Path(__file__).resolve().parent


def seeds_index(cache: Path = HERE / ".cache") -> Path:
    """An index of seeds/ under the cache (built the first time)."""
    path = cache / "seeds-index"
    Index.build([REPO / "seeds"], path)
    return path


def pydoc_index(cache: Path = HERE / ".cache") -> Path:
    from pydoc_corpus import pydoc_index as build

    return build(cache=cache)
