#!/usr/bin/env python3
"""`qa` behind the peer harness's contract (../shared/peers/README.md), so it runs beside the peers.

    qa_cmd.py build CORPUS_DIR   qa index --index $BENCH_INDEX_DIR CORPUS_DIR (the default model)
    qa_cmd.py query              one question a line on stdin -> one JSON line each, flushed

    python3 ../shared/peers/peers.py --corpus seeds --eval ../shared/dev-questions.jsonl \\
        --systems naive,langchain,txtai,llamaindex --cmd 'qa=.venv/bin/python tests/bench/qa_cmd.py'

Results are qa's hits with the defaults (hybrid, merged and folded as a user sees them); `file` is
relative to the corpus folder, as the harness expects.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path



def build(corpus: str) -> int:
    from qa.ui.cli import main

    return main(["index", "--index", os.environ["BENCH_INDEX_DIR"], corpus])


def query() -> int:
    from qa import Index

    index = Index.open(os.environ["BENCH_INDEX_DIR"])
    k = int(os.environ.get("BENCH_TOPK", "10"))
    for line in sys.stdin:
        question = line.strip()
        if not question:
            continue
        hits = index.search(question, k=k)
        results = [{"file": hit.passage.file, "text": hit.passage.text, "score": hit.score} for hit in hits]
        print(json.dumps({"question": question, "results": results}), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"] and len(sys.argv) == 3:
        sys.exit(build(sys.argv[2]))
    if sys.argv[1:] == ["query"]:
        sys.exit(query())
    sys.exit("usage: qa_cmd.py build CORPUS_DIR | qa_cmd.py query")
