# Two commands matter: `make demo` and `make test`. Both build .venv from the lock file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: venv dev test lint typecheck demo bench sync-check clean

# An older Python would fail further on with an error about uv or the lock file, not about itself.
$(BIN)/uv:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
		found=$$($(PYTHON) -c 'import platform; print("Python " + platform.python_version())' 2>/dev/null); \
		echo "matomo-client needs Python 3.10 or newer; $(PYTHON) is $${found:-not found}." >&2; \
		echo "Name another one: make $(or $(MAKECMDGOALS),demo) PYTHON=python3.12" >&2; \
		exit 1; }
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

sync-check: dev
	$(BIN)/python scripts/unasync.py --check

bench: dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .venv310 .venv313 .mypy_cache .pytest_cache .ruff_cache demo.duckdb
