"""The question sets the verdict is fitted and judged on, as a qa checkout holds them in tests/verdict/.

Two corpora: the seeds (`seeds/`) and a subset of the Python 3.11 docs (tests/bench/pydoc_corpus.py).
Question files carry `kind` (answerable, near-topic, off-topic) and `split` (fit, held-out); each file's
role (ROLES) says which the fit may read. The older sets in tests/ and ../shared were used to tune qa
before, so they only ever serve the fit. Read by qa.answer.fit (the fit split) and
tests/bench/verdict_report.py (the validation and held-out sets).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from qa import config
from qa.evaluate import first_answer
from qa.index import Index
from qa.search.hits import Answer

#: The checkout qa runs from (qa is installed editable in development).
REPO = Path(__file__).resolve().parents[2]
#: Each question file's role. seeds.jsonl and pydoc.jsonl: fit (their lines marked "fit"; their first
#: held-out half was read for three reports and then joined the fit). seeds-2/pydoc-2 (written after the
#: answer_near_subject change) and seeds-3/pydoc-3 (103 questions by a helper who never ran qa): their lines
#: say "held-out", but they were read to choose the changes of issue 25, so they are VALIDATION sets now.
#: seeds-4/pydoc-4 (128 questions written from the documents alone, committed before the issue 25 changes):
#: read once at d2dd5a6, question by question, so validation since. seeds-5/pydoc-5 (143 questions, written
#: the same way and committed before the changes that followed): read once at 6f696a3 for the report of
#: issue 25's second round, so validation since. seeds-6/pydoc-6 (124 questions written on 2026-12-04,
#: committed 215f426 and a6fd768): read once at 74d7690, validation since. seeds-7/pydoc-7 (124 questions
#: written from the documents alone on 2026-12-05 by a helper who never ran qa, committed a19bde1): read once
#: at cba8661, validation since. seeds-8/pydoc-8 (124 more, written the same way, committed b605cc3): read
#: once at d180b55, validation since; with every validation set, the subject gate is fitted on them
#: (qa/answer/fit_gate.py). seeds-9 (committed 0bac68d) and pydoc-9 (over the whole Python docs, c81e1f2),
#: written the same way on 2026-12-05: read once at c54bd73, validation since. seeds-10/pydoc-10 (40ed858,
#: pydoc-10 over the whole docs): read once at 534b5d1, validation since. seeds-11/pydoc-11 (3b11358, pydoc-11
#: over the whole docs), written the same way after the verdict's last change: read once at 3b11358, validation
#: since. No held-out set is left unread: the next claim needs a new one (its role "held-out" here).
ROLES = {"seeds": "fit", "pydoc": "fit", "seeds-2": "validation", "pydoc-2": "validation",
         "seeds-3": "validation", "pydoc-3": "validation", "seeds-4": "validation", "pydoc-4": "validation",
         "seeds-5": "validation", "pydoc-5": "validation", "seeds-6": "validation", "pydoc-6": "validation",
         "seeds-7": "validation", "pydoc-7": "validation", "seeds-8": "validation", "pydoc-8": "validation",
         "seeds-9": "validation", "pydoc-9": "validation", "seeds-10": "validation", "pydoc-10": "validation",
         "seeds-11": "validation", "pydoc-11": "validation"}
#: Sets written over the whole Python docs (tests/bench/.cache/python-doc-txt), not over the subset the other
#: pydoc sets and the fit use: 31 of pydoc-6's 32 answers are in pages the subset does not have, so it is
#: read only against an index of the whole docs (`verdict_report.py --whole-docs-index DIR`), never the subset.
WHOLE_DOCS = frozenset({"pydoc-6", "pydoc-9", "pydoc-10", "pydoc-11"})
SEEDS_SETS = [REPO / "tests" / "verdict" / f"seeds{n}.jsonl"
              for n in ("", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-10", "-11")]
PYDOC_SETS = [REPO / "tests" / "verdict" / f"pydoc{n}.jsonl"
              for n in ("", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-10", "-11")]
#: Sets used for tuning before the verdict existed: fit only, never reported as held-out.
#: ../shared beside the repository (or beside the folder of worktrees, /work/wt/NAME -> /work/shared).
SHARED = next((p / "shared" for p in (REPO.parent, REPO.parents[1]) if (p / "shared").is_dir()), REPO.parent / "shared")
OLDER_SEEDS_SETS = [REPO / "tests" / "questions.jsonl", REPO / "tests" / "unanswerable.jsonl",
                    REPO / "tests" / "retrieval.jsonl", SHARED / "dev-questions.jsonl"]
#: A validation set of the seeds' retrieval (tests/test_heldout.py): never read by the verdict's fit.
HELD_OUT = REPO / "tests" / "seeds-validation.jsonl"
OFF_TOPIC_IN_OLDER = {  # the older sets' unanswerable questions on subjects the seeds never touch
    "u-01", "u-02", "u-03", "u-04", "u-05", "u-06", "u-07", "u-08", "u-09", "u-10", "u-11", "q-59", "q-60", "dev-14"}


@dataclass(frozen=True)
class Item:
    """One question of a set, with what the fit and the report need."""

    corpus: str
    id: str
    question: str
    kind: str            # answerable, near-topic, off-topic
    origin: str          # written, generated, older
    split: str           # fit, held-out
    gold: tuple[tuple[str, str], ...]
    set: str = "older"   # the question file's name (seeds-2, pydoc-3, ...)


def load(corpus: str, split: str, whole_docs: bool = False) -> list[Item]:
    """The questions of one corpus (seeds or pydoc) in one split: fit, validation or held-out (see ROLES);
    with `whole_docs`, only the sets written over the whole Python docs (WHOLE_DOCS), else none of them.

    Raises ValueError if a set the fit reads is the retrieval validation set (HELD_OUT)."""
    items = []
    if any(path.resolve() == HELD_OUT.resolve() for path in (*SEEDS_SETS, *PYDOC_SETS, *OLDER_SEEDS_SETS)):
        raise ValueError(f"{HELD_OUT} is a validation set; the verdict must never be fitted on it.")
    for path in SEEDS_SETS if corpus == "seeds" else PYDOC_SETS:
        if not path.is_file() or ROLES[path.stem] != split or (path.stem in WHOLE_DOCS) != whole_docs:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q["split"] == ("fit" if split == "fit" else "held-out"):
                items.append(Item(corpus, q["id"], q["question"], q["kind"], q.get("origin", "written"), q["split"],
                                  tuple((g["file"], g["contains"]) for g in q["gold"]), path.stem))
    if corpus == "seeds" and split == "fit" and not whole_docs:
        for path in OLDER_SEEDS_SETS:
            if not path.is_file():
                print(f"note: {path} is missing; fitting without it", file=sys.stderr)
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    q = json.loads(line)
                    kind = "answerable" if q["gold"] else "off-topic" if q["id"] in OFF_TOPIC_IN_OLDER else "near-topic"
                    items.append(Item(corpus, q["id"], q["question"], kind, "older", "fit",
                                      tuple((g["file"], g["contains"]) for g in q["gold"])))
    return items


def right(item: Item, answer: Answer) -> bool:
    """The question is answerable and a passage of the top ones shown (those marked) answers it."""
    return bool(item.gold) and first_answer(answer.hits[: config.ANSWER_PASSAGES], item.gold) is not None


def answer_all(index: Index, items: list[Item], mode: str, k: int = config.ANSWER_PASSAGES) -> list[Answer]:
    """Answers (with verdicts) for every item."""
    return index.answer_many([i.question for i in items], k, mode) if items else []
