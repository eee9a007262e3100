# Every target sets up .venv itself, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: console test serve sandbox check bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,console,postgres]'
	touch $(STAMP)

console: $(STAMP)
	$(BIN)/chatops console

# The suite starts many Python processes (replicas, restarts, the CLI): with bytecode
# caches they import in about half the time, so a test run writes them even where the
# environment says not to (__pycache__ is ignored by git).
test: export PYTHONDONTWRITEBYTECODE :=
test: lint
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/chatops serve

sandbox: $(STAMP)
	$(BIN)/chatops sandbox

check: $(STAMP)
	$(BIN)/chatops check

bench: export PYTHONDONTWRITEBYTECODE :=
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
