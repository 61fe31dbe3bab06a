#!/usr/bin/env bash
# `make run` / `make stop` on a machine without Docker: infrastructure, one `nameko run` process
# per service (logs in .run/logs/), the demo community loaded through the registry's RPC.
# `make run SCALE=2`: two processes of each service, competing consumers on the same queues
# (instance n>1 logs to <service>.n.log; a second gateway listens on the next port).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RUN=.run
PY=.venv/bin/python
export PYTHONWARNINGS=ignore::DeprecationWarning
# eventlet prints its deprecation banner at import (a Warning, not a DeprecationWarning, so the
# line above misses it); this variable is its only switch, and the banner is not for operators
export EVENTLET_TESTS=1
mkdir -p "$RUN/logs" "$RUN/pids"

services() {  # every service that exists, registry first (others call it)
  local all; all=$(ls services/*/service.py 2>/dev/null | cut -d/ -f2 | grep -v '^registry$' || true)
  [ -f services/registry/service.py ] && echo registry
  echo "$all"
}

SCALE=${SCALE:-1}
instances() {  # registry registry.2 ...: instance 1 keeps the plain name
  echo "$1"; for ((n = 2; n <= SCALE; n++)); do echo "$1.$n"; done
}

gateway_address() {  # instance n of the gateway listens n-1 ports above the first
  local base=${GATEWAY_ADDRESS:-127.0.0.1:8000}
  echo "${base%:*}:$((${base##*:} + $1 - 1))"
}

BROKER_URI=${AMQP_URI:-pyamqp://guest:guest@127.0.0.1:5672/}

# Locally each service's database has a server of its own (.run/mongo-<service>*, ports from
# 27017 in the order of `services`): SecantusDB runs in one Python process, one core at most, and
# each service owns its database anyway. With MONGO_URI set, every service uses that server.
database_port() {
  local n=0 s
  for s in $(services); do
    [ "$s" = "$1" ] && { echo $((${MONGO_BASE_PORT:-27017} + n)); return; }
    n=$((n + 1))
  done
}

database_uri() {
  if [ -n "${MONGO_URI:-}" ]; then echo "$MONGO_URI"; return; fi
  echo "mongodb://127.0.0.1:$(database_port "$1")/?directConnection=true&retryWrites=false"
}

databases() {  # up | down
  if [ -n "${MONGO_URI:-}" ]; then deploy/local/infra.sh "$1" mongo; return; fi
  local pids=() service
  for service in $(services); do
    MONGO_NAME="mongo-$service" MONGO_PORT=$(database_port "$service") deploy/local/infra.sh "$1" mongo &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done  # each fails the whole if it failed
}

account_uri() {  # service scheme: its own account (infra.sh users) on the broker of BROKER_URI;
  # BROKER_URI itself when the broker is not local (its accounts are its operator's)
  $PY - "$BROKER_URI" "${RABBIT_API_URI:-http://127.0.0.1:15672}" "$1" "$2" "$RUN/broker" <<'PY'
import os, sys, urllib.parse as u
amqp, api, user, scheme, folder = sys.argv[1:]
p, password = u.urlsplit(amqp if scheme == "amqp" else api), os.path.join(folder, user)
if u.urlsplit(amqp).hostname not in ("127.0.0.1", "localhost") or not os.path.exists(password):
    print(amqp if scheme == "amqp" else "")
else:
    netloc = f"{user}:{open(password).read().strip()}@{p.hostname}:{p.port or (5672 if scheme == 'amqp' else 15672)}"
    print(u.urlunsplit((p.scheme, netloc, (p.path or "/") if scheme == "amqp" else "", "", "")))
PY
}

start() {
  started=$(date +%s)
  deploy/local/infra.sh up rabbitmq
  databases up
  for service in $(services); do database_uri "$service" >"$RUN/mongo_uri.$service"; done  # for tools
  deploy/local/infra.sh users
  # the operator's URI (make queues, health checks, demo loads: guest, the local administrator)
  echo "$BROKER_URI" >"$RUN/amqp_uri"
  for service in $(services); do
    for instance in $(instances "$service"); do
      pidfile="$RUN/pids/$instance.pid"
      if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "[run] $instance already running (pid $(cat "$pidfile"))"; continue
      fi
      n=${instance#"$service"}; n=${n#.}
      api=()  # the console reads queues through the management API on the gateway's account
      [ "$service" = gateway ] && [ -n "$(account_uri gateway http)" ] && api=(RABBIT_API_URI="$(account_uri gateway http)")
      env "${api[@]}" AMQP_URI="$(account_uri "$service" amqp)" MONGO_URI="$(database_uri "$service")" \
        GATEWAY_ADDRESS="$(gateway_address "${n:-1}")" \
        nohup .venv/bin/nameko run \
        --config deploy/nameko.yaml "services.$service.service" >>"$RUN/logs/$instance.log" 2>&1 &
      echo $! >"$pidfile"
      echo "[run] started $instance (pid $!)"
    done
  done
  for service in $(services); do
    healthy=
    for _ in $(seq 60); do
      $PY -m deploy.healthcheck "$service" --quiet --timeout 2 && { healthy=1; break; }
      kill -0 "$(cat "$RUN/pids/$service.pid")" 2>/dev/null || { echo "[run] $service died: see $RUN/logs/$service.log"; exit 1; }
      sleep 0.5
    done
    [ -n "$healthy" ] || { $PY -m deploy.healthcheck "$service"; exit 1; }  # its report says why
  done
  echo "[run] healthy (broker, database, outbox relay): $(services | tr '\n' ' ')"
  # the economy beside the community, then the night market, then the console's accounts
  # (the console's demo accounts go into the gateway's database: .run/mongo_uri.gateway)
  $PY -m deploy.demo
  # ready means: every service healthy, the demo loaded, and what it caused handled
  # shellcheck disable=SC2046
  $PY -m deploy.queues wait $(services)
  cat <<INFO

Sunshine Cloud is ready, in $(( $(date +%s) - started )) s.
  services       $(services | tr '\n' ' ') (${SCALE} instance(s) each)
  logs (JSON)    make logs            (.run/logs/<service>.log)
  databases      $(for s in $(services); do printf '%s %s  ' "$s" "$(database_uri "$s" | sed 's|mongodb://||; s|/?.*||')"; done)
  queues         make queues          dead letters: make dlq   replay: SERVICE=<name> make replay
  HTTP API       http://${GATEWAY_ADDRESS:-127.0.0.1:8000}   (docs: /docs, OpenAPI: /openapi.json, metrics: /metrics)
  RabbitMQ UI    http://127.0.0.1:15672  (guest/guest)
  stop           make stop
INFO
}

stop() {
  for pidfile in "$RUN"/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "[run] stopped $(basename "$pidfile" .pid)"
    fi
    rm -f "$pidfile"
  done
  databases down
  deploy/local/infra.sh down  # RabbitMQ, and a single server an earlier version started
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
