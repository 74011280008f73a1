"""qa: ask questions of a folder of documents; the answers are cited passages.

    from qa import Index
    index = Index.open("index")
    for hit in index.search("What did BGI Genomics set up in Uruguay?", k=3):
        print(hit.rank, hit.citation, hit.passage.text)

The names below load on first use, so `import qa` (and `qa --help`) costs no numpy or engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.answer.verdict import Verdict
    from qa.errors import QAError
    from qa.index import Index
    from qa.ingest.build import BuildReport
    from qa.ingest.split import Passage
    from qa.search.hits import Hit

#: Public name -> the module that defines it.
_EXPORTS = {"BuildReport": "qa.ingest.build", "Hit": "qa.search.hits", "Index": "qa.index",
            "Passage": "qa.ingest.split", "QAError": "qa.errors", "Verdict": "qa.answer.verdict"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
