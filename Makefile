# Two commands: `make run` (set up, index seeds/, open the REPL) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run index test bench clean

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

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/.tmp-* index/.lock .pytest_cache .hypothesis
