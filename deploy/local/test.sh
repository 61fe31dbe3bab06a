#!/usr/bin/env bash
# `make test`: lint, validate Compose, start what infrastructure is missing, run pytest, stop
# what this script started (even when the tests fail).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python

$PY -m ruff check .
deploy/local/compose-check.sh

trap 'deploy/local/infra.sh down' EXIT
deploy/local/infra.sh up
$PY -m pytest -q -p no:warnings "$@"
