"""How many lines of real documents the text junk rules drop: documents nobody tuned the rules on.

Corpus: the Markdown/text/README files under /usr/share/doc (Debian package documentation) and the
Python 3.11 documentation sources (_sources/*.txt, reStructuredText) when their folder is given. On such
documents there is no web chrome, so every dropped line with a letter or digit in it is a wrong drop
(separator lines such as `-----` carry nothing); the script prints that share and a sample of such
lines to judge by eye (licence and copyright notices are the rightful drops).

    python tests/bench/junk_rate.py [SOURCES]       # the rules of this checkout; SOURCES: an unpacked
                                                    # python3.11-doc's usr/share/doc/python3.11/html/_sources
    PYTHONPATH=/path/to/other/checkout python tests/bench/junk_rate.py   # another checkout's rules
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

from qa.sources import is_junk

_NOTICE = re.compile(r"copyright|©|all rights reserved", re.IGNORECASE)
DEBIAN = Path("/usr/share/doc")
LIMIT = 2_000_000


def corpus(pydoc: Path | None) -> list[Path]:
    files = [p for p in DEBIAN.rglob("*") if p.is_file() and not p.is_symlink()
             and (p.suffix in (".md", ".txt") or p.name.startswith("README")) and not p.name.endswith(".gz")]
    if pydoc is not None:
        files += sorted(pydoc.rglob("*.txt"))
    return sorted(set(files))


def main() -> None:
    total = dropped = content = notices = 0
    samples: list[tuple[str, str]] = []
    files = 0
    for path in corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        data = path.read_bytes()
        if len(data) > LIMIT or b"\x00" in data[:8192]:
            continue
        text = data.decode("utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        files += 1
        total += len(lines)
        bad = [line for line in lines if is_junk(line)]
        dropped += len(bad)
        wrong = [line for line in bad if any(c.isalnum() for c in line)]   # separators carry nothing
        content += len(wrong)
        notices += sum(bool(_NOTICE.search(line)) for line in wrong)
        samples += [(str(path), line.strip()) for line in wrong]
    print(f"{files} files, {total} non-blank lines, {dropped} dropped as junk ({100 * dropped / max(total, 1):.2f}%), "
          f"of which {content} have a letter or digit ({100 * content / max(total, 1):.2f}% of all lines); "
          f"{notices} of those are copyright/licence notices (rightly dropped), leaving {content - notices} "
          f"wrongly dropped ({100 * (content - notices) / max(total, 1):.3f}%). A sample:")
    random.Random(0).shuffle(samples)
    for path, line in samples[:40]:
        print(f"  {line[:90]!r}  ({path.split('/')[-1]})")


if __name__ == "__main__":
    sys.exit(main())
