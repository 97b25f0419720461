# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each creates ./.venv (Python 3.11+) and installs the project into it on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-summary test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)                ## the offline demo: a simulated day, a storm, pages, then the UI
	$(BIN)/stormwatch demo

demo-summary: $(STAMP)        ## the same day without serving the UI; exits with a summary
	$(BIN)/stormwatch demo --no-serve

test: lint typecheck unit     ## everything CI runs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
