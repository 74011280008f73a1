"""Start-up stays light: `qa --help` and BM25 answers never import torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PROBE = """
import sys
from qa.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def heavy_modules(*args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO)
    line = [l for l in result.stderr.splitlines() if l.startswith("HEAVY:")][-1]
    return result.returncode, line.removeprefix("HEAVY:")


def test_help_does_not_import_torch():
    assert heavy_modules("--help") == (0, "")


def test_bm25_ask_does_not_import_torch(seeds_index: Path):
    assert heavy_modules("ask", "Who is Yu Xiaohui?", "--mode", "bm25", "--index", str(seeds_index)) == (0, "")


def test_the_probe_would_notice_torch(seeds_index: Path):
    code, heavy = heavy_modules("ask", "Who is Yu Xiaohui?", "--mode", "dense", "--index", str(seeds_index))
    assert code == 0 and "torch" in heavy.split(",")
