"""A folder of good documents mixed with malformed and hostile ones (tests/hostile_files.py, written fresh)
indexes through the real command line: exit 0, no traceback, every bad file skipped with a reason or
indexed, the good files answering, and the build's process tree within 1.5 GB of memory.

The build runs once for the module; its wall time and memory peaks are printed (run with -s to see them),
never asserted on time. Memory is measured twice: the largest single process (`ru_maxrss` of the build
and every reader it reaped, from wait4) and the whole tree at once (the sum of its processes' PSS, sampled
every 50 ms with psutil), so a worker's pages shared with the build are not counted twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.sources import Unreadable, read
from qa.ui.render import visible
from tests.conftest import REPO, run_qa
from tests.fixtures.make import FIXTURES, report_docx, report_pdf
from tests.hostile_files import CANARY, write_hostile

LIMIT_BYTES = 1.5 * 2**30
HOSTILE = "hostile"

#: The good files, a question each answers (its words are found in that file only) and the answer's words.
GOOD = {
    "good/report.pdf": ("Where do tawny owls stay all year round?", "beech woods"),
    "good/survey.docx": ("Which fixed routes did the volunteers walk at dusk?", "fixed routes at dusk"),
    "good/article.html": ("Why do farmers keep wide margins of tall grass around their fields?", "wide margins"),
    "good/lighthouse.txt": ("Who painted the Skerrymore lighthouse red and white?", "Angus Reid"),
    "good/sourdough.md": ("What is the sourdough starter fed with every morning?", "rye flour"),
}


@dataclass
class Build:
    index: Path
    corpus: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    largest_process: int     # bytes: ru_maxrss of the build and the readers it reaped
    tree_peak: int | None    # bytes: sampled sum of the tree's PSS (None without psutil)
    described: dict[str, str]


def _write_good(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "report.pdf").write_bytes(report_pdf())
    (folder / "survey.docx").write_bytes(report_docx())
    shutil.copy(FIXTURES / "article.html", folder / "article.html")
    (folder / "lighthouse.txt").write_text(
        "The Skerrymore lighthouse stands on a reef eleven miles out to sea.\n\n"
        "It was painted red and white in 1893 by the keeper, Angus Reid, who also kept the log of passing ships.\n")
    (folder / "sourdough.md").write_text(
        "# Sourdough\n\nA sourdough starter is fed with rye flour and water every morning.\n\n"
        "## Baking\n\nThe dough rises overnight in a cool larder before it is baked.\n")


def _tree_pss(process) -> int:
    """The summed proportional set size of a process and its descendants (RSS where PSS is unknown)."""
    import psutil

    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            info = member.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            pass
    return total


#: Runs the command in argv[2:] and writes its ru_maxrss (KiB) to argv[1]. The build is measured from this
#: small process, not from the test's: a child's ru_maxrss starts at its parent's resident size at the fork
#: (Linux keeps the high-water mark across exec), so a build forked from a pytest worker that had loaded
#: models measured the worker (1.6-1.8 GB) instead of itself (0.65 GB).
_LAUNCHER = """import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    handle.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def _run_measured(args: list[str], env: dict[str, str], scratch: Path) -> tuple[int, str, str, float, int, int | None]:
    """Run `qa ARGS` and measure it: exit code, stdout, stderr, wall seconds, largest process, tree peak."""
    try:
        import psutil
    except ImportError:     # the single-process peak from wait4 still holds
        psutil = None
    out, err, peak = scratch / "stdout", scratch / "stderr", scratch / "maxrss"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(peak), sys.executable, "-m", "qa.ui.cli", *args],
                                   stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=REPO, env=env,
                                   start_new_session=True)
    watched = psutil.Process(process.pid) if psutil else None
    tree_peak = 0 if psutil else None
    while True:
        pid, status, _ = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if watched is not None:
            try:
                tree_peak = max(tree_peak or 0, _tree_pss(watched))
            except psutil.NoSuchProcess:
                pass
        if time.perf_counter() - started > 900:    # a safety stop for a hung build, not a time limit
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    decode = (lambda path: path.read_bytes().decode("utf-8", "backslashreplace"))
    return process.returncode, decode(out), decode(err), seconds, int(peak.read_text()) * 1024, tree_peak


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> Build:
    root = tmp_path_factory.mktemp("hostile-build")
    corpus = root / "docs"
    started = time.perf_counter()
    described = write_hostile(corpus / HOSTILE)
    written = time.perf_counter() - started
    _write_good(corpus / "good")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "100", "QA_READ_SECONDS": "20"}
    code, stdout, stderr, seconds, largest, tree = _run_measured(
        ["index", str(corpus), "--index", str(root / "index"), "--model", str(fake_model)], env, root)
    print(f"\nhostile corpus: {len(described)} files written in {written:.1f} s; build: exit {code}, "
          f"{seconds:.1f} s wall, largest process {largest / 2**20:.0f} MB, "
          f"tree peak {'unmeasured' if tree is None else f'{tree / 2**20:.0f} MB'} (PSS, sampled)")
    return Build(root / "index", corpus, code, stdout, stderr, seconds, largest, tree, described)


def skipped_lines(stderr: str) -> list[str]:
    """What follows `skipped ` on each line that reports a skipped file: `NAME: REASON`."""
    return [line[len("skipped "):] for line in stderr.splitlines() if line.startswith("skipped ")]


def reason(stderr: str, name: str) -> str:
    """The reason printed for skipping `name` ("" when it is not reported skipped)."""
    return next((line[len(name) + 2:] for line in skipped_lines(stderr) if line.startswith(f"{name}: ")), "")


def printed(name: str) -> str:
    """A file name as qa prints it: control characters escaped, and what stderr cannot encode backslashed."""
    return visible(name).encode("utf-8", "backslashreplace").decode("utf-8")


def unaccounted(described: dict[str, str], stderr: str, indexed: set[str]) -> list[str]:
    """Bad files neither indexed nor skipped with a reason of a few words."""
    missing = []
    for name in described:
        path = f"{HOSTILE}/{name}"
        if path not in indexed and not reason(stderr, printed(path)).strip():
            missing.append(f"{name!r} ({described[name]})")
    return missing


def _indexed(index: Path) -> set[str]:
    from qa import Index

    return {f.path for f in Index.open(index).stored.files}


def test_the_generator_writes_forty_hostile_files_of_every_format(tmp_path: Path):
    described = write_hostile(tmp_path)
    assert len(described) >= 40
    suffixes = [Path(name).suffix for name in described]
    for suffix in (".txt", ".md", ".html", ".pdf", ".docx"):
        assert suffixes.count(suffix) >= 5, suffix
    assert all(why.strip() for why in described.values())
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".dat") == sorted(described)
    assert max(p.lstat().st_size for p in tmp_path.iterdir()) < 20_000_000     # under qa's file size limit


def test_the_build_ends_well_with_no_traceback(build: Build):
    assert "Traceback" not in build.stdout + build.stderr, build.stderr[-3000:]
    assert build.returncode == 0, build.stderr[-3000:]
    assert build.stdout.startswith("Indexed ")


def test_every_bad_file_is_skipped_with_a_reason_or_indexed(build: Build):
    assert build.returncode == 0, build.stderr[-3000:]
    indexed = _indexed(build.index)
    assert not unaccounted(build.described, build.stderr, indexed)
    assert set(GOOD) <= indexed
    # every skip line names a file of the folder: nothing is reported twice or under a mangled name
    names = [printed(f"{HOSTILE}/{n}") for n in build.described]
    for line in skipped_lines(build.stderr):
        assert sum(line.startswith(f"{name}: ") for name in names) == 1, line


@pytest.mark.parametrize("name", sorted(GOOD))
def test_the_good_files_answer(build: Build, name: str):
    """Asked by BM25: the fake model's vectors only reflect shared word pieces, so its dense side would
    only add noise to a check that the good files' text was indexed beside the hostile ones."""
    assert build.returncode == 0, build.stderr[-3000:]
    question, words = GOOD[name]
    result = run_qa("ask", question, "--json", "--mode", "bm25", "--index", str(build.index))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    top = json.loads(result.stdout)["results"][0]
    assert (top["file"], words in top["text"]) == (name, True), top


def test_the_build_stays_within_its_memory(build: Build):
    assert build.largest_process <= LIMIT_BYTES, f"{build.largest_process / 2**20:.0f} MB"
    if build.tree_peak is not None:
        assert build.tree_peak <= LIMIT_BYTES, f"{build.tree_peak / 2**20:.0f} MB"


def test_nothing_outside_the_documents_is_read(build: Build):
    """External entities are never resolved: the file they name (the canary beside them, /etc/passwd) is not
    read, whether the file that declares them is indexed or skipped; a link out of the folder is not followed."""
    folder = build.corpus / HOSTILE
    for name in build.described:
        if "entity" in name or "laughs" in name:
            try:
                text = read(folder / name, folder).text
            except Unreadable:
                continue
            assert CANARY.split()[0] not in text and "root:x:0" not in text, name
    assert build.returncode == 0, build.stderr[-3000:]
    result = run_qa("ask", CANARY.split()[0], "--json", "--mode", "bm25", "--index", str(build.index))
    assert result.returncode == 0, result.stderr
    assert not any(CANARY.split()[0] in hit["text"] for hit in json.loads(result.stdout)["results"])
    assert f"{HOSTILE}/passwd-link.txt" not in _indexed(build.index)
