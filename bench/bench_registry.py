"""Registry bench: load the demo community through the service, then read latencies.

    .venv/bin/python bench/bench_registry.py [--households 4000] [--reads 300]

Assumes RabbitMQ (5672, management 15672) is up. Runs the real service as a `nameko run`
subprocess on its own vhost, against a throwaway private SecantusDB (so other work on the shared
server does not blur the figures; `--shared` uses MONGO_URI instead, with its own database prefix),
and removes all of it after.
Prints a table: generation and load time, residents/s, get_resident and find_residents latency.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from pymongo import MongoClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import private_server  # noqa: E402
from services.registry import demo  # noqa: E402

VHOST = "bench_registry"
PREFIX = "bench_registry_"
MANAGEMENT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
SHARED_MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false")
AMQP_URI = f"pyamqp://guest:guest@127.0.0.1:5672/{VHOST}"


def setup_vhost():
    requests.put(f"{MANAGEMENT}/vhosts/{VHOST}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(f"{MANAGEMENT}/permissions/{VHOST}/guest", auth=AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()


def teardown(service, mongo, keep=False):
    if service is not None and service.poll() is None:
        service.terminate()
        try:
            service.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.kill()
    for name in mongo.list_database_names():
        if name.startswith(PREFIX) and not keep:
            mongo.drop_database(name)
    requests.delete(f"{MANAGEMENT}/vhosts/{VHOST}", auth=AUTH, timeout=10)


def start_service(mongo_uri):
    env = {**os.environ, "AMQP_URI": AMQP_URI, "MONGO_URI": mongo_uri, "MONGO_DB_PREFIX": PREFIX,
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(ROOT / ".venv/bin/nameko"), "run", "--config", "deploy/nameko.yaml",
                             "services.registry.service"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(cluster, service, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"the service exited: {service.stderr.read().decode()[-2000:]}")
        try:
            with eventlet.Timeout(2):
                return cluster.registry.stats()
        except (Exception, eventlet.Timeout):
            time.sleep(0.5)
    raise SystemExit("the registry did not answer")


def raw_copy(mongo, db, indexes=True):
    """Seconds to insert_many, raw, every document the load left in `db` (its outbox and claims
    aside) into a scratch database of the same server; and how many documents that was. With
    `indexes`, the same indexes as `db` (they are part of what an insert costs), else `_id` only."""
    scratch = mongo[f"{PREFIX}raw_copy_{'indexed' if indexes else 'bare'}"]
    docs = {name: list(db[name].find({})) for name in db.list_collection_names()
            if name not in ("outbox", "processed_events", "locks")}
    for name in docs if indexes else ():
        for index in db[name].list_indexes():
            if index["name"] != "_id_":
                options = {k: index[k] for k in ("unique", "sparse", "partialFilterExpression") if k in index}
                scratch[name].create_index(list(index["key"].items()), name=index["name"], **options)
    started = time.perf_counter()
    for name, found in docs.items():
        for i in range(0, len(found), 500):
            scratch[name].insert_many(found[i:i + 500], ordered=False)
    return time.perf_counter() - started, sum(len(found) for found in docs.values())


def timed(call, n):
    samples = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=4000)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--batch", type=int, default=500, help="items per bulk RPC")
    parser.add_argument("--in-flight", type=int, default=1, help="bulk RPCs pending at once")
    parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
    parser.add_argument("--shared", action="store_true", help="use the shared server at MONGO_URI")
    parser.add_argument("--keep", action="store_true",
                        help=f"with --shared: keep the {PREFIX}registry database")
    args = parser.parse_args()

    from nameko.standalone.rpc import ClusterRpcProxy

    mongo_uri, stop_server = (SHARED_MONGO_URI, None) if args.shared else private_server("registry")
    mongo = MongoClient(mongo_uri)
    teardown(None, mongo)
    setup_vhost()
    service = start_service(mongo_uri)
    rows = []
    try:
        started = time.monotonic()
        community = demo.build(args.seed, args.households)
        rows.append(("generate the community", f"{time.monotonic() - started:.1f} s", ""))
        config = {"AMQP_URI": AMQP_URI, "serializer": "json"}
        actor = {"id": "bench", "role": "community_admin"}
        with ClusterRpcProxy(config, timeout=300, context_data={"actor": actor}) as cluster:
            wait_ready(cluster, service)
            loaded = demo.load(cluster.registry, community, batch_size=args.batch,
                               in_flight=args.in_flight, log=lambda *_: None)
            residents = loaded["residents"]
            rows.append((f"load through the service ({args.batch} per bulk RPC, {args.in_flight} at a time)",
                         f"{loaded['seconds']:.1f} s",
                         f"{loaded['households']} households, {residents} residents, "
                         f"{loaded['shareholders']} shareholders, {loaded['party_members']} party members"))
            rows.append(("residents loaded per second", f"{residents / loaded['seconds']:.0f} /s", ""))
            raw_seconds, documents = raw_copy(mongo, mongo[f"{PREFIX}registry"])
            bare_seconds, _ = raw_copy(mongo, mongo[f"{PREFIX}registry"], indexes=False)
            rows.append((f"raw insert_many of the same {documents:,} documents (limit)",
                         f"{raw_seconds:.1f} s", "same indexes, batches of 500, one process; outbox aside"))
            rows.append(("load through the service vs that limit", f"{loaded['seconds'] / raw_seconds:.1f}x",
                         "target: at most 5x"))
            rows.append(("raw insert_many of the same documents, _id index only", f"{bare_seconds:.1f} s",
                         f"the service's indexes cost {raw_seconds - bare_seconds:.1f} s of the limit above"))
            rows.append(("load through the service vs that", f"{loaded['seconds'] / bare_seconds:.1f}x", ""))
            ids = [f"R-{1 + (i * 37) % residents:06d}" for i in range(args.reads)]
            median, p95 = timed(lambda i: cluster.registry.get_resident(ids[i]), args.reads)
            rows.append(("get_resident (masked)", f"{median:.1f} ms", f"p95 {p95:.1f} ms, n={args.reads}"))
            median, p95 = timed(lambda i: cluster.registry.get_resident(ids[i], full=True, reason="bench"),
                                args.reads // 3)
            rows.append(("get_resident (full, audited)", f"{median:.1f} ms", f"p95 {p95:.1f} ms"))
            filters = [{"grid_code": "G5", "page_size": 50}, {"age_min": 60, "page_size": 50},
                       {"tag": "volunteer", "page_size": 50}, {"name_prefix": "陈", "page_size": 50},
                       {"residence_type": "floating", "grid_code": "G3", "page": 2, "page_size": 50}]
            median, p95 = timed(lambda i: cluster.registry.find_residents(filters[i % len(filters)]),
                                args.reads // 3)
            rows.append(("find_residents (page of 50, mixed filters)", f"{median:.1f} ms",
                         f"p95 {p95:.1f} ms"))
            median, p95 = timed(lambda i: cluster.registry.list_households({"grid_codes": [f"G{1 + i % 7}"],
                                                                            "page_size": 500}), 20)
            rows.append(("list_households (page of 500)", f"{median:.1f} ms", f"p95 {p95:.1f} ms"))
            again = time.monotonic()
            demo.load(cluster.registry, community, log=lambda *_: None)
            noop_ms = (time.monotonic() - again) * 1000
            rows.append(("load again (no-op: already loaded)", f"{noop_ms:.0f} ms", ""))
    finally:
        teardown(service, mongo, keep=args.keep)
        if stop_server:
            stop_server()

    width = max(len(r[0]) for r in rows)
    where = "shared server" if args.shared else "private SecantusDB"
    print(f"{'registry bench (' + where + ')':<{width}}  {'figure':>10}  notes")
    print("-" * (width + 40))
    for what, figure, notes in rows:
        print(f"{what:<{width}}  {figure:>10}  {notes}")


if __name__ == "__main__":
    main()
