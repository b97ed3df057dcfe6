# Two commands do everything on a fresh machine (see README.md):
#   make run    set up, sync the data, open the dashboard
#   make test   set up, then lint, type-check and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extra arguments for `python -m pipeline sync`, e.g. --victims PATH ... (see README.md)
SYNC_ARGS ?=

.PHONY: setup run test bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/python -m pipeline sync $(SYNC_ARGS)
	$(BIN)/python -m pipeline status
	$(BIN)/streamlit run dashboard.py

test: setup
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
