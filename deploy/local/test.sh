#!/usr/bin/env bash
# `make test`: lint, validate Compose, make sure RabbitMQ (with management) runs, then pytest.
# Unless MONGO_URI names a server to use, the tests get a disposable MongoDB-compatible server of
# their own (empty, on a free port, deleted afterwards): a `make run` platform's data is never
# touched, and no test database needs dropping (see tests/conftest.py). Whatever this script
# starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
mkdir -p .run

$PY -m ruff check .
deploy/local/compose-check.sh
# The console's browser tests drive Debian's Chromium; its screenshots need a CJK font (without one
# Chinese renders as boxes). Each is installed from Debian when missing.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test] installing ${missing[*]} (Debian packages) for the console's browser tests" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

cleanup() {
  [ -n "${TEST_DB_PID:-}" ] && { kill -TERM "$TEST_DB_PID" 2>/dev/null; wait "$TEST_DB_PID" 2>/dev/null || true; }
  [ -n "${TEST_DB_DIR:-}" ] && rm -rf "$TEST_DB_DIR"
  # only what this run started (not what a running `make run` platform uses)
  [ -n "${STARTED_RABBITMQ:-}" ] && deploy/local/infra.sh down rabbitmq
  [ -n "${STARTED_MONGO:-}" ] && deploy/local/infra.sh down mongo
  return 0
}
trap cleanup EXIT
[ -f .run/rabbitmq.started-by-us ] || STARTED_RABBITMQ=maybe
deploy/local/infra.sh up rabbitmq
[ -f .run/rabbitmq.started-by-us ] || STARTED_RABBITMQ=

if [ -n "${MONGO_URI:-}" ]; then  # the server named: use it, or start one there if it is local
  [ -f .run/mongo.pid ] || STARTED_MONGO=maybe
  deploy/local/infra.sh up mongo
  [ -f .run/mongo.pid ] || STARTED_MONGO=
else
  TEST_DB_DIR=$(mktemp -d /tmp/sunshine-test-db.XXXXXX)
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  .venv/bin/secantusd-py --host 127.0.0.1 --port "$port" --storage-path "$TEST_DB_DIR" \
    --log-level WARNING >.run/test-db.log 2>&1 &
  TEST_DB_PID=$!
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  export MONGO_URI="mongodb://127.0.0.1:$port/?directConnection=true&retryWrites=false"
  echo "[test] disposable database server on 127.0.0.1:$port" >&2
fi
# Everything, the console's browser tests and the short fault suite included (`make faults` is
# the long one); T=path narrows it.
$PY -m pytest -q -p no:warnings "$@"
