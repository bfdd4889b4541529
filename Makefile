# LiveShop: `make run` starts the server with demo data, `make test` runs every check.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup run test lint typecheck pytest system-deps bench-fanout bench-room bench-flash-sale bench-clips clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install only when the project's dependencies change.
$(VENV)/.stamp-install: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[dev]'
	touch $@

web_client/node_modules/.stamp-npm: web_client/package.json web_client/package-lock.json
	cd web_client && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.stamp-install web_client/node_modules/.stamp-npm

run: setup
	$(PY) -m live_server serve --demo --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/ensure_system_deps.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup system-deps
	$(VENV)/bin/pytest -q -ra $(PYTEST_ARGS)

test: lint typecheck pytest

bench-fanout: setup
	$(PY) bench/fanout.py $(BENCH_ARGS)

bench-room: setup
	$(PY) bench/room.py $(BENCH_ARGS)

bench-flash-sale: setup
	$(PY) bench/flash_sale.py $(BENCH_ARGS)

bench-clips: setup system-deps
	$(PY) bench/clips.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) web_client/node_modules .mypy_cache .ruff_cache .pytest_cache test-artifacts
