# Sosedi: the two commands of the quick start are `make run` and `make test`;
# both call `make setup`, which is idempotent.
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: setup run test lint fmt bench bench-quick bench-scale db-start db-stop migrations-check \
	soak fuzz backup screenshots pitr-backup pitr-info pitr-restore cluster-demo failover-drill

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

# How the costs grow with N, run by hand (not in CI): loading, refresh_map, the cells
# viewports and introduction candidates without their baselines, each N in a scratch
# database of its own; bench/results/scale.json, the "How costs grow" section of
# BENCHMARKS.md and docs/img/bench-scale.png. About 4 minutes on two quiet cores; at
# 5,000,000 it needs ~10 GB of free disk (a 4.6 GB database, 2.3 GB of COPY files meanwhile).
bench-scale: setup
	$(PY) -m bench --scale 100000,1000000,5000000 $(BENCH_ARGS)

# screenshots: the browser tests, saving their pictures into docs/img/ for the README
# (otherwise they go to test-artifacts/).
screenshots: setup
	SOSEDI_SCREENSHOTS=docs/img $(PY) -m pytest tests/e2e -q $(PYTEST_ARGS)

# Reliability (issue 7). The short versions run in `make test`; these are the long ones.
# soak: wrk for 60 s at 50 connections against /map/ and /api/public/cells under gunicorn
# (2 workers) on a seeded, refreshed test database of its own, then PostgreSQL restarted
# under load in a throw-away cluster on port 54331: prints requests, p50/p99, non-2xx.
soak: setup
	SOSEDI_TEST_DB=test_sosedi_soak SOSEDI_SOAK_SECONDS=60 SOSEDI_SOAK_CONNECTIONS=50 \
	SOSEDI_SOAK_SUPPORTERS=20000 $(PY) -m pytest tests/ops/test_load.py -s -q $(PYTEST_ARGS)

# fuzz: schemathesis with 500 examples per operation and the hypothesis properties with
# ten times their CI examples, besides the form and header crawls.
fuzz: setup
	SOSEDI_TEST_DB=test_sosedi_fuzz SOSEDI_FUZZ_EXAMPLES=500 SOSEDI_PROPERTY_SCALE=10 \
	$(PY) -m pytest tests/security -s -q $(PYTEST_ARGS)

# backup: an encrypted dump now (SOSEDI_BACKUP_PASSPHRASE; into SOSEDI_BACKUP_DIR).
backup: setup
	$(MANAGE) backup

db-start:
	@bash scripts/db.sh start

db-stop:
	@bash scripts/db.sh stop

# Point-in-time recovery with pgBackRest (scripts/pitr.sh, docs/deploy/pgbackrest.conf), on
# the database host as root or postgres. pitr-backup TYPE=full|diff (default diff);
# pitr-restore TO='2026-12-07 10:15:00+00' or TO=latest checks the repository first and
# stops with the reason, before PostgreSQL is stopped, if it is missing or damaged.
TYPE ?= diff
pitr-backup:
	@bash scripts/pitr.sh backup $(TYPE)

pitr-info:
	@bash scripts/pitr.sh info

pitr-restore:
	@test -n "$(TO)" || { echo "usage: make pitr-restore TO='2026-12-07 10:15:00+00' (or TO=latest)" >&2; exit 2; }
	@if [ "$(TO)" = latest ]; then bash scripts/pitr.sh restore --latest; \
	else bash scripts/pitr.sh restore --to "$(TO)"; fi

# cluster-demo: a primary, a streaming replica and pgbouncer on 127.0.0.1:54347-54349 with
# demo data, and the app (http://127.0.0.1:8014/) and the worker against them; may-lag pages
# say where they read in X-Sosedi-Reads-From. Ctrl-C stops it all and removes the clusters.
cluster-demo: setup
	@$(PY) scripts/cluster_demo.py

# failover-drill: the same clusters under wrk load (40 s, 16 connections, loopback only); the
# primary is killed, the replica promoted and pgbouncer re-pointed as docs/FAILOVER.md says;
# prints the rows lost (RPO) and the seconds without a successful write (RTO).
failover-drill: setup
	@$(PY) scripts/failover_drill.py
