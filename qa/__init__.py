"""qa: ask questions of a folder of documents; the answers are cited passages.

    from qa import Index
    index = Index.open("index")
    for hit in index.search("What did BGI Genomics set up in Uruguay?", k=3):
        print(hit.rank, hit.citation, hit.passage.text)
"""

import os

# onnxruntime (1.2x and later) writes a device id and a telemetry database under ~/.cache/Microsoft and a
# session file in $TMPDIR as soon as it is imported, unless this is set first. qa writes nothing outside
# its index, so it is off unless the environment says otherwise.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from qa.ingest.build import BuildReport  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.index import Index  # noqa: E402
from qa.ingest.split import Passage  # noqa: E402
from qa.search.hits import Hit  # noqa: E402
from qa.answer.verdict import Verdict  # noqa: E402

__all__ = ["BuildReport", "Hit", "Index", "Passage", "QAError", "Verdict"]
