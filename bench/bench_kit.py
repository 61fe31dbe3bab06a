"""The kit's cost next to bare nameko/kombu, on the same broker and database, in one run.

    .venv/bin/python bench/bench_kit.py [--calls 300] [--events 2000]

Prints one table: RPC round trip (bare nameko @rpc, the kit's @rpc, a kit command that commits a
transaction with an outbox event), event publishing (nameko's EventDispatcher with a confirm per
event, the outbox relay with a confirm round per batch) and consuming (a bare handler, the kit's
reliable idempotent handler with its transaction). Needs RabbitMQ up (`make infra`); runs on a
throwaway database server of its own (`--shared` uses MONGO_URI, with its own database prefix).
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

from marshmallow import Schema, fields  # noqa: E402
from nameko.events import EventDispatcher  # noqa: E402
from nameko.events import event_handler as bare_event_handler  # noqa: E402
from nameko.rpc import rpc as bare_rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from bench.support import private_server  # noqa: E402
from shared.events import event  # noqa: E402
from shared.handlers import event_handler  # noqa: E402
from shared.mongo import Mongo  # noqa: E402
from shared.rpc import rpc  # noqa: E402

AMQP_URI = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
PREFIX = f"bench_kit_{uuid.uuid4().hex[:6]}_"
received = {"bare": 0}


@event("bench_producer.tick", 1)
class Tick(Schema):
    """A benchmark event."""

    n = fields.Int(required=True)


class BareProducer:
    name = "bench_bare"
    dispatch = EventDispatcher()

    @bare_rpc
    def ping(self):
        return "pong"

    @bare_rpc
    def emit(self, count):
        for n in range(count):
            self.dispatch("tick", {"n": n})


class BareConsumer:
    name = "bench_bare_consumer"

    @bare_event_handler("bench_bare", "tick")
    def on_tick(self, payload):
        received["bare"] += 1


class KitProducer:
    name = "bench_producer"
    db = Mongo()

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def command(self, n):
        with self.db.transaction() as tx:
            tx.things.insert_one({"n": n})
            tx.emit("bench_producer.tick", {"n": n})

    @rpc
    def emit(self, count, batch=500):
        for start in range(0, count, batch):
            with self.db.transaction() as tx:
                ticks = [{"n": n} for n in range(start, min(count, start + batch))]
                tx.emit_many("bench_producer.tick", ticks)


class KitConsumer:
    name = "bench_consumer"
    db = Mongo()

    @event_handler("bench_producer", "tick")
    def on_tick(self, event):
        with self.db.transaction() as tx:
            tx.ticks.insert_one({"n": event.payload["n"]})


def latencies(call, count):
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def wait_for(predicate, timeout=300):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise SystemExit("benchmark timed out")
        eventlet.sleep(0.01)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--shared", action="store_true", help="use the server at MONGO_URI")
    args = parser.parse_args()
    mongo_uri, stop_server = (MONGO_URI, None) if args.shared else private_server("kit")
    config = {"AMQP_URI": AMQP_URI, "MONGO_URI": mongo_uri, "MONGO_DB_PREFIX": PREFIX,
              "max_workers": 10, "OUTBOX_POLL_SECONDS": 0.2, "OUTBOX_BATCH": 500}
    mongo = MongoClient(mongo_uri)
    consumer_db = mongo[PREFIX + "bench_consumer"]
    producer_db = mongo[PREFIX + "bench_producer"]
    rows = []
    runner = ServiceRunner(config)
    for cls in (BareProducer, BareConsumer, KitProducer):
        runner.add_service(cls)
    runner.start()
    try:
        with ClusterRpcProxy(config) as cluster:
            cluster.bench_bare.ping()
            cluster.bench_producer.ping()
            med, p99 = latencies(cluster.bench_bare.ping, args.calls)
            rows.append(("RPC round trip, bare nameko @rpc", f"{med:.2f} ms", f"p99 {p99:.2f} ms"))
            med, p99 = latencies(cluster.bench_producer.ping, args.calls)
            rows.append(("RPC round trip, kit @rpc", f"{med:.2f} ms", f"p99 {p99:.2f} ms"))
            counter = iter(range(10**9))
            med, p99 = latencies(lambda: cluster.bench_producer.command(next(counter)), args.calls)
            rows.append(("RPC command: transaction + outbox event", f"{med:.2f} ms", f"p99 {p99:.2f} ms"))
            wait_for(lambda: producer_db.outbox.count_documents({"status": "pending"}) == 0)

            started = time.perf_counter()
            cluster.bench_bare.emit(args.events)
            wait_for(lambda: received["bare"] >= args.events)
            seconds = time.perf_counter() - started
            rows.append((f"{args.events} events, bare EventDispatcher (confirm each) -> bare handler",
                         f"{args.events / seconds:,.0f} /s", f"{seconds:.2f} s"))

            producer_db.outbox.delete_many({})
            # Declare the kit consumer's durable queue, then stop it: the events will wait there.
            consumer_runner = ServiceRunner(config)
            consumer_runner.add_service(KitConsumer)
            consumer_runner.start()
            consumer_runner.stop()
            started = time.perf_counter()
            cluster.bench_producer.emit(args.events)
            committed = time.perf_counter() - started
            wait_for(lambda: producer_db.outbox.count_documents({"status": "pending"}) == 0)
            seconds = time.perf_counter() - started
            rows.append((f"{args.events} events committed to the outbox (batches of 500)",
                         f"{args.events / committed:,.0f} /s", f"{committed:.2f} s"))
            rows.append((f"{args.events} events committed and relayed (confirm per batch)",
                         f"{args.events / seconds:,.0f} /s", f"{seconds:.2f} s"))

        # The relayed events now wait in the kit consumer's durable queue: drain them.
        consumer_runner = ServiceRunner(config)
        consumer_runner.add_service(KitConsumer)
        started = time.perf_counter()
        consumer_runner.start()
        wait_for(lambda: consumer_db.ticks.estimated_document_count() >= args.events)
        seconds = time.perf_counter() - started
        consumer_runner.stop()
        rows.append((f"{args.events} events drained by the reliable idempotent handler",
                     f"{args.events / seconds:,.0f} /s", f"{seconds:.2f} s"))
    finally:
        runner.stop()
        mongo.close()
        if stop_server:
            stop_server()
        _delete_queues("evt-bench_producer-tick--bench_consumer.on_tick", "rpc-bench_producer",
                       "evt-bench_bare-tick--bench_bare_consumer.on_tick", "rpc-bench_bare")

    width = max(len(r[0]) for r in rows)
    print(f"\nKit vs bare nameko/kombu ({args.calls} calls, {args.events} events; "
          "broker and database on this machine)")
    print(f"{'measure'.ljust(width)}  {'rate / median':>14}  {'detail':>14}")
    for name, value, detail in rows:
        print(f"{name.ljust(width)}  {value:>14}  {detail:>14}")


def _delete_queues(*names):
    from kombu import Connection

    with Connection(AMQP_URI) as conn:
        for name in names:
            conn.default_channel.queue_delete(name)


if __name__ == "__main__":
    main()
