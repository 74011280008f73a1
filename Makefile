# Two commands: `make run` (set up, index seeds/, open the REPL) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Exact versions of everything setup installs (pip, the build's setuptools, torch, the package with its
# test, cluster and serve extras): every machine gets the same tree. `make lock` refreshes it.
LOCK   := .ci/requirements.lock

.PHONY: setup run index test bench peers lock clean

setup: $(STAMP)

# pip and setuptools first, at the locked versions (not an unpinned --upgrade: the same on every machine).
# torch is pinned and installed before the package: an unpinned torch pulls gigabytes of CUDA packages.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(LOCK) pip setuptools
	$(BIN)/python -m pip install --quiet -c $(LOCK) torch==2.13.0
	$(BIN)/python -m pip install --quiet -c $(LOCK) --build-constraint $(LOCK) -e '.[test]'
	touch $@

index: setup
	$(BIN)/qa index seeds

run: index
	$(BIN)/qa

# Types first (pyproject.toml's [tool.mypy]), then the suite. Two workers: the machine has two cores, and
# the suite is mostly model and process start-up.
test: setup
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2

bench: setup
	$(BIN)/python tests/bench/run.py --write

# qa beside LangChain, LlamaIndex, txtai and a naive baseline (../shared/peers; their venvs are made once).
PEERS_VENVS ?= $(or $(BENCH_VENV_ROOT),/tmp/bench-peers)
peers: setup
	for p in naive langchain txtai llamaindex; do test -x $(PEERS_VENVS)/$$p/bin/python || \
		BENCH_VENV_ROOT=$(PEERS_VENVS) bash ../shared/peers/setup_peers.sh $$p || exit 1; done
	BENCH_VENV_ROOT=$(PEERS_VENVS) $(BIN)/python tests/bench/peer_tables.py --write

# Re-resolve the lock from pyproject.toml's ranges with pip-tools (pinned, in its own venv), using this
# machine's pip configuration (where torch 2.13.0's CPU wheel lies). The lock names torch 2.13.0 without
# the wheel's +cpu label, as setup asks for it, and not the package itself (its extras name it).
# LOCK_ARGS= (empty) keeps the locked versions and only adds what pyproject.toml newly asks for.
LOCK_VENV ?= /tmp/qa-pip-tools
LOCK_ARGS ?= --upgrade
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/python -m pip install --quiet pip==26.3 pip-tools==7.6.2; }
	printf 'pip\nsetuptools\n' | CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet \
		$(LOCK_ARGS) --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra test --extra cluster --extra serve --output-file $(LOCK) pyproject.toml -
	sed -i -e 's/^torch==2\.13\.0+cpu$$/torch==2.13.0/' -e '/^qa @ /,/^[^ ]/{/^qa @ /d;/^ /d}' $(LOCK)
	grep -qx 'torch==2.13.0' $(LOCK) && ! grep -q '^qa @' $(LOCK)

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/.tmp-* index/.lock .pytest_cache .hypothesis
