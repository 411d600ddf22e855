# Two commands matter: `make demo` and `make test`. Both build .venv from the lock file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: venv dev test lint typecheck demo bench sync-check clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

venv: $(BIN)/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --quiet --frozen --inexact --python $(BIN)/python

dev: $(BIN)/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --quiet --frozen --inexact --extra dev --python $(BIN)/python

lint: dev
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src

typecheck: dev
	$(BIN)/mypy src

test: dev lint typecheck
	$(BIN)/python -m pytest -q

demo: venv
	rm -f demo.duckdb
	$(BIN)/matomo export visits --sandbox --site all --from last7 --to yesterday --out demo.duckdb
	$(BIN)/python examples/show_export.py demo.duckdb

bench: dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .venv310 .mypy_cache .pytest_cache .ruff_cache demo.duckdb
