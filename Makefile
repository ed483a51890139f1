# Sosedi: the two commands of the quick start are `make run` and `make test`;
# both call `make setup`, which is idempotent.
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: setup run test lint fmt bench bench-quick db-start db-stop migrations-check

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run.sh

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

fmt:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

# Benchmarks against naive baselines in the same run, in a scratch database of their own
# (BENCH_DB, default sosedi_bench_run); results in BENCHMARKS.md and docs/img/bench.png.
bench: setup
	$(PY) -m bench --n 1000000 $(BENCH_ARGS)

bench-quick: setup
	$(PY) -m bench --n 100000 --quick $(BENCH_ARGS)

db-start:
	@bash scripts/db.sh start

db-stop:
	@bash scripts/db.sh stop
