# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each creates ./.venv (Python 3.11+) and installs the project into it on first use.
#
# What is installed is exactly what requirements.lock and requirements-torch.lock pin, each
# file checked against its sha256 (`make audit` checks that same set for known
# vulnerabilities). torch comes from PyTorch's CPU-only index: PyPI's Linux torch pulls the
# CUDA build (gigabytes). pip also looks wherever it is configured to (find-links, a mirror).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TOOLS  := .venv-tools
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PIP_TOOLS := pip-tools==7.6.2 pip-audit==2.10.1

.PHONY: demo demo-summary test lint typecheck unit bench catalogues audit lock clean

$(STAMP): pyproject.toml requirements.lock requirements-torch.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes \
	    --index-url $(TORCH_INDEX) -r requirements-torch.lock
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check || { echo "the lock does not satisfy pyproject.toml:" \
	    "run make lock (needs the network)" >&2; exit 1; }
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

catalogues: $(STAMP)          ## extract the pages' strings; update monitor/web/locale/*/messages.po
	$(BIN)/python -m monitor.web.catalogues

$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet $(PIP_TOOLS)
	touch $@

audit: $(TOOLS)/.installed    ## known vulnerabilities in the locked set (pip-audit; needs the network)
	$(TOOLS)/bin/pip-audit --strict --disable-pip --require-hashes -r requirements.lock
	sed -e 's/ .*//' -e 's/+cpu$$//' requirements-torch.lock | grep '^torch==' > $(TOOLS)/torch.txt
	$(TOOLS)/bin/pip-audit --strict --disable-pip --no-deps -r $(TOOLS)/torch.txt

lock: $(TOOLS)/.installed     ## pin pyproject.toml's ranges again, with hashes (needs the network)
	$(TOOLS)/bin/pip-compile --quiet --extra dev --generate-hashes --strip-extras --allow-unsafe \
	    --no-emit-index-url --no-emit-find-links --output-file $(TOOLS)/all.lock pyproject.toml
	awk '/^[^ #]/ { t = /^torch==/ } { print > (t ? "requirements-torch.lock" : "requirements.lock") }' \
	    $(TOOLS)/all.lock

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
