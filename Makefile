# Sunshine Cloud (阳光云). `make run` runs the platform with a demo community; `make test` tests it.
# Both set up everything they need on a fresh machine: venv, RabbitMQ, MongoDB-compatible server.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONWARNINGS := ignore::DeprecationWarning
# eventlet's banner at import is a Warning, not a DeprecationWarning; this is its only switch
export EVENTLET_TESTS := 1

.PHONY: run stop test browser-test unit lint faults bench queues dlq replay logs docs venv infra infra-down compose-check clean cluster-test

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

infra: venv
	@deploy/local/infra.sh up

infra-down:
	@deploy/local/infra.sh down

run: venv            ## start infra and every service, load the demo community (SCALE=2: two of each)
	@deploy/local/run.sh start

stop:                ## stop the services and whatever infrastructure `make run` started
	@deploy/local/run.sh stop

test: venv           ## lint, Compose validation, then pytest on real infrastructure (T=path to narrow)
	@deploy/local/test.sh $(T)

browser-test: venv   ## only the console's tests (headless Chromium; part of `make test` too)
	@deploy/local/test.sh tests/e2e/console

unit: venv           ## the fast ring only: no broker, no database
	@$(PY) -m pytest -q tests/unit

lint: venv
	@$(PY) -m ruff check .

docs: venv           ## regenerate docs/events.md (event catalogue) and docs/access.md (access policies)
	@$(PY) -m shared.events.docs > docs/events.md
	@$(PY) -m shared.access_docs > docs/access.md

faults: venv         ## the long fault suite: private broker node + database, kills, outages, a table
	@$(PY) -m tests.faults.suite $(if $(COMMANDS),--commands $(COMMANDS))

bench: venv          ## repeatable measurements, printed as tables (each on a private database server)
	@deploy/local/infra.sh up rabbitmq
	@for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

queues: venv         ## every queue of the platform: depth, consumers, rates
	@$(PY) -m deploy.queues list

dlq: venv            ## dead-lettered messages and why (SERVICE=name to narrow)
	@$(PY) -m deploy.queues dlq $(SERVICE)

replay: venv         ## after a fix: SERVICE=name make replay
	@$(PY) -m deploy.queues replay $(SERVICE)

logs:                ## follow the services' JSON logs
	@tail -F .run/logs/*.log

cluster-test: venv   ## a 3-node RabbitMQ cluster (deploy/local/cluster.sh), one node killed mid-burst (minutes)
	@deploy/local/cluster.sh up
	@CLUSTER_TEST=1 deploy/local/test.sh tests/cluster

compose-check:
	@deploy/local/compose-check.sh

clean: stop
	rm -rf .run
