"""The kit's cost next to bare nameko/kombu, on the same broker and database, in one run.

    .venv/bin/python bench/bench_kit.py [--calls 300] [--events 2000]

Prints one table: RPC round trip (bare nameko @rpc, the kit's @rpc, a kit command that commits a
transaction with an outbox event), event publishing (nameko's EventDispatcher with a confirm per
event, the outbox relay with a confirm round per batch) and consuming (a bare handler, the kit's
reliable idempotent handler with its transaction, one by one and in batches); the batch handler's
drain with 1k/10k/50k claims and effects already there (`--grown`), and the relay's rate over
backlogs of one-event outbox documents (`--backlogs`), each as a ratio to the first. Needs
RabbitMQ up (`make infra`); runs on a throwaway database server of its own (`--shared` uses
MONGO_URI, with its own database prefix).
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
from datetime import UTC, datetime  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from marshmallow import Schema, fields  # noqa: E402
from nameko.events import EventDispatcher  # noqa: E402
from nameko.events import event_handler as bare_event_handler  # noqa: E402
from nameko.rpc import rpc as bare_rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from bench.support import print_table, private_server, ratio, raw_limits  # noqa: E402
from shared.access import ANYONE, Policy, system_actor  # noqa: E402
from shared.events import envelope, event  # noqa: E402
from shared.handlers import event_handler  # noqa: E402
from shared.mongo import KIT_INDEXES, Mongo  # noqa: E402
from shared.outbox import OutboxRelay, outbox_documents  # noqa: E402
from shared.rpc import rpc  # noqa: E402

AMQP_URI = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false")
PREFIX = f"bench_kit_{uuid.uuid4().hex[:6]}_"
received = {"bare": 0, "kit": 0}  # events applied (committed), counted in this process: polling a
# collection's count would read it whole on SecantusDB and slow the drain it times as it grows


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
    policy = Policy(dict.fromkeys(("ping", "command", "emit"), ANYONE))
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
        received["kit"] += 1


class KitBatchConsumer:
    name = "bench_batch_consumer"
    db = Mongo()

    @event_handler("bench_producer", "tick", batch=100)
    def on_ticks(self, events):
        with self.db.transaction() as tx:
            tx.ticks.insert_many([{"n": event.payload["n"]} for event in events])
        received["kit"] += len(events)


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
    parser.add_argument("--backlogs", default="1000,10000",
                        help="outbox backlogs of one-event documents the relay drains (empty: skip)")
    parser.add_argument("--grown", default="1000,10000,50000",
                        help="claims and effects already there before a batch-handler drain (empty: skip)")
    parser.add_argument("--shared", action="store_true", help="use the server at MONGO_URI")
    args = parser.parse_args()
    mongo_uri, stop_server = (MONGO_URI, None) if args.shared else private_server("kit")
    config = {"AMQP_URI": AMQP_URI, "MONGO_URI": mongo_uri, "MONGO_DB_PREFIX": PREFIX,
              "max_workers": 10, "OUTBOX_POLL_SECONDS": 0.2, "OUTBOX_BATCH": 500}
    mongo = MongoClient(mongo_uri)
    producer_db = mongo[PREFIX + "bench_producer"]
    limits = raw_limits(mongo_uri)
    rows = []
    runner = ServiceRunner(config)
    for cls in (BareProducer, BareConsumer, KitProducer):
        runner.add_service(cls)
    runner.start()
    n = args.events
    try:
        with ClusterRpcProxy(config, context_data={"actor": system_actor("bench")}) as cluster:
            cluster.bench_bare.ping()
            cluster.bench_producer.ping()
            bare_ms, p99 = latencies(cluster.bench_bare.ping, args.calls)
            rows.append({"measure": "RPC round trip, bare nameko @rpc (limit)", "figure": f"{bare_ms:.2f} ms",
                         "detail": f"p99 {p99:.2f} ms"})
            med, p99 = latencies(cluster.bench_producer.ping, args.calls)
            rows.append({"measure": "RPC round trip, kit @rpc", "figure": f"{med:.2f} ms",
                         "detail": f"p99 {p99:.2f} ms", "vs limit": f"{med / bare_ms:.2f}x bare RPC time"})
            counter = iter(range(10**9))
            med, p99 = latencies(lambda: cluster.bench_producer.command(next(counter)), args.calls)
            rows.append({"measure": "RPC command: transaction + outbox event", "figure": f"{med:.2f} ms",
                         "detail": f"p99 {p99:.2f} ms", "vs limit": f"{med / bare_ms:.2f}x bare RPC time"})
            wait_for(lambda: producer_db.outbox.count_documents({"status": "pending"}) == 0)

            started = time.perf_counter()
            cluster.bench_bare.emit(n)
            wait_for(lambda: received["bare"] >= n)
            bare_rate = n / (time.perf_counter() - started)
            rows.append({"measure": f"{n} events, bare EventDispatcher -> bare handler (limit)",
                         "figure": f"{bare_rate:,.0f} /s", "detail": "a confirm per event"})

            producer_db.outbox.delete_many({})
            # Declare the kit consumers' durable queues, then stop them: the events wait there.
            for consumer in (KitConsumer, KitBatchConsumer):
                consumer_runner = ServiceRunner(config)
                consumer_runner.add_service(consumer)
                consumer_runner.start()
                consumer_runner.stop()
            started = time.perf_counter()
            cluster.bench_producer.emit(n)
            committed = time.perf_counter() - started
            wait_for(lambda: producer_db.outbox.count_documents({"status": "pending"}) == 0)
            seconds = time.perf_counter() - started
            rows.append({"measure": f"{n} events committed to the outbox (emit_many, 500 a transaction)",
                         "figure": f"{n / committed:,.0f} /s", "detail": f"{committed:.2f} s"})
            rows.append({"measure": f"{n} events committed and relayed (pipelined confirms)",
                         "figure": f"{n / seconds:,.0f} /s", "detail": f"{seconds:.2f} s",
                         "vs limit": f"{ratio(n / seconds, bare_rate)} bare dispatch"})

        # The relayed events now wait in both kit consumers' durable queues: drain each.
        for consumer, label in ((KitConsumer, "reliable handler, one event per transaction"),
                                (KitBatchConsumer, "reliable handler, batch=100")):
            rate = drain(config, consumer, n)
            batched = "batch" in label
            limit = limits["tx_batched" if batched else "tx_one"]
            rows.append({"measure": f"{n} events drained by the {label}", "figure": f"{rate:,.0f} /s",
                         "vs limit": f"{ratio(rate, bare_rate)} bare handler; "
                                     f"{ratio(rate, limit)} raw tx {'batched' if batched else 'one by one'}"})

        # The drain as data grows: the batch handler again, with `existing` claims and effects there
        grown = [int(x) for x in args.grown.split(",") if x]
        first_rate = None
        for existing in grown:
            db = mongo[PREFIX + KitBatchConsumer.name]
            db.processed_events.delete_many({})
            db.ticks.delete_many({})
            now = datetime.now(UTC)
            for start in range(0, existing, 1000):
                size = min(1000, existing - start)
                db.processed_events.insert_many([{"_id": f"old-{start + i}:on_ticks", "processed_at": now}
                                                 for i in range(size)], ordered=False)
                db.ticks.insert_many([{"n": -1} for _ in range(size)], ordered=False)
            with ClusterRpcProxy(config, context_data={"actor": system_actor("bench")}) as cluster:
                cluster.bench_producer.emit(n)
            wait_for(lambda: producer_db.outbox.count_documents({"status": "pending"}) == 0)
            rate = drain(config, KitBatchConsumer, n)
            first_rate = first_rate or rate
            rows.append({"measure": f"{n} events drained by the batch handler, {existing:,} claims and "
                                    "effects there before", "figure": f"{rate:,.0f} /s",
                         "vs limit": f"{ratio(rate, first_rate)} the drain at {grown[0]:,}"})

        # The relay as its backlog grows: one-event outbox documents (one event per transaction)
        backlogs = [int(x) for x in args.backlogs.split(",") if x]
        first_rate = None
        for backlog in backlogs:
            rate = relay_backlog(mongo[f"{PREFIX}relay_{backlog}"], config, backlog)
            first_rate = first_rate or rate
            rows.append({"measure": f"relay of a backlog of {backlog:,} one-event outbox documents",
                         "figure": f"{rate:,.0f} /s",
                         "vs limit": f"{ratio(rate, bare_rate)} bare dispatch; "
                                     f"{ratio(rate, first_rate)} the relay at {backlogs[0]:,}"})
    finally:
        runner.stop()
        mongo.close()
        if stop_server:
            stop_server()
        _delete_queues("evt-bench_producer-tick--bench_consumer.on_tick",
                       "evt-bench_producer-tick--bench_batch_consumer.on_ticks", "rpc-bench_producer",
                       "evt-bench_bare-tick--bench_bare_consumer.on_tick", "rpc-bench_bare")

    rows[0:0] = [
        {"measure": "raw insert_many, 12,000 resident-like documents (limit)",
         "figure": f"{limits['insert_many']:,.0f} docs/s"},
        {"measure": "raw transaction: claim + $inc, one event each (limit)",
         "figure": f"{limits['tx_one']:,.0f} /s"},
        {"measure": "raw transaction: 50 claims + one $inc (limit)",
         "figure": f"{limits['tx_batched']:,.0f} /s"},
    ]
    print_table(f"Kit vs bare nameko/kombu and the raw database ({args.calls} calls, {n} events; "
                "broker and database on this machine)", rows, ["measure", "figure", "vs limit", "detail"])


def drain(config, consumer, n):
    """Events per second `consumer` applies of the `n` waiting in its queue, timed from the first
    ones applied (the container's start is not the handler's pace)."""
    received["kit"] = 0
    consumer_runner = ServiceRunner(config)
    consumer_runner.add_service(consumer)
    consumer_runner.start()
    try:
        wait_for(lambda: received["kit"] > 0, timeout=600)
        started, first = time.perf_counter(), received["kit"]
        wait_for(lambda: received["kit"] >= n)
        return (n - first) / (time.perf_counter() - started)
    finally:
        consumer_runner.stop()


def relay_backlog(db, config, backlog):
    """Events per second the outbox relay publishes (confirmed, deleted) from a backlog of
    `backlog` one-event documents, as one-event transactions leave them."""
    for collection, models in KIT_INDEXES.items():
        db[collection].create_indexes(models)
    docs = [outbox_documents([envelope("bench_producer.tick", {"n": n}, source="bench_producer",
                                       correlation_id="bench", occurred_at=datetime.now(UTC))])[0]
            for n in range(backlog)]
    for start in range(0, backlog, 1000):
        db.outbox.insert_many(docs[start:start + 1000], ordered=False)
    relay = OutboxRelay(db, config["AMQP_URI"], "bench_producer", {**config, "OUTBOX_BATCH": 200})
    started = time.perf_counter()
    try:
        while relay.relay_once():
            pass
    finally:
        relay.publisher.close()
    assert db.outbox.count_documents({}) == 0
    return backlog / (time.perf_counter() - started)


def _delete_queues(*names):
    from kombu import Connection

    with Connection(AMQP_URI) as conn:
        for name in names:
            conn.default_channel.queue_delete(name)


if __name__ == "__main__":
    main()
