# Omni: `make run` serves the demo, `make test` runs the whole suite. Both set up .venv first.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Benchmarks and the load test: local PostgreSQL and Redis unless overridden.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/omni_bench
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/6
BENCH_CACHE_URL ?= redis://127.0.0.1:6379/7
BENCH_ENV = BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_BROKER_URL=$(BENCH_BROKER_URL) \
	BENCH_CACHE_URL=$(BENCH_CACHE_URL)
BENCH_ARGS ?=
LOAD_ARGS ?=

.PHONY: install run serve migrate demo test lint fmt worker beat bench load clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo_data

run: demo serve

serve: install
	@echo "Omni on http://$(HOST):$(PORT)/  admin: /admin/  API: /api/v1/  docs: /api/docs/"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A omni worker --loglevel=INFO

beat: install
	$(BIN)/celery -A omni beat --loglevel=INFO

# Every bench/ script against PostgreSQL + Redis; writes bench/report.md (BENCH_ARGS=--quick).
bench: install
	$(BENCH_ENV) $(BIN)/python bench/run_all.py $(BENCH_ARGS)

# The 2-minute locust storefront load test with the oversell and ledger checks.
load: install
	DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_BROKER_URL=$(BENCH_BROKER_URL) \
		CACHE_URL=$(BENCH_CACHE_URL) $(BIN)/python bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
