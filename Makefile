# Two commands for a fresh machine with Python 3.11+ and make:
#   make demo   run Homeward on SQLite with demo data, web app and worker, on http://127.0.0.1:8000/
#   make test   lint, type checks, layer contracts, and the whole test suite (SQLite, then PostgreSQL if installed)
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
HW := $(RUN) homeward

.PHONY: demo test lint format messages serve clean-test

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) scripts/bootstrap-uv.py

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

demo: .venv/.synced
	$(HW) keys init --if-missing
	$(HW) migrate --noinput --verbosity 0
	$(HW) demo
	$(HW) serve

lint: .venv/.synced
	$(RUN) ruff check src tests benchmarks scripts
	$(RUN) ruff format --check src tests benchmarks scripts
	$(RUN) mypy
	$(RUN) lint-imports

test: lint
	scripts/test-deps
	HOMEWARD_ENV=test $(RUN) pytest
	scripts/test-postgres $(RUN) pytest -m "not own_database and not database_free"

format: .venv/.synced
	$(RUN) ruff check --fix src tests benchmarks
	$(RUN) ruff format src tests benchmarks

messages: .venv/.synced
	cd src/homeward && $(RUN) homeward makemessages -l az -l ru --no-obsolete && $(RUN) homeward compilemessages
