# sahelwatch: every target sets up what it needs (venv, Kafka jars) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
KAFKA := deploy/kafka/kafka.sh

.PHONY: help install demo test test-unit test-integration lint bench profile kafka-up kafka-down worker clean

help:
	@echo "make demo     start Kafka and a worker, publish the sample articles, show what comes out, stop"
	@echo "make test     unit tests, then integration tests on the real local broker"
	@echo "make lint     ruff and mypy"
	@echo "make bench    measure cleaning, dedup, tagging, alerts, end-to-end speed and table recovery on the local broker (.local/bench/)"
	@echo "make profile  sample one worker with py-spy while it drains 20,000 articles"
	@echo "make kafka-up / kafka-down   the local Kafka 3.9.1 broker (127.0.0.1:9092)"
	@echo "make worker   run a worker in the foreground against the local broker"

$(STAMP): pyproject.toml deploy/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c deploy/constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

kafka-up: $(STAMP)
	$(KAFKA) up
	$(BIN)/sahelwatch topics create

kafka-down:
	$(KAFKA) down

worker: $(STAMP)
	$(BIN)/sahelwatch worker

demo: $(STAMP)
	deploy/demo.sh

test: $(STAMP)
	$(KAFKA) fetch
	deploy/with-kafka.sh $(BIN)/pytest -q -p no:cacheprovider tests

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)
	deploy/with-kafka.sh $(BIN)/pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/clean_dedup.py
	$(BIN)/python bench/tagging.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/pool_round_trip.py
	$(KAFKA) fetch
	deploy/with-kafka.sh $(BIN)/python bench/stream.py
	deploy/with-kafka.sh $(BIN)/python bench/recovery.py

profile: $(STAMP)
	$(KAFKA) fetch
	deploy/with-kafka.sh $(BIN)/python bench/stream.py --runs one --articles 20000 \
		--profile .local/bench/worker-profile.txt --out .local/bench/profile.json

clean:
	rm -rf .local/worker .pytest_cache .mypy_cache .ruff_cache
