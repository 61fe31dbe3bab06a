"""Finance's payouts end to end, next to the kit's bare figures and the database's raw limits,
all measured in the same run.

    .venv/bin/python bench/bench_finance.py [--pay-batch 500]

A dividend run over the demo's 1,981 shareholders and the elderly allowance over the demo's
residents aged 60+ (the registry's demo generator, loaded straight into finance's read model):
each timed from the RPC until a consumer (basic_consume, as a nameko handler would) has received
every payment's event. Target: under 2 s each. Beside them, in the same run on the same broker
and database: the server's raw limits (bench/support.py `raw_limits`), a bare nameko RPC, a kit
command (transaction + outbox event) and the outbox relay's rate, and the ratios between them.
Runs on a private vhost and a throwaway database server; needs RabbitMQ (management on 15672).
"""

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402

import requests  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kombu import Connection, Consumer, Exchange, Queue  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from pymongo.read_concern import ReadConcern  # noqa: E402
from pymongo.write_concern import WriteConcern  # noqa: E402

from bench.bench_kit import BareProducer, KitProducer, latencies  # noqa: E402
from bench.support import print_table, private_server, ratio, raw_limits  # noqa: E402
from services.finance import domain, store  # noqa: E402
from services.finance.service import FinanceService  # noqa: E402
from services.registry import demo as registry_demo  # noqa: E402

VHOST = "bench_finance"
AMQP_URI = f"pyamqp://guest:guest@127.0.0.1:5672/{VHOST}"
MANAGEMENT, AUTH = "http://127.0.0.1:15672/api", ("guest", "guest")
OFFICER = {"id": "ST-BENCH-1", "role": "finance_officer"}
APPROVER = {"id": "ST-BENCH-2", "role": "finance_approver"}


def vhost(create):
    if create:
        requests.put(f"{MANAGEMENT}/vhosts/{VHOST}", auth=AUTH, timeout=10).raise_for_status()
        requests.put(f"{MANAGEMENT}/permissions/{VHOST}/guest", auth=AUTH, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    else:
        requests.delete(f"{MANAGEMENT}/vhosts/{VHOST}", auth=AUTH, timeout=10)


def seed_read_model(fdb, community):
    """The demo's residents and shareholders as finance's read model holds them after the events."""
    ids = {r["key"]: f"R-{n:06d}" for n, r in enumerate(community.residents, 1)}
    fdb.residents.insert_many([{"_id": ids[r["key"]], "household_id": r["household_key"], "grid_code": "G1",
                                "birth_date": registry_demo._birth(r).isoformat(), "status": "active",
                                "residence_type": r["residence_type"]} for r in community.residents])
    fdb.shareholders.insert_many([{"_id": f"SH-{n:05d}", "shareholder_id": f"SH-{n:05d}",
                                   "resident_id": ids[s["resident_key"]], "group": s["group"],
                                   "shares": s["shares"], "status": "active"}
                                  for n, s in enumerate(community.shareholders, 1)])
    return len(community.shareholders)


def listener(fact):
    """A consumer of `fact` on a queue of its own, receiving from now on (in a greenthread);
    `wait(expected)` returns (how many arrived, when the last one did)."""
    conn = Connection(AMQP_URI)
    channel = conn.channel()
    queue = Queue(f"bench-{fact}", Exchange("finance.events", type="topic", durable=True), routing_key=fact,
                  auto_delete=True)
    seen = {"n": 0, "last": None}

    def received(body, message):
        seen["n"] += 1
        seen["last"] = time.perf_counter()

    consumer = Consumer(channel, queues=[queue], callbacks=[received], no_ack=True)
    consumer.consume()
    stop = {"now": False}

    def drain():
        while not stop["now"]:
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass

    thread = eventlet.spawn(drain)

    def wait(expected, timeout=120):
        deadline = time.monotonic() + timeout
        while seen["n"] < expected and time.monotonic() < deadline:
            eventlet.sleep(0.01)
        stop["now"] = True
        thread.wait()
        conn.close()
        return seen["n"], seen["last"]
    return wait


def raw_payout_writes(mongo_uri, community, batch=500):
    """Seconds for the documents a dividend run must write, bare (pymongo, no service, no events):
    each shareholder's journal entry (chained, with the journal's indexes) and its fact, `batch` of
    each per transaction. The floor of a payout on this server."""
    client = MongoClient(mongo_uri, tz_aware=True)
    db = client[f"raw_{uuid.uuid4().hex[:6]}"]
    try:
        db.journal.create_indexes(store.INDEXES["journal"])
        lines = domain.dividend_lines([{"shareholder_id": f"SH-{n:05d}", "resident_id": f"R-{n:06d}", **s}
                                       for n, s in enumerate(community.shareholders, 1)],
                                      12_500_000_00, {g: 350_000_00 for g in registry_demo.SHARE_GROUPS})
        entries = [domain.dividend_entry("DR-RAW", line, date(2026, 1, 1)) for line in lines]
        head, now = {"seq": 0, "hash": domain.GENESIS}, datetime.now(UTC)
        started = time.perf_counter()
        for start in range(0, len(entries), batch):
            chunk = entries[start:start + batch]
            head = domain.chain(chunk, head)
            with client.start_session() as session, session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")):
                db.journal.insert_many([{**e, "posted_at": now} for e in chunk], session=session)
                db.facts.insert_many([{"_id": e["fact_id"], "kind": e["fact_kind"], "entry_id": e["_id"],
                                       "amount_fen": domain.amount_of(e), "at": now} for e in chunk],
                                     session=session)
        return len(entries), time.perf_counter() - started
    finally:
        client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pay-batch", type=int, default=500, help="FINANCE.pay_batch_size")
    args = parser.parse_args()
    mongo_uri, stop_server = private_server("finance")
    vhost(create=True)
    config = {"AMQP_URI": AMQP_URI, "MONGO_URI": mongo_uri, "MONGO_DB_PREFIX": "bench_", "max_workers": 10,
              "OUTBOX_POLL_SECONDS": 0.2, "OUTBOX_BATCH": 500,
              "FINANCE": {"pay_batch_size": args.pay_batch, "monthly_work_seconds": 3600,
                          "resume_seconds": 3600}}
    community = registry_demo.build()
    mongo = MongoClient(mongo_uri)
    fdb = mongo["bench_finance"]
    load_before = os.getloadavg()[0]
    limits = raw_limits(mongo_uri)
    raw_payments, raw_seconds = raw_payout_writes(mongo_uri, community)
    limits["payouts"] = raw_payments / raw_seconds
    runner = ServiceRunner(config)
    for cls in (FinanceService, BareProducer, KitProducer):
        runner.add_service(cls)
    runner.start()
    rows = [{"measure": "raw insert_many, 12,000 resident-like documents (limit)",
             "figure": f"{limits['insert_many']:,.0f} docs/s"},
            {"measure": "raw transaction: 50 claims + one $inc (limit)",
             "figure": f"{limits['tx_batched']:,.0f} /s"},
            {"measure": f"raw payout writes: {raw_payments:,} journal entries + facts, 500 a tx (limit)",
             "figure": f"{raw_seconds:.2f} s", "detail": f"{limits['payouts']:,.0f} payments/s"}]
    try:
        shareholders = seed_read_model(fdb, community)
        with ClusterRpcProxy(config, context_data={"actor": OFFICER}) as cluster, \
                ClusterRpcProxy(config, context_data={"actor": APPROVER}) as checker:
            cluster.bench_bare.ping()
            bare_ms, _ = latencies(cluster.bench_bare.ping, 200)
            counter = iter(range(10**9))
            command_ms, _ = latencies(lambda: cluster.bench_producer.command(next(counter)), 200)
            started = time.perf_counter()
            cluster.bench_producer.emit(2000)
            kit_db = mongo["bench_bench_producer"]
            while kit_db.outbox.find_one({}, {"_id": 1}):
                eventlet.sleep(0.01)
            relay_rate = 2000 / (time.perf_counter() - started)
            rows += [{"measure": "kit: bare nameko RPC round trip (median, limit)",
                      "figure": f"{bare_ms:.2f} ms"},
                     {"measure": "kit: command = transaction + outbox event (median)",
                      "figure": f"{command_ms:.2f} ms",
                      "vs limit": f"{command_ms / bare_ms:.1f}x bare RPC time"},
                     {"measure": "kit: 2,000 events committed and relayed", "figure": f"{relay_rate:,.0f} /s",
                      "vs limit": f"{ratio(relay_rate, limits['tx_batched'])} raw batched tx"}]

            finance = cluster.finance
            finance.preview_dividends({"year": 2025, "community_fen": 12_500_000_00,
                                       "groups_fen": {g: 350_000_00 for g in registry_demo.SHARE_GROUPS}})
            checker.finance.approve_dividends({"run_id": "DR-2025"})
            wait = listener("dividend_paid")
            started = time.perf_counter()
            run = finance.run_dividends({"run_id": "DR-2025"})
            answered = time.perf_counter() - started
            received, last = wait(run["paid"])
            rows += payout_rows(f"dividend run: {run['paid']:,} of {shareholders:,} shareholders paid",
                                run["paid"], answered, received, (last or time.perf_counter()) - started,
                                limits, command_ms)

            month = f"{community.today.year}-{community.today.month:02d}"
            wait = listener("allowance_paid")
            started = time.perf_counter()
            result = finance.run_allowances({"month": month})
            answered = time.perf_counter() - started
            received, last = wait(result["paid_now"])
            rows += payout_rows(f"allowance run {month}: {result['paid_now']:,} residents 60+",
                                result["paid_now"], answered, received,
                                (last or time.perf_counter()) - started, limits, command_ms)
            started = time.perf_counter()
            again = finance.run_allowances({"month": month})
            rows.append({"measure": "allowance run again (no-op: all paid)",
                         "figure": f"{time.perf_counter() - started:.2f} s",
                         "detail": f"{again['paid_now']} paid"})
            assert finance.trial_balance()["sum_fen"] == 0
            assert finance.verify_journal()["ok"] and finance.reconcile()["ok"]
    finally:
        runner.stop()
        mongo.close()
        stop_server()
        vhost(create=False)
    print_table(f"finance payouts next to the kit and the raw database (one run, pay_batch_size "
                f"{args.pay_batch}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)",
                rows, ["measure", "figure", "vs limit", "detail"])


def payout_rows(name, paid, answered, received, seconds, limits, command_ms):
    rate = paid / seconds
    return [{"measure": f"{name} (RPC answered)", "figure": f"{answered:.2f} s"},
            {"measure": "  incl. every event received", "figure": f"{seconds:.2f} s",
             "vs limit": f"{ratio(rate, limits['payouts'])} raw payout writes",
             "detail": f"target < 2 s; {received:,} events; {rate:,.0f} payments/s; "
                       f"{seconds / paid * 1000 / command_ms:.3f} kit commands per payment"}]


if __name__ == "__main__":
    main()
