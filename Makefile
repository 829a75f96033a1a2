# dbcron: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dashboard's front-end packages (htmx, Chart.js), pinned by the lockfile and copied
# into src/dbcron/web/static/vendor/ (git-ignored) by frontend/build.mjs.
FRONTEND := frontend/node_modules/.built
DB ?= sqlite:///dbcron.db

.PHONY: frontend run test lint typecheck unit integration acceptance bench clean venv chaos

venv: $(STAMP)

$(STAMP): pyproject.toml $(FRONTEND)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

frontend: $(FRONTEND)

$(FRONTEND): frontend/package-lock.json frontend/build.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	cd frontend && node build.mjs
	touch $(FRONTEND)

run: $(STAMP)
	$(BIN)/dbcron --db $(DB) init
	$(BIN)/dbcron --db $(DB) seed
	$(BIN)/dbcron --db $(DB) list
	@echo "Starting the scheduler with its dashboard at http://127.0.0.1:8080/ (Ctrl-C stops it)."
	@echo "In another terminal:  .venv/bin/dbcron history    .venv/bin/dbcron status"
	$(BIN)/dbcron --db $(DB) start --web

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite waits on real processes and databases far more than it computes: three
# workers (pytest-xdist) keep the 2-core machine busy; each has its own databases.
test: lint typecheck
	$(BIN)/python scripts/test_postgres.py -- $(BIN)/python -m pytest -q -p no:cacheprovider -n 3 tests

# The chaos test for DURATION seconds (three schedulers killed, stopped, restarted and cut
# off from PostgreSQL at random); `make test` runs it for 30 s. DBCRON_CHAOS_SEED replays.
DURATION ?= 600
chaos: $(STAMP)
	DBCRON_CHAOS_SECONDS=$(DURATION) $(BIN)/python scripts/test_postgres.py -- $(BIN)/python -m pytest -q -p no:cacheprovider tests/acceptance/test_chaos.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache frontend/node_modules src/dbcron/web/static/vendor
