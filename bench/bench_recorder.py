"""How fast the gateway's bus recorder (the console's trace) drains a backlog of events.

    .venv/bin/python bench/bench_recorder.py [--events 5000] [--sources 1]

Runs the real recorder entrypoint (`ConsolePages.record_trace`, on a service of its own named
gateway) on its own RabbitMQ vhost and a private SecantusDB (both removed afterwards): declares
its queues, stops it, publishes `--events` events to `--sources` sources' exchanges (publisher
confirms), starts it again and times until every event is in `trace_events` (or
`--max-seconds` have passed: then the rate is of those recorded). Assumes RabbitMQ at
127.0.0.1:5672 with management on 15672 (override with AMQP_HOST).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

warnings.simplefilter("ignore")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nameko.runners import ServiceRunner  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from bench.support import management_api, print_table, private_server  # noqa: E402
from services.gateway.console import recorder  # noqa: E402
from services.gateway.console.pages import ConsolePages  # noqa: E402
from shared.amqp import ConfirmedPublisher  # noqa: E402
from shared.mongo import Mongo  # noqa: E402

HOST = os.environ.get("AMQP_HOST", "127.0.0.1")


class Recorder:
    name = "gateway"
    db = Mongo(recorder.INDEXES, relay=False, expiry=recorder.EXPIRY)
    record_trace = ConsolePages.record_trace  # the entrypoints travel with the function


def _event(source, n):
    return {"event_id": uuid.uuid4().hex, "type": f"{source}.bench_tick", "version": 1, "source": source,
            "occurred_at": datetime.now(UTC).isoformat(), "correlation_id": f"bench-{n % 50}",
            "causation_id": None, "actor": {"role": "operator"}, "payload": {"n": n}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--sources", type=int, default=1, help="spread over this many of the traced sources")
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=300, help="then stop: rate of those in")
    args = parser.parse_args()
    vhost = f"bench-recorder-{uuid.uuid4().hex[:6]}"
    mongo_uri, stop_server = private_server("recorder")
    management_api("PUT", f"/vhosts/{vhost}")
    management_api("PUT", f"/permissions/{vhost}/guest", b'{"configure":".*","write":".*","read":".*"}')
    config = {"AMQP_URI": f"pyamqp://guest:guest@{HOST}:5672/{vhost}", "MONGO_URI": mongo_uri,
              "MONGO_DB_PREFIX": "bench_", "max_workers": args.workers}
    client = MongoClient(mongo_uri, tz_aware=True)
    trace = client["bench_gateway"][recorder.TRACE]
    sources = recorder.TRACED_SOURCES[:args.sources]
    try:
        runner = ServiceRunner(config)  # declares the queues; the backlog then waits in them
        runner.add_service(Recorder)
        runner.start()
        runner.stop()
        publisher = ConfirmedPublisher(config["AMQP_URI"])
        started = time.perf_counter()
        for start in range(0, args.events, 500):
            publisher.publish_batch([(f"{sources[n % len(sources)]}.events", "bench_tick",
                                      _event(sources[n % len(sources)], n), {})
                                     for n in range(start, min(args.events, start + 500))])
        publisher.close()
        publish_s = time.perf_counter() - started
        runner = ServiceRunner(config)
        runner.add_service(Recorder)
        started = time.perf_counter()
        runner.start()
        recorded = 0
        while recorded < args.events and time.perf_counter() - started < args.max_seconds:
            eventlet.sleep(1)  # not faster: a count reads the collection whole
            recorded = trace.count_documents({})
        drain_s = time.perf_counter() - started
        runner.stop()
        raw_per_s = _raw_insert_many(client["bench_raw"], args.events, sources)
    finally:
        management_api("DELETE", f"/vhosts/{vhost}")
        client.close()
        stop_server()
    load = os.getloadavg()
    rate = recorded / drain_s
    print_table(f"bus recorder: a backlog of {args.events} events from {len(sources)} source(s), "
                f"max_workers={args.workers}, private SecantusDB, load average {load[0]:.1f} {load[1]:.1f}",
                [{"measure": f"raw insert_many, {args.events} trace documents, "
                             f"{recorder.BATCH} a call (limit)",
                  "figure": f"{raw_per_s:,.0f} /s", "vs limit": ""},
                 {"measure": f"backlog drained by the recorder (published in {publish_s:.1f} s; "
                             f"{recorded} recorded in {drain_s:.1f} s, polled each second)",
                  "figure": f"{rate:,.0f} /s", "vs limit": f"{rate / raw_per_s:.2f}x raw insert_many"}],
                ["measure", "figure", "vs limit"])


def _raw_insert_many(db, events, sources):
    """The server's limit for the recorder's writes: the same documents, with the same indexes,
    inserted `recorder.BATCH` at a time by one client, no broker."""
    collection = db[recorder.TRACE]
    collection.create_indexes(recorder.INDEXES[recorder.TRACE])
    collection.create_index(recorder.EXPIRY[recorder.TRACE].field)
    now = datetime.now(UTC)
    fields = ("type", "source", "correlation_id", "causation_id", "occurred_at")
    docs = [{"_id": e["event_id"], **{k: e.get(k) for k in fields}, "actor_role": "operator",
             "recorded_at": now} for e in (_event(sources[n % len(sources)], n) for n in range(events))]
    started = time.perf_counter()
    for start in range(0, events, recorder.BATCH):
        collection.insert_many(docs[start:start + recorder.BATCH], ordered=False)
    return events / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
