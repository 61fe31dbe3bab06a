"""report_incident latency and throughput: routed from grid_events' read models, and (the way it
was before, now only the fallback) by registry RPCs, both in one run.

    .venv/bin/python bench/bench_grid_events.py [--calls 300] [--concurrency 1,5,10]

Runs grid_events and registry in-process (their own RabbitMQ vhost, removed afterwards, and a
private database server from bench/support.py; `--shared` uses MONGO_URI) and times
`report_incident` through a standalone RPC client:

- latency, local: sequential calls, one client; each report is routed from the `grids` and
  `staff` read models (built from registry.grid_defined / grid_staff_assigned), then a duplicate
  query and one transaction (incident + 2 outbox events);
- latency, registry RPC: the same with the read models emptied, so every report takes the
  fallback path of a grid not heard of: 1-3 registry RPCs (grid_of_address, get_grid, list_staff
  for police categories), as every report did before;
- throughput: N greenthreads, one RPC client each, over the same number of calls.

Assumes RabbitMQ at 127.0.0.1:5672 (management 15672; override with AMQP_HOST).
"""

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from bench.support import management_api, private_server  # noqa: E402
from services.grid_events.service import GridEventsService  # noqa: E402
from services.registry.service import RegistryService  # noqa: E402

HOST = os.environ.get("AMQP_HOST", "127.0.0.1")
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false")
ADMIN = {"actor": {"id": "bench", "role": "community_admin"}}
GRIDS = [(f"G{i}", [f"B{i}{j}" for j in range(1, 6)]) for i in range(1, 8)]  # 7 grids, 5 buildings each


def _report(n, kind):
    grid, buildings = GRIDS[n % len(GRIDS)]
    building = buildings[n % len(buildings)]
    if kind == "grid":
        return {"category": "sanitation", "description": f"垃圾满溢 {n}", "grid_code": grid}
    if kind == "police":
        return {"category": "public_order", "description": f"打架 {n}", "address": {"building": building}}
    return {"category": "noise", "description": f"噪音 {n}",
            "address": {"building": building, "unit": "1", "room": str(100 + n % 30)},
            "location": {"lat": 22.54 + (n % 50) * 0.001, "lng": 114.05}}


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def latency(config, calls, kind, routing="local"):
    with ClusterRpcProxy(config, context_data=ADMIN) as cluster:
        for n in range(20):  # warm up
            cluster.grid_events.report_incident(_report(n, kind))
        times = []
        for n in range(calls):
            started = time.perf_counter()
            cluster.grid_events.report_incident(_report(n, kind))
            times.append((time.perf_counter() - started) * 1000)
    return {"scenario": f"latency, {kind}, {routing}", "calls": calls, "concurrency": 1,
            "median_ms": f"{statistics.median(times):.1f}", "p95_ms": f"{_percentile(times, 0.95):.1f}",
            "p99_ms": f"{_percentile(times, 0.99):.1f}", "per_s": f"{calls / (sum(times) / 1000):.0f}"}


def throughput(config, calls, concurrency, kind):
    per_client = calls // concurrency
    proxies = [ClusterRpcProxy(config, context_data=ADMIN) for _ in range(concurrency)]
    clusters = [p.start() for p in proxies]
    times, errors = [], []

    def client(cluster, offset):
        for n in range(per_client):
            started = time.perf_counter()
            try:
                cluster.grid_events.report_incident(_report(offset + n, kind))
                times.append((time.perf_counter() - started) * 1000)
            except Exception as exc:  # a write conflict would show here
                errors.append(repr(exc))

    try:
        started = time.monotonic()
        pool = eventlet.GreenPool(concurrency)
        for i, cluster in enumerate(clusters):
            pool.spawn(client, cluster, i * per_client)
        pool.waitall()
        elapsed = time.monotonic() - started
    finally:
        for p in proxies:
            p.stop()
    return {"scenario": f"throughput, {kind}", "calls": per_client * concurrency, "concurrency": concurrency,
            "median_ms": f"{statistics.median(times):.1f}", "p95_ms": f"{_percentile(times, 0.95):.1f}",
            "p99_ms": f"{_percentile(times, 0.99):.1f}", "per_s": f"{len(times) / elapsed:.0f}",
            "errors": len(errors)}


def _wait_for_read_models(model, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        staff = model.staff.count_documents({})
        if model.grids.count_documents({}) == len(GRIDS) and staff == len(GRIDS) + 1:  # + police desk
            return
        time.sleep(0.2)
    raise RuntimeError("grid_events did not hear of every grid and staff post")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", default="1,5,10")
    parser.add_argument("--shared", action="store_true", help="use the server at MONGO_URI")
    args = parser.parse_args()
    mongo_uri, stop_server = (MONGO_URI, None) if args.shared else private_server("grid-events")
    vhost = f"bench-grid-events-{uuid.uuid4().hex[:6]}"
    prefix = f"bench_grid_{uuid.uuid4().hex[:6]}_"
    management_api("PUT", f"/vhosts/{vhost}")
    management_api("PUT", f"/permissions/{vhost}/guest", b'{"configure":".*","write":".*","read":".*"}')
    config = {"AMQP_URI": f"pyamqp://guest:guest@{HOST}:5672/{vhost}", "MONGO_URI": mongo_uri,
              "MONGO_DB_PREFIX": prefix, "max_workers": 10, "OUTBOX_POLL_SECONDS": 1.0,
              "serializer": "json"}
    client = MongoClient(mongo_uri, tz_aware=True)
    runner = ServiceRunner(config)
    runner.add_service(GridEventsService)
    runner.add_service(RegistryService)
    runner.start()
    rows = []
    try:
        with ClusterRpcProxy(config, context_data=ADMIN) as cluster:
            for code, buildings in GRIDS:
                cluster.registry.define_grid({"code": code, "name": f"网格{code}", "buildings": buildings})
                cluster.registry.assign_grid_staff({"grid_code": code, "role": "grid_worker",
                                                    "name": f"网格员{code}", "phone": "13800138000"})
            cluster.registry.assign_grid_staff({"grid_code": None, "role": "police_desk", "name": "警务室",
                                                "phone": "13800138001"})
        model = client[f"{prefix}grid_events"]
        _wait_for_read_models(model)
        saved = {name: list(model[name].find()) for name in ("grids", "staff")}
        for name in saved:  # a grid not heard of: routed by registry RPCs, as before
            model[name].delete_many({})
        for kind in ("address", "grid", "police"):
            rows.append(latency(config, args.calls, kind, routing="registry RPC (before)"))
            print(f"  done: {rows[-1]}", file=sys.stderr)
        for name, docs in saved.items():
            model[name].insert_many(docs)
        for kind in ("address", "grid", "police"):
            rows.append(latency(config, args.calls, kind, routing="local read model"))
            print(f"  done: {rows[-1]}", file=sys.stderr)
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            rows.append(throughput(config, args.calls, concurrency, "address"))
            print(f"  done: {rows[-1]}", file=sys.stderr)
        incidents = client[f"{prefix}grid_events"].incidents.count_documents({})
    finally:
        runner.stop()
        client.close()
        if stop_server:
            stop_server()
        management_api("DELETE", f"/vhosts/{vhost}")
    columns = ["scenario", "calls", "concurrency", "median_ms", "p95_ms", "p99_ms", "per_s", "errors"]
    widths = {c: max(len(c), *(len(str(r.get(c, "-"))) for r in rows)) for c in columns}
    print(f"grid_events bench: report_incident, 1 process each (grid_events, registry) in one runner, "
          f"RabbitMQ + SecantusDB on this machine; {incidents} incidents written")
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-|-".join("-" * widths[c] for c in columns))
    for r in rows:
        print(" | ".join(str(r.get(c, "-")).ljust(widths[c]) for c in columns))


if __name__ == "__main__":
    main()
