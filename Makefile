# ego_cl: `make run` (the embedded demo) and `make test` (ruff, import-linter, pytest).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: run test bench bench-quick lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Exact tested versions from constraints.txt (pyproject.toml itself only has compatible ranges).
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -e '.[dev]' -c constraints.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m ego_cl.runners.stream $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	bash .ci/pytest.sh $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.all

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.all --quick

clean-venv:
	rm -rf $(VENV)
