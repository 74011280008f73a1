"""Write tests/pydoc-slice/: the part of the Python docs corpus the held-out questions need, for the test suite.

    python tests/bench/pydoc_slice.py      # reads tests/bench/.cache/python-doc-txt (tests/bench/corpora.py)

The whole corpus (10,000 passages) is too slow to index in `make test` and is not in the repository.
The slice keeps, of each file a question in tests/bench/questions/pydoc-validation.jsonl points to, its
first line (the title), the section holding each answer with the section before it and two after it
(near misses: a section runs from one heading, as `plain_headings` below finds them, to the next; at most
SECTION_CHARS are kept of one), and adds a few
whole files no question points to as distractors. Text from the Python documentation, PSF License.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


CORPUS = REPO / "tests" / "bench" / ".cache" / "python-doc-txt"
QUESTIONS = REPO / "tests" / "bench" / "questions" / "pydoc-validation.jsonl"
SLICE = REPO / "tests" / "pydoc-slice"
#: The longest section kept (cut at the last blank line before), and the distractor files: whole pages
#: no held-out question points to.
SECTION_CHARS = 3000
DISTRACTORS = ("library/glob.txt", "library/fnmatch.txt", "library/shlex.txt", "library/statistics.txt",
               "library/textwrap.txt", "library/uuid.txt", "tutorial/classes.txt")
NOTICE = "Excerpts of the Python 3.11 documentation (https://docs.python.org/3.11/), PSF License Version 2.\n"


#: A line alone between blank lines is a plain-text heading when it is this short and reads like one (the rule
#: the builds used until 2026-12-04, when heading context was removed; kept here so the slice is made as it was).
HEADING_CHARS = 80
_NOT_HEADING = re.compile(r"[.,;:!?]$|\s\|\s|^(?:new|changed|deprecated) in version|\s=\s|^>>>|^source code:"
                          r"|^(?:note|notes|see also|warning|tip|hint|important|caution|example|examples)$", re.IGNORECASE)


def plain_headings(text: str) -> list[tuple[int, str]]:
    """Headings of plain text and where each starts: short lines alone between blank lines that start with
    a letter or a section number and do not end like a sentence ("Built-in Functions", "zip(*iterables)")."""
    lines = text.splitlines(keepends=True)
    found, offset = [], 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        alone = (number == 0 or not lines[number - 1].strip()) and (number + 1 < len(lines) and not lines[number + 1].strip())
        if (alone and not line[0].isspace() and 0 < len(stripped) <= HEADING_CHARS
                and re.match(r"(?:\d+(?:\.\d+)*\.?\s+)?[^\W\d_]", stripped) and not _NOT_HEADING.search(stripped)):
            found.append((offset, stripped))
        offset += len(line)
    return found


def find(text: str, phrase: str) -> int:
    """Where `phrase` starts in `text`, any whitespace run matching any other."""
    match = re.search(r"\s+".join(map(re.escape, phrase.split())), text)
    if match is None:
        raise SystemExit(f"{phrase!r} is not in the corpus; rebuild it with tests/bench/corpora.py")
    return match.start()


def sections(text: str, offsets: list[int]) -> list[tuple[int, int]]:
    """Spans of `text` to keep: for each offset, its section and its neighbours (merged where they meet)."""
    starts = [start for start, _ in plain_headings(text)] + [len(text)]
    spans: list[tuple[int, int]] = []
    for offset in sorted(offsets):
        at = max([i for i, s in enumerate(starts) if s <= offset], default=0)
        around = [starts[i] for i in range(max(at - 1, 0), min(at + 3, len(starts) - 1)) if starts[i] <= offset or i > at]
        for first in sorted(set(around + ([0] if starts[at] > offset else []))):
            end = next((s for s in starts if s > first), len(text))
            if end - first > SECTION_CHARS:
                cut = text.rfind("\n\n", first, first + SECTION_CHARS)
                end = max(cut, offset + 400) if first <= offset else cut if cut > first else first + SECTION_CHARS
            if spans and first <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            elif end > first:
                spans.append((first, end))
    return spans


def main() -> None:
    gold: dict[str, list[str]] = {}
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        for item in json.loads(line)["gold"]:
            gold.setdefault(item["file"], []).append(item["contains"])
    if SLICE.exists():
        shutil.rmtree(SLICE)
    for name, phrases in sorted(gold.items()):
        text = (CORPUS / name).read_text(encoding="utf-8")
        title = text.split("\n", 1)[0]
        parts = [text[s:e].strip() for s, e in sections(text, [find(text, p) for p in phrases])]
        kept = "\n\n".join(parts if parts[0].startswith(title) else [title] + parts) + "\n"
        for phrase in phrases:
            find(kept, phrase)
        (SLICE / name).parent.mkdir(parents=True, exist_ok=True)
        (SLICE / name).write_text(kept, encoding="utf-8")
    for name in DISTRACTORS:
        (SLICE / name).write_text((CORPUS / name).read_text(encoding="utf-8"), encoding="utf-8")
    (SLICE / ".NOTICE").write_text(NOTICE, encoding="utf-8")
    size = sum(f.stat().st_size for f in SLICE.rglob("*.txt"))
    print(f"{SLICE}: {len(gold) + len(DISTRACTORS)} files, {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
