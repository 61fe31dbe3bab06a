"""The gateway's cost: HTTP p50/p99 for a read and a write at 1, 10 and 50 concurrent clients on
loopback, next to the bare RPC figure for the same operation from the same run.

    .venv/bin/python bench/bench_gateway.py [--calls 200] [--concurrency 1,10,50]

gateway, registry and grid_events run in one `nameko`-style runner in a child process (their own
RabbitMQ vhost, removed afterwards, and a private database server from bench/support.py); this
process drives both kinds of client with green threads, so the two columns pay the same client
costs:

- read:  GET /v1/incidents/{id}  vs  grid_events.get_incident(id)
- write: POST /v1/incidents      vs  grid_events.report_incident({...})

The HTTP path adds: parsing, the token check (a signature and one indexed read of revocations),
the edge policy, one RPC, JSON out, the access log and metrics. Assumes RabbitMQ at
127.0.0.1:5672 with management on 15672.
"""

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.bench_grid_events import _api  # noqa: E402
from bench.support import private_server  # noqa: E402

HOST = os.environ.get("AMQP_HOST", "127.0.0.1")
ACTOR = {"actor": {"id": "bench", "role": "community_admin", "grid": None}}
PASSWORD = "bench password 1"

CHILD = """
import eventlet; eventlet.monkey_patch()
import json, os, sys
sys.path.insert(0, os.getcwd())
from nameko.runners import ServiceRunner
from pymongo import MongoClient
from services.gateway import use_cases
from services.gateway.service import GatewayService
from services.grid_events.service import GridEventsService
from services.registry.service import RegistryService
from shared import clock
config = json.loads(os.environ["BENCH_CONFIG"])
db = MongoClient(config["MONGO_URI"], tz_aware=True)[config["MONGO_DB_PREFIX"] + "gateway"]
use_cases.create_account(db, use_cases.Passwords(1, 8192), {"username": "bench-admin",
                         "password": os.environ["BENCH_PASSWORD"], "role": "community_admin"}, clock.now())
runner = ServiceRunner(config)
for cls in (GatewayService, GridEventsService, RegistryService):
    runner.add_service(cls)
runner.start()
print("ready", flush=True)
runner.wait()
"""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _ms(value):
    return "-" if value is None else f"{value:.1f}"


def _report(n):
    return {"category": "noise", "description": f"噪音 {n}", "address": {"building": "B1", "unit": "1",
                                                                        "room": str(100 + n % 50)}}


def run(concurrency, calls, make_client, operation):
    """`calls` operations over `concurrency` green clients; (p50 ms, p99 ms, per second, errors)."""
    per_client = max(1, calls // concurrency)
    clients = [make_client() for _ in range(concurrency)]
    times, errors = [], []

    def work(client, offset):
        for n in range(per_client):
            started = time.perf_counter()
            try:
                operation(client, offset + n)
                times.append((time.perf_counter() - started) * 1000)
            except Exception as exc:
                errors.append(repr(exc))

    started = time.monotonic()
    pool = eventlet.GreenPool(concurrency)
    for i, client in enumerate(clients):
        pool.spawn(work, client, i * per_client)
    pool.waitall()
    elapsed = time.monotonic() - started
    for client in clients:
        if isinstance(client, requests.Session):
            client.close()
    if not times:
        return None, None, 0, len(errors)
    return statistics.median(times), _percentile(times, 0.99), len(times) / elapsed, len(errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", default="1,10,50")
    args = parser.parse_args()
    mongo_uri, stop_server = private_server("gateway")
    vhost = f"bench-gateway-{uuid.uuid4().hex[:6]}"
    _api("PUT", f"/vhosts/{vhost}")
    _api("PUT", f"/permissions/{vhost}/guest", b'{"configure":".*","write":".*","read":".*"}')
    port = _free_port()
    config = {"AMQP_URI": f"pyamqp://guest:guest@{HOST}:5672/{vhost}", "MONGO_URI": mongo_uri,
              "MONGO_DB_PREFIX": f"bench_gw_{uuid.uuid4().hex[:6]}_", "max_workers": 60,
              "serializer": "json", "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
              "GATEWAY": {"secret": "b" * 40, "argon2": {"time_cost": 1, "memory_kib": 8192}},
              "LOGGING": {"version": 1}}
    env = {**os.environ, "BENCH_CONFIG": json.dumps(config), "BENCH_PASSWORD": PASSWORD}
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=env, text=True)
    rows = []
    try:
        assert child.stdout.readline().strip() == "ready", "the services did not start"
        base = f"http://127.0.0.1:{port}"
        token = requests.post(f"{base}/v1/auth/login", json={"username": "bench-admin", "password": PASSWORD},
                              timeout=30).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with ClusterRpcProxy(config, context_data=ACTOR) as cluster:
            cluster.registry.define_grid({"code": "G1", "name": "一格", "buildings": ["B1"]})
            cluster.registry.assign_grid_staff({"grid_code": "G1", "role": "grid_worker", "name": "网格员",
                                                "phone": "13800138000"})
            incident_id = cluster.grid_events.report_incident(_report(0))["incident_id"]

        def http_client():
            session = requests.Session()
            session.headers.update(headers)
            return session

        proxies = []

        def rpc_client():
            proxy = ClusterRpcProxy(config, context_data=ACTOR)
            proxies.append(proxy)
            return proxy.start()

        operations = {
            ("read", "HTTP"): (http_client, lambda s, n: s.get(f"{base}/v1/incidents/{incident_id}",
                                                               timeout=60).raise_for_status()),
            ("read", "RPC"): (rpc_client, lambda c, n: c.grid_events.get_incident(incident_id)),
            ("write", "HTTP"): (http_client, lambda s, n: s.post(f"{base}/v1/incidents", json=_report(n),
                                                                 timeout=60).raise_for_status()),
            ("write", "RPC"): (rpc_client, lambda c, n: c.grid_events.report_incident(_report(n))),
        }
        for kind in ("read", "write"):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                figures = {}
                for via in ("HTTP", "RPC"):
                    make, op = operations[(kind, via)]
                    run(1, 10, make, op)  # warm up
                    figures[via] = run(concurrency, args.calls, make, op)
                    for proxy in proxies:
                        proxy.stop()
                    proxies.clear()
                http, rpc = figures["HTTP"], figures["RPC"]
                rows.append({"operation": kind, "clients": concurrency,
                             "http_p50_ms": _ms(http[0]), "http_p99_ms": _ms(http[1]),
                             "http_per_s": f"{http[2]:.0f}", "rpc_p50_ms": _ms(rpc[0]),
                             "rpc_p99_ms": _ms(rpc[1]), "rpc_per_s": f"{rpc[2]:.0f}",
                             "p50_ratio": f"{http[0] / rpc[0]:.2f}" if http[0] and rpc[0] else "-",
                             "errors": http[3] + rpc[3]})
                print(f"  done: {rows[-1]}", file=sys.stderr)
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
        stop_server()
        _api("DELETE", f"/vhosts/{vhost}")
    columns = list(rows[0]) if rows else []
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print(f"gateway bench: HTTP through the gateway vs bare RPC, {args.calls} calls per cell, loopback, "
          f"services in one child process, RabbitMQ + SecantusDB on this machine")
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-|-".join("-" * widths[c] for c in columns))
    for r in rows:
        print(" | ".join(str(r[c]).ljust(widths[c]) for c in columns))


if __name__ == "__main__":
    main()
