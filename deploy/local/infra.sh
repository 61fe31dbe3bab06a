#!/usr/bin/env bash
# Local infrastructure for `make run`, `make test` and CI: RabbitMQ (with the management API)
# and a MongoDB-compatible server. Uses what is already reachable; installs and starts only
# what is missing, and remembers what it started so `down` stops exactly that.
#
#   infra.sh up [rabbitmq|mongo]   start what is missing (both by default), wait until ready
#   infra.sh users                  the services' broker accounts on the local broker (make run)
#   infra.sh down [rabbitmq|mongo]  stop what `up` started (and nothing else)
#   infra.sh status                 say what is reachable
# MONGO_NAME names a local server's files in .run/ (pid, data, log; default "mongo"): make run
# starts one server per service (deploy/local/run.sh), each with its name and MONGO_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUN="$ROOT/.run"
VENV="${VENV:-$ROOT/.venv}"
# host and port of a URI (the first host of a MongoDB seed list)
host_port() {
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1].split(",")[0]); print(p.hostname, p.port or sys.argv[2])' "$1" "$2"
}
read -r AMQP_HOST AMQP_PORT <<<"$(host_port "${AMQP_URI:-amqp://127.0.0.1:5672/}" 5672)"
read -r MONGO_HOST MONGO_PORT <<<"$(host_port "${MONGO_URI:-mongodb://127.0.0.1:${MONGO_PORT:-27017}/}" 27017)"
MGMT_PORT=15672
MONGO_NAME=${MONGO_NAME:-mongo}
mkdir -p "$RUN"

log() { printf '[infra] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {  # host port seconds what
  local i
  for ((i = 0; i < $3 * 10; i++)); do port_open "$1" "$2" && return 0; sleep 0.1; done
  log "$4 did not open $1:$2 within $3 s"; return 1
}

rabbit_up() {
  if ! port_open "$AMQP_HOST" "$AMQP_PORT"; then
    if [ "$AMQP_HOST" != 127.0.0.1 ] && [ "$AMQP_HOST" != localhost ]; then
      log "RabbitMQ at $AMQP_HOST:$AMQP_PORT (AMQP_URI) is not reachable"; return 1
    fi
    if ! command -v rabbitmq-server >/dev/null; then
      log "installing rabbitmq-server (Debian package)"
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null
    fi
    log "starting RabbitMQ"
    rabbitmq-server -detached
    rabbitmqctl -q await_startup >/dev/null
    touch "$RUN/rabbitmq.started-by-us"
  fi
  if ! port_open $AMQP_HOST $MGMT_PORT; then
    log "enabling rabbitmq_management (queue monitoring, test vhosts)"
    rabbitmq-plugins -q enable rabbitmq_management >/dev/null
  fi
  wait_port $AMQP_HOST $AMQP_PORT 60 RabbitMQ
  wait_port $AMQP_HOST $MGMT_PORT 60 "RabbitMQ management"
}

rabbit_users() {
  # One account per service, its permissions from deploy/broker.py (docs/stack.md), imported with
  # rabbitmqctl: created, or updated to the passwords in .run/broker/ (made on first use, mode
  # 600). Idempotent; no other account (guest, the local administrator) is touched.
  if [ "$AMQP_HOST" != 127.0.0.1 ] && [ "$AMQP_HOST" != localhost ]; then
    log "RabbitMQ at $AMQP_HOST is not local: its accounts are its operator's (python -m deploy.broker)"
    return 0
  fi
  local vhost
  vhost=$("$VENV/bin/python" -c 'import sys; from kombu import Connection; print(Connection(sys.argv[1]).virtual_host or "/")' \
    "${AMQP_URI:-amqp://127.0.0.1:5672/}")
  log "broker accounts of the services on vhost $vhost (passwords in .run/broker/)"
  PYTHONWARNINGS=ignore EVENTLET_TESTS=1 "$VENV/bin/python" -m deploy.broker local --passwords "$RUN/broker" \
    --vhost "$vhost" | rabbitmqctl -q import_definitions >/dev/null
}

rabbit_down() {
  if [ -f "$RUN/rabbitmq.started-by-us" ]; then
    log "stopping RabbitMQ"
    rabbitmqctl -q stop >/dev/null 2>&1 || true
    rm -f "$RUN/rabbitmq.started-by-us"
  fi
}

mongo_up() {
  if port_open "$MONGO_HOST" "$MONGO_PORT"; then return 0; fi
  if [ "$MONGO_HOST" != 127.0.0.1 ] && [ "$MONGO_HOST" != localhost ]; then
    log "MongoDB at $MONGO_HOST:$MONGO_PORT (MONGO_URI) is not reachable"; return 1
  fi
  if [ ! -x "$VENV/bin/secantusd-py" ]; then
    log "secantusdb is missing from $VENV: run 'make venv' first"; return 1
  fi
  log "starting SecantusDB (MongoDB-compatible) on $MONGO_HOST:$MONGO_PORT ($MONGO_NAME)"
  mkdir -p "$RUN/$MONGO_NAME-data"
  # --sync-on-commit: a commit is on disk before it is acknowledged, so a kill -9 of the server
  # loses no acknowledged write (without it, recent commits wait in WiredTiger's log buffer).
  nohup "$VENV/bin/secantusd-py" --host $MONGO_HOST --port "$MONGO_PORT" --sync-on-commit \
    --storage-path "$RUN/$MONGO_NAME-data" --log-level WARNING >"$RUN/$MONGO_NAME.log" 2>&1 &
  echo $! >"$RUN/$MONGO_NAME.pid"
  wait_port $MONGO_HOST "$MONGO_PORT" 60 SecantusDB
}

mongo_down() {
  if [ -f "$RUN/$MONGO_NAME.pid" ]; then
    local pid; pid=$(cat "$RUN/$MONGO_NAME.pid")
    log "stopping SecantusDB (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$RUN/$MONGO_NAME.pid"
  fi
}

case "${1:-}" in
  up)
    case "${2:-all}" in
      rabbitmq) rabbit_up ;;
      mongo) mongo_up ;;
      all) rabbit_up; mongo_up; log "ready: amqp://$AMQP_HOST:$AMQP_PORT, mongodb://$MONGO_HOST:$MONGO_PORT" ;;
      *) echo "usage: $0 up [rabbitmq|mongo]" >&2; exit 2 ;;
    esac ;;
  down)
    case "${2:-all}" in
      rabbitmq) rabbit_down ;;
      mongo) mongo_down ;;
      all) mongo_down; rabbit_down ;;
      *) echo "usage: $0 down [rabbitmq|mongo]" >&2; exit 2 ;;
    esac ;;
  users) rabbit_users ;;
  status)
    port_open $AMQP_HOST $AMQP_PORT && echo "rabbitmq: up" || echo "rabbitmq: down"
    port_open $AMQP_HOST $MGMT_PORT && echo "rabbitmq management: up" || echo "rabbitmq management: down"
    port_open $MONGO_HOST "$MONGO_PORT" && echo "mongodb: up" || echo "mongodb: down" ;;
  *) echo "usage: $0 up|users|down|status" >&2; exit 2 ;;
esac
