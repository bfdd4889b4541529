# LiveShop: `make run` starts the server with demo data, `make test` runs every check.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup run test test-fast lint typecheck pytest system-deps bench-deps bench-fanout bench-room bench-flash-sale bench-auction bench-clips bench-hls bench-layers-shaped soak clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install only when the project's dependencies or the pins change. constraints.txt pins the
# libraries whose internals we hook (aiortc, aioice, pylibsrtp, av, python-socketio/engineio,
# aiosqlite); see the comment at its top. The editable install also compiles the native fan-out
# loop in place (live_server/media/native/_fanout.c; optional, skipped without a C compiler).
$(VENV)/.stamp-install: pyproject.toml constraints.txt live_server/media/native/_fanout.c | $(VENV)/bin/python
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $@

web_client/node_modules/.stamp-npm: web_client/package.json web_client/package-lock.json
	cd web_client && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.stamp-install web_client/node_modules/.stamp-npm

run: setup
	$(PY) -m live_server serve --demo --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/ensure_system_deps.sh

# lint-imports checks the import contracts in pyproject.toml ([tool.importlinter]).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

typecheck: setup
	$(VENV)/bin/mypy

# Every test, under coverage ([tool.coverage] in pyproject.toml; servers started as subprocesses
# are measured too). The report is informational: no threshold, and the exit code is pytest's.
# pytest's summary line is repeated after the report so that it stays the closing line.
# The tests wait on the wall clock far more than they compute: PYTEST_WORKERS xdist workers
# (one test file per work unit, see tests/support/xdist_files.py); PYTEST_WORKERS=0 runs serially.
# Tests marked `solo` (Chromium simulcast hosts, whose encoders adapt to a busy CPU, and
# latency targets) run
# after the parallel part, alone on the machine.
COVERAGE_DIR := $(CURDIR)/test-artifacts/coverage
PYTEST_WORKERS ?= 3
pytest: setup system-deps
	@rm -rf $(COVERAGE_DIR) && mkdir -p $(COVERAGE_DIR)
	@export COVERAGE_FILE=$(COVERAGE_DIR)/.coverage; \
	$(VENV)/bin/coverage run -m pytest -q -ra -n $(PYTEST_WORKERS) --dist loadgroup -m "not solo" $(PYTEST_ARGS) 2>&1 | tee $(COVERAGE_DIR)/pytest.log; \
	rc=$${PIPESTATUS[0]}; [ $$rc -eq 5 ] && rc=0; \
	$(VENV)/bin/coverage run -m pytest -q -ra -n 0 -m solo $(PYTEST_ARGS) 2>&1 | tee -a $(COVERAGE_DIR)/pytest.log; \
	solo=$${PIPESTATUS[0]}; [ $$solo -eq 5 ] && solo=0; [ $$rc -eq 0 ] && rc=$$solo; \
	$(VENV)/bin/coverage combine -q >/dev/null 2>&1; \
	$(VENV)/bin/coverage report || true; \
	tail -n 1 $(COVERAGE_DIR)/pytest.log; \
	exit $$rc

test: lint typecheck pytest

# The quick lane while developing: unit tests and the integration tests not marked slow
# (no browser, no coverage). `make test` still runs everything.
test-fast: setup system-deps
	$(VENV)/bin/pytest -q -ra -m "not slow and not browser" tests/unit tests/integration $(PYTEST_ARGS)

# With Debian's janus installed (make bench-deps) and as root: LiveShop beside Janus VideoRoom
# (one event loop and its default) in a network namespace of its own (bench/fanout_janus.py);
# BENCH_ARGS=--loopback keeps the loopback-only run.
bench-fanout: setup
	$(PY) bench/fanout.py $(BENCH_ARGS)

# Optional benchmark-only system packages (Janus); CI does not need them.
bench-deps:
	LIVESHOP_BENCH_DEPS=1 scripts/ensure_system_deps.sh

bench-room: setup
	$(PY) bench/room.py $(BENCH_ARGS)

bench-flash-sale: setup
	$(PY) bench/flash_sale.py $(BENCH_ARGS)

# A bidding war: 2,000 viewers, 100 bidders at 50 (and 400) bids/s against one database
# transaction per bid in the same run; checks every accepted bid is stored once, in order.
bench-auction: setup
	$(PY) bench/auction.py $(BENCH_ARGS)

bench-clips: setup system-deps
	$(PY) bench/clips.py $(BENCH_ARGS)

# LL-HLS behind the shipped nginx config: origin CPU per 1,000 viewers, part availability and
# glass-to-glass against WebRTC in the same run; exit code 1 if a target fails.
# BENCH_ARGS=--quick checks the script in under a minute.
bench-hls: setup system-deps
	$(PY) bench/hls.py $(BENCH_ARGS)

# Issue 16's shaped-viewer criterion with a Chromium host (root, iproute2, Chromium): three
# Chromium viewers, one behind a 400 kbit/s shaper; prints each check (docs/media.md)
bench-layers-shaped: setup system-deps
	$(PY) bench/layers_shaped_chromium.py

# Not in CI: minutes of abandoned WHEP offers, slow HTTP and non-reading Socket.IO clients
# during a live show against a real `liveshop serve`; exit code 1 if a target fails.
# BENCH_ARGS=--quick checks the script itself in about a minute and a half.
soak: setup
	$(PY) bench/soak.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) web_client/node_modules .mypy_cache .ruff_cache .pytest_cache test-artifacts .import_linter_cache
