# loanwatch — two commands on a fresh machine:
#   make demo   simulate a portfolio, replay it through the real core, report (no broker needed)
#   make test   install what the tests need, start a real Kafka and PostgreSQL, run every test
#
# The virtual environment lives in .venv; the Kafka jars in ~/.cache/loanwatch (outside the repo).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint kafka-jars postgres tools clean bench help

help:
	@echo "make demo | make test | make test-fast (no broker) | make lint | make bench | make clean"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

kafka-jars: $(STAMP)
	$(BIN)/python deploy/kafka/broker.py fetch

postgres:
	bash deploy/postgres/ensure-postgres.sh

tools:
	bash deploy/ensure-tools.sh

lint: $(STAMP)
	$(BIN)/ruff check streams detectors alerts tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP) kafka-jars postgres tools
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not kafka and not postgres"

demo: $(STAMP)
	$(BIN)/loanwatch demo --out demo-out

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info demo-out
