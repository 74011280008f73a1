"""Start-up stays light: `qa --help` and answers never import torch or a format library (trafilatura, pypdf,
python-docx, lxml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from qa.model.embedder import SHIPPED_EXPORT

from tests.conftest import REPO

PROBE = """
import sys
from qa.ui.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers",
                           "trafilatura", "pypdf", "docx", "lxml") if m in sys.modules)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def heavy_modules(*args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO)
    line = [l for l in result.stderr.splitlines() if l.startswith("HEAVY:")][-1]
    return result.returncode, line.removeprefix("HEAVY:")


def test_help_does_not_import_torch():
    assert heavy_modules("--help") == (0, "")


def test_help_imports_neither_numpy_nor_the_engine():
    probe = ("import sys\nfrom qa.ui.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('numpy', 'qa.index', 'qa.ingest.build', 'qa.search.bm25') if m in sys.modules),"
             " file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert "usage: qa" in result.stdout


def test_bm25_ask_does_not_import_torch(seeds_index: Path):
    assert heavy_modules("ask", "Who is Yu Xiaohui?", "--mode", "bm25", "--index", str(seeds_index)) == (0, "")


def test_hybrid_and_dense_answers_do_not_import_torch(seeds_index: Path):
    for mode in ("hybrid", "dense"):
        assert heavy_modules("ask", "Who is Yu Xiaohui?", "--mode", mode, "--index", str(seeds_index)) == (0, "")


def test_batch_and_the_repl_do_not_import_torch(seeds_index: Path):
    for command in ("batch", "repl"):
        result = subprocess.run([sys.executable, "-c", PROBE, command, *(["-"] if command == "batch" else []),
                                 "--index", str(seeds_index)], input="Who is Yu Xiaohui?\n",
                                capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 0 and "HEAVY:\n" in result.stderr + "\n"


def test_the_probe_would_notice_torch(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Barn owls hunt mice at night.\n")
    model = tmp_path / "model"
    shutil.copytree(fake_model, model, ignore=shutil.ignore_patterns(SHIPPED_EXPORT))   # no export shipped
    code, heavy = heavy_modules("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(model))
    assert (tmp_path / "ix" / "CURRENT").is_file()    # exporting the model needs torch
    assert code == 0 and "torch" in heavy.split(",")


def test_the_probe_would_notice_format_libraries():
    result = subprocess.run([sys.executable, "-c", "import trafilatura, pypdf\n" + PROBE, "--help"],
                            capture_output=True, text=True, cwd=REPO)
    heavy = [l for l in result.stderr.splitlines() if l.startswith("HEAVY:")][-1].removeprefix("HEAVY:")
    assert {"trafilatura", "lxml", "pypdf"} <= set(heavy.split(","))


def test_a_build_reads_documents_in_worker_processes_only(tmp_path: Path, fake_model: Path):
    """The format libraries load in the reader pool's workers, never in the process that builds."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.html").write_text("<html><body><article><p>Barn owls hunt mice at night over the fields "
                                      "near the river, and they nest in old barns.</p></article></body></html>")
    code, heavy = heavy_modules("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert (code, heavy) == (0, "")


def test_show_imports_no_format_library(seeds_index: Path):
    assert heavy_modules("show", "seeds/004_bc3bbd6dfccf26ec.txt:5-7", "--index", str(seeds_index)) == (0, "")


def test_the_program_chooses_the_process_settings_the_library_leaves_alone():
    """qa.startup.configure (called by `qa` when it starts): the model libraries run offline and quietly for
    every command; OpenMP (FAISS, OpenBLAS) runs one thread for the commands that ask a question at a time,
    in every thread of the process (read from the environment when OpenMP loads); a user's own values stay."""
    from qa.startup import configure

    for command in ("ask", "repl", "serve", "mcp", "show"):
        environ: dict[str, str] = {}
        configure(command, environ)
        assert environ["OMP_NUM_THREADS"] == "1" and environ["HF_HUB_OFFLINE"] == "1"
        assert environ["TOKENIZERS_PARALLELISM"] == "false" and environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    for command in ("index", "batch", "eval"):
        environ = {}
        configure(command, environ)
        assert "OMP_NUM_THREADS" not in environ and environ["TRANSFORMERS_VERBOSITY"] == "error"
    environ = {"OMP_NUM_THREADS": "3", "HF_HUB_OFFLINE": "0"}
    configure("ask", environ)
    assert environ["OMP_NUM_THREADS"] == "3" and environ["HF_HUB_OFFLINE"] == "0"
    probe = ("import os, threading\nfrom qa.startup import configure\nconfigure('serve')\nimport faiss\n"
             "seen = []\nworker = threading.Thread(target=lambda: seen.append(faiss.omp_get_max_threads()))\n"
             "worker.start(); worker.join(); print(faiss.omp_get_max_threads(), seen[0])\n")
    environment = {k: v for k, v in __import__("os").environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=environment)
    assert result.stdout.split() == ["1", "1"], result.stderr


def test_importing_qa_and_searching_leave_the_environment_and_faiss_threads_alone(fake_seeds_index: Path):
    """The Python API changes no environment variable and no FAISS thread count: a search in a thread reads
    the default number of threads, and os.environ is what it was."""
    probe = ("import os\nbefore = dict(os.environ)\nimport faiss\nthreads = faiss.omp_get_max_threads()\n"
             "from qa import Index\nimport sys\nindex = Index.open(sys.argv[1])\n"
             "for mode in ('hybrid', 'dense', 'bm25'):\n    index.search('Who is Yu Xiaohui?', k=3, mode=mode)\n"
             "print(dict(os.environ) == before, faiss.omp_get_max_threads() == threads)\n")
    environment = {k: v for k, v in __import__("os").environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", probe, str(fake_seeds_index)], capture_output=True, text=True,
                            cwd=REPO, env=environment)
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_qa_ask_runs_openmp_in_one_thread(fake_seeds_index: Path):
    """`qa ask` calls qa.startup.configure before FAISS loads: its searches run one OpenMP thread."""
    probe = ("import sys\nfrom qa.ui.cli import main\ncode = main(sys.argv[1:])\nimport faiss\n"
             "print('THREADS', faiss.omp_get_max_threads(), code)\n")
    environment = {k: v for k, v in __import__("os").environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", probe, "ask", "Who is Yu Xiaohui?", "--index", str(fake_seeds_index)],
                            capture_output=True, text=True, cwd=REPO, env=environment)
    assert result.stdout.split()[-3:] == ["THREADS", "1", "0"], result.stderr
