"""qa: ask questions of a folder of documents; the answers are cited passages.

    from qa import Index
    index = Index.open("index")
    for hit in index.search("What did BGI Genomics set up in Uruguay?", k=3):
        print(hit.rank, hit.citation, hit.passage.text)
"""

from qa.build import BuildReport
from qa.errors import QAError
from qa.index import Index
from qa.passages import Passage
from qa.search import Hit
from qa.verdict import Verdict

__all__ = ["BuildReport", "Hit", "Index", "Passage", "QAError", "Verdict"]
