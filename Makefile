# Two commands do everything on a fresh machine (see README.md):
#   make run    set up the runtime, sync the data, open the dashboard
#   make test   set up the runtime and the dev tools, then lint, type-check and run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The versions tested together: every install is held to them (`make constraints` rewrites it).
CONSTRAINTS := constraints.txt
INSTALL := $(BIN)/pip install --quiet -c $(CONSTRAINTS)
# Extra arguments for `python -m pipeline sync`, e.g. --victims PATH ... (see README.md)
SYNC_ARGS ?=

.PHONY: setup setup-dev run test bench constraints

setup: $(VENV)/.installed-run
setup-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Runtime dependencies only: the dashboard, the CLI and the benchmarks.
$(VENV)/.installed-run: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(INSTALL) -e .
	touch $@

# Plus the dev tools of pyproject's `dev` extra (pytest, hypothesis, ruff, mypy, playwright, ...).
$(VENV)/.installed-dev: $(VENV)/.installed-run
	$(INSTALL) -e '.[dev]'
	touch $@

run: setup
	$(BIN)/python -m pipeline sync $(SYNC_ARGS)
	$(BIN)/python -m pipeline status
	$(BIN)/streamlit run dashboard.py

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m bench.sync_bench
	$(BIN)/python -m bench.geo_bench
	$(BIN)/python -m bench.dashboard_bench
	$(BIN)/python -m bench.brief_bench
	$(BIN)/python -m bench.outreach_bench

# After changing pyproject.toml's dependencies or upgrading a package in $(VENV)
# (`$(BIN)/pip install -U NAME`): pin what the dev venv now holds, once the tests pass.
constraints: setup-dev
	{ echo "# Versions tested together (runtime and dev); written by \`make constraints\`."; \
	  echo "# Used as \`pip install -c constraints.txt\`: pins only what is installed."; \
	  $(BIN)/pip freeze --exclude-editable; } > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)
