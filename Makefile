# Two commands: `make run` (set up, index seeds/, open the REPL) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run index test bench peers clean

setup: $(STAMP)

# torch is pinned and installed first: an unpinned torch pulls gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

index: setup
	$(BIN)/qa index seeds

run: index
	$(BIN)/qa

# Two workers: the machine has two cores, and the suite is mostly model and process start-up.
test: setup
	$(BIN)/python -m pytest -n 2

bench: setup
	$(BIN)/python tests/bench/run.py --write

# qa beside LangChain, LlamaIndex, txtai and a naive baseline (../shared/peers; their venvs are made once).
PEERS_VENVS ?= $(or $(BENCH_VENV_ROOT),/tmp/bench-peers)
peers: setup
	for p in naive langchain txtai llamaindex; do test -x $(PEERS_VENVS)/$$p/bin/python || \
		BENCH_VENV_ROOT=$(PEERS_VENVS) bash ../shared/peers/setup_peers.sh $$p || exit 1; done
	BENCH_VENV_ROOT=$(PEERS_VENVS) $(BIN)/python tests/bench/peer_tables.py --write

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/.tmp-* index/.lock .pytest_cache .hypothesis
