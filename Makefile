# The two commands of the README: `make run` and `make test`. Everything else is
# what they need: a virtual environment, its packages, the database.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

# `make run` is a developer's local server: debug on, an SQLite file unless
# DATABASE_URL says otherwise. Links in e-mails (CRM_BASE_URL) point at the
# address it serves, unless CRM_BASE_URL says otherwise:
# `make run RUN_ADDRESS=0.0.0.0:8080`.
RUN_ADDRESS ?= 127.0.0.1:8000
RUN_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1} CRM_BASE_URL=$${CRM_BASE_URL:-http://$(RUN_ADDRESS)}
# Tests need a secret key but no real one.
TEST_ENV := DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-tests-only-not-a-secret}

.PHONY: run test lint format check messages install install-dev clean bench bench-smoke bench-mail bench-imports \
	bench-overview bench-job-export bench-sweep

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-dev: $(VENV)/.dev-installed

# The job worker (large exports: crm/jobs.py) runs beside the server, as in
# production, and stops with it (Ctrl-C); it does not reload on code changes.
run: install
	$(RUN_ENV) $(MANAGE) migrate --no-input
	$(RUN_ENV) $(MANAGE) setup_local
	$(RUN_ENV) $(MANAGE) run_jobs --no-reload --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(MANAGE) runserver $(RUN_ADDRESS)

test: install-dev
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: install-dev
	$(TEST_ENV) $(MANAGE) check
	$(TEST_ENV) $(MANAGE) makemigrations --check --dry-run

# Needs gettext (apt-get install gettext); the compiled .mo is committed.
messages: install-dev
	$(TEST_ENV) $(MANAGE) makemessages -l fr --no-obsolete --ignore=.venv
	$(TEST_ENV) $(MANAGE) compilemessages -l fr --ignore=.venv

# Issue 10's ratios on PostgreSQL at 10,000 and 1,000,000 follow-ups, written to
# docs/benchmarks.md (bench/run.py). The database is emptied: its name must
# contain "bench". bench-smoke runs the same code at a tiny size (CI).
BENCH_SERVER ?= postgres://postgres@127.0.0.1:5432
BENCH_DATABASE ?= crm_bench
BENCH_ENV := $(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_DATABASE) DJANGO_DEBUG=0

bench: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_DATABASE)" 2>/dev/null || true
	# Debug off, as in production: pages need the collected static files' manifest.
	$(BENCH_ENV) $(MANAGE) collectstatic --no-input -v0
	$(BENCH_ENV) $(BIN)/python bench/run.py --write docs/benchmarks.md $(BENCH_ARGS)

bench-smoke: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_DATABASE)_smoke" 2>/dev/null || true
	$(BENCH_ENV) $(MANAGE) collectstatic --no-input -v0
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_DATABASE)_smoke DJANGO_DEBUG=0 $(BIN)/python bench/run.py \
		--sizes 100,300 --runs 1 --xlsx-rows 50 --import-rows 50 --http-seconds 1 \
		--mail-messages 20 --mail-runs 1 --sweep-runs 1
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_DATABASE)_smoke DJANGO_DEBUG=0 $(BIN)/python \
		bench/import_memory.py --rows 50 --line-mb 1 --smoke

# The mail filing rate alone (issue 18): no follow-ups needed, a database of its
# own; rewrites only the "Mail filing" section of docs/benchmarks.md.
BENCH_MAIL_DATABASE ?= crm_bench_mail

bench-mail: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_MAIL_DATABASE)" 2>/dev/null || true
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_MAIL_DATABASE) DJANGO_DEBUG=0 $(BIN)/python \
		bench/run.py --only mail --write docs/benchmarks.md $(BENCH_ARGS)

# The overview and the scorecard alone (issue 21): one database per size
# ($(BENCH_OVERVIEW_DATABASE)_10000, …_1000000), measured round by round;
# rewrites only the "Overview and scorecard" section. BENCH_ARGS=--reuse keeps
# a size's database that already holds that many follow-ups.
BENCH_OVERVIEW_DATABASE ?= crm_bench_overview

bench-overview: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_OVERVIEW_DATABASE)" 2>/dev/null || true
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_OVERVIEW_DATABASE) DJANGO_DEBUG=0 $(BIN)/python \
		bench/run.py --only overview --write docs/benchmarks.md $(BENCH_ARGS)

# The full XLSX export as a job alone (issue 23): gunicorn with GUNICORN_TIMEOUT=20
# and a run_jobs worker, the export asked over HTTP, the file read back; one
# database per size ($(BENCH_JOB_DATABASE)_10000, …_1000000); rewrites only its
# section of docs/benchmarks.md. BENCH_ARGS=--reuse keeps a size's database that
# already holds that many follow-ups. `make bench` runs it too, at each size.
BENCH_JOB_DATABASE ?= crm_bench_job

bench-job-export: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_JOB_DATABASE)" 2>/dev/null || true
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_JOB_DATABASE) DJANGO_DEBUG=0 $(BIN)/python \
		bench/run.py --only job-export --write docs/benchmarks.md $(BENCH_ARGS)

# The sweep of every page alone (issue 22), on the job export's databases per size;
# rewrites only its section of docs/benchmarks.md. BENCH_ARGS=--reuse as above.
bench-sweep: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_JOB_DATABASE)" 2>/dev/null || true
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_JOB_DATABASE) DJANGO_DEBUG=0 $(BIN)/python \
		bench/run.py --only sweep --write docs/benchmarks.md $(BENCH_ARGS)

# The peak memory of import_contacts on a million rows (issue 17): a few minutes.
BENCH_IMPORTS_DATABASE ?= crm_bench_imports
bench-imports: install-dev
	psql "$(BENCH_SERVER)/postgres" -qc "CREATE DATABASE $(BENCH_IMPORTS_DATABASE)" 2>/dev/null || true
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_IMPORTS_DATABASE) $(MANAGE) migrate -v0
	$(TEST_ENV) DATABASE_URL=$(BENCH_SERVER)/$(BENCH_IMPORTS_DATABASE) DJANGO_DEBUG=0 $(BIN)/python \
		bench/import_memory.py --rows 1000000 --line-mb 100 --write docs/import_memory.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
