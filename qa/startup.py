"""What the `qa` program sets for its own process when it starts, once, before the libraries under it load.

The library (qa's Python API) never changes the process's environment, loggers or thread counts: they belong
to the program that embeds it. `qa` is such a program, and makes these choices for itself here:

- the libraries under the model run offline and quietly: no download attempt (the model is always a local
  folder), no progress bars or advice on stderr, and no tokenizer threads (huggingface tokenizers warns and
  turns them off when the reader pool forks after they ran);
- commands that ask a few questions at a time (ask, the REPL, serve, mcp, show) run FAISS and OpenBLAS in
  one OpenMP thread: an exact scan of one question gains nothing from more, and its threads fought
  onnxruntime's, which spin after embedding the question (a 100k-passage flat scan took 51 ms instead of
  17). OpenMP reads OMP_NUM_THREADS when it is loaded, so this covers every thread of the process (qa serve
  answers in a thread pool), which faiss.omp_set_num_threads, per calling thread, would not. `qa batch`,
  `qa eval` and `qa index` keep the default (one thread a core).

A variable the user has set is left as it is.
"""

from __future__ import annotations

import os
from typing import MutableMapping

#: Set (unless already set) for every command.
LIBRARY_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
#: Commands that search a few questions at a time: OpenMP runs one thread (see the module docstring).
ONE_QUESTION_COMMANDS = frozenset({"ask", "repl", "serve", "mcp", "show"})


def configure(command: str, environ: MutableMapping[str, str] = os.environ) -> None:
    """Make the process's settings for `command` (a `qa` subcommand) in `environ`; call it once, first thing.
    Imports nothing: FAISS and the model libraries must not be loaded yet for OMP_NUM_THREADS to count."""
    for name, value in LIBRARY_ENVIRONMENT.items():
        environ.setdefault(name, value)
    if command in ONE_QUESTION_COMMANDS:
        environ.setdefault("OMP_NUM_THREADS", "1")
