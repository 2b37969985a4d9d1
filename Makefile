# The two commands of the README: `make demo` and `make test`. Each sets itself up from nothing
# but Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check sdl bench clean bench-seed lock

# Dependencies come from the lock file, pinned with hashes (requirements/dev.lock), so every machine
# and CI run tests the same versions; the project itself is installed editable on top, without deps.
$(STAMP): pyproject.toml requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "the hub needs Python 3.11 or later; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Re-resolve the lock files after a change to the dependencies in pyproject.toml (versions already
# locked are kept; UPGRADE=1 takes the newest allowed). Commit both files.
UV_UPGRADE := $(if $(UPGRADE),--upgrade,)
lock: $(STAMP)
	@$(BIN)/python -m pip install --quiet 'uv>=0.9'
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --universal $(UV_UPGRADE) -q -o requirements/dev.lock
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --universal $(UV_UPGRADE) -q -o requirements/runtime.lock

demo: $(STAMP)
	$(BIN)/hub demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

sdl: $(STAMP)
	$(BIN)/hub schema --rows
	$(BIN)/hub schema --policy
	$(BIN)/hub schema --all --write schema/sdl

# Seeding time and peak memory at 100,000 people, on a fresh PostgreSQL database made for it.
HUB_BENCH_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/hub_bench_seed
BENCH_SCALE ?= 100000
TIME_V := $(shell test -x /usr/bin/time && echo /usr/bin/time -v)

bench-seed: $(STAMP)
	@echo "machine: $$(nproc) cores, $$(awk '/MemTotal/ {printf "%.0f GiB", $$2/1048576}' /proc/meminfo); load:$$(cut -d' ' -f1-3 /proc/loadavg)"
	$(BIN)/python -m hub.synthetic.bench "$(HUB_BENCH_DATABASE_URL)"
	HUB_DATABASE_URL="$(HUB_BENCH_DATABASE_URL)" $(BIN)/hub migrate
	HUB_DATABASE_URL="$(HUB_BENCH_DATABASE_URL)" $(TIME_V) $(BIN)/hub seed --scale $(BENCH_SCALE) --quiet

# The benchmark of docs/performance.md: the hub, hand-written SQL and PostGraphile v5 side by side on a
# PostgreSQL database it creates (127.0.0.1:5432, user postgres). BENCH_ARGS passes options to
# bench/run.py (e.g. BENCH_ARGS="--reseed --duration 10"); ~12 minutes with the defaults.
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet 'py-spy>=0.3.14'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .hub-demo hub.db hub.db-wal hub.db-shm .pytest_cache .mypy_cache .ruff_cache
