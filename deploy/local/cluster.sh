#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this machine, beside (never instead of) the shared broker on
# 5672: nodes s1@localhost..s3@localhost, AMQP 5681-5683, management 15681-15683, Erlang
# distribution 25681-25683, data and logs in .run/cluster/<node>/.
#
#   cluster.sh up                 start the missing nodes, join them to s1, wait until ready
#   cluster.sh down               stop every node (data kept; `clean` removes it)
#   cluster.sh kill N             SIGKILL node sN (a crash, for fault tests); `up` brings it back
#   cluster.sh status             nodes running and clustered
#   cluster.sh uri                the AMQP_URI naming all three nodes (kombu failover, ';')
#   cluster.sh clean              down, then delete .run/cluster
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE="$ROOT/.run/cluster"
NODES=(1 2 3)
log() { printf '[cluster] %s\n' "$*" >&2; }

node() { echo "s$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctl() { local n=$1; shift; rabbitmqctl -q -n "$(node "$n")" "$@"; }
running() { epmd -names 2>/dev/null | grep -q "^name s$1 at port"; }
pid_of() { ctl "$1" eval 'os:getpid().' 2>/dev/null | tr -d '"' || true; }
await_node() {  # the node registers with epmd a moment after -detached returns
  for _ in $(seq 120); do ctl "$1" await_startup --timeout 120 >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$(node "$1") did not start: see $BASE/s$1/log/"; return 1
}

prepare() {  # folders owned by the broker's user (Debian runs the server as `rabbitmq`)
  local n=$1 dir="$BASE/s$1"
  mkdir -p "$dir/mnesia" "$dir/log"
  echo "[rabbitmq_management]." >"$dir/enabled_plugins"
  cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.local = 127.0.0.1:$(amqp_port "$n")
management.tcp.port = $((15680 + n))
management.tcp.ip = 127.0.0.1
loopback_users = none
CONF
  chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null || true
}

start_node() {
  local n=$1 dir="$BASE/s$1"
  prepare "$n"
  log "starting $(node "$n") on AMQP $(amqp_port "$n")"
  RABBITMQ_NODENAME=$(node "$n") RABBITMQ_NODE_PORT=$(amqp_port "$n") \
    RABBITMQ_DIST_PORT=$((25680 + n)) RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/pid" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" rabbitmq-server -detached
}

clustered() {  # is node n a member of s1's cluster? (asked of node n itself: s1 may be down)
  ctl "$1" cluster_status --formatter json 2>/dev/null | python3 -c '
import json, sys
try:
    status = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
sys.exit(0 if sys.argv[1] in status.get("disk_nodes", []) else 1)' "$(node 1)"
}

up() {
  command -v rabbitmq-server >/dev/null || { log "rabbitmq-server is not installed (deploy/local/infra.sh up installs it)"; exit 1; }
  for n in "${NODES[@]}"; do running "$n" || start_node "$n"; done
  for n in "${NODES[@]}"; do await_node "$n"; done
  for n in 2 3; do
    if ! clustered "$n"; then
      log "joining $(node "$n") to $(node 1)"
      ctl "$n" stop_app >/dev/null
      ctl "$n" join_cluster "$(node 1)" >/dev/null
      ctl "$n" start_app >/dev/null
      await_node "$n"
    fi
  done
  for n in "${NODES[@]}"; do
    for _ in $(seq 300); do port_open $((15680 + n)) && break; sleep 0.1; done
  done
  log "ready: $(uri)"
}

down() {
  for n in "${NODES[@]}"; do
    if running "$n"; then log "stopping $(node "$n")"; ctl "$n" stop >/dev/null 2>&1 || true; fi
  done
}

kill_node() {
  local pid; pid=$(pid_of "$1")
  [ -n "$pid" ] || { log "$(node "$1") is not running"; return 1; }
  log "killing $(node "$1") (pid $pid)"
  kill -KILL "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

uri() {
  local uris=()
  for n in "${NODES[@]}"; do uris+=("pyamqp://guest:guest@127.0.0.1:$(amqp_port "$n")/"); done
  (IFS=';'; echo "${uris[*]}")
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) kill_node "${2:?node number 1-3}" ;;
  status) for n in "${NODES[@]}"; do
            if running "$n" && clustered "$n"; then echo "$(node "$n"): running, clustered"
            elif running "$n"; then echo "$(node "$n"): running"; else echo "$(node "$n"): down"; fi
          done ;;
  uri) uri ;;
  clean) down; rm -rf "$BASE" ;;
  *) echo "usage: $0 up|down|kill N|status|uri|clean" >&2; exit 2 ;;
esac
