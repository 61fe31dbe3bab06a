"""Finance's payouts end to end, next to the kit's bare figures measured in the same run.

    .venv/bin/python bench/bench_finance.py

A dividend run over the demo's 1,981 shareholders and the elderly allowance over the demo's
residents aged 60+ (the registry's demo generator, loaded straight into finance's read model):
each timed from the RPC until every payment's event has reached a consumer queue. Target: under
2 s each. Beside them, in the same run on the same broker and database: a bare nameko RPC, a kit
command (transaction + outbox event) and the outbox relay's rate, and the ratios between them.
Runs on a private vhost and a throwaway database server; needs RabbitMQ (management on 15672).
"""

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from bench.bench_kit import BareProducer, KitProducer, latencies  # noqa: E402
from bench.support import private_server  # noqa: E402
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
    conn = Connection(AMQP_URI)
    queue = Queue(f"bench-{fact}", Exchange("finance.events", type="topic", durable=True), routing_key=fact,
                  auto_delete=True)(conn.channel())
    queue.declare()

    def drain(expected, timeout=120):
        deadline, seen = time.monotonic() + timeout, 0
        while seen < expected and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                eventlet.sleep(0.005)
            else:
                seen += 1
        return seen
    return drain


def main():
    mongo_uri, stop_server = private_server("finance")
    vhost(create=True)
    config = {"AMQP_URI": AMQP_URI, "MONGO_URI": mongo_uri, "MONGO_DB_PREFIX": "bench_", "max_workers": 10,
              "OUTBOX_POLL_SECONDS": 0.2, "OUTBOX_BATCH": 500,
              "FINANCE": {"pay_batch_size": 200, "monthly_work_seconds": 3600, "resume_seconds": 3600}}
    community = registry_demo.build()
    mongo = MongoClient(mongo_uri)
    fdb = mongo["bench_finance"]
    runner = ServiceRunner(config)
    for cls in (FinanceService, BareProducer, KitProducer):
        runner.add_service(cls)
    runner.start()
    rows = []
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
            while kit_db.outbox.count_documents({}):
                eventlet.sleep(0.01)
            relay_rate = 2000 / (time.perf_counter() - started)
            rows.append(("kit: bare nameko RPC round trip (median)", f"{bare_ms:.2f} ms", ""))
            rows.append(("kit: command = transaction + outbox event (median)", f"{command_ms:.2f} ms", ""))
            rows.append(("kit: 2,000 events committed and relayed", f"{relay_rate:,.0f} /s", ""))

            finance = cluster.finance
            finance.preview_dividends({"year": 2025, "community_fen": 12_500_000_00,
                                       "groups_fen": {g: 350_000_00 for g in registry_demo.SHARE_GROUPS}})
            checker.finance.approve_dividends({"run_id": "DR-2025"})
            paid = listener("dividend_paid")
            started = time.perf_counter()
            run = finance.run_dividends({"run_id": "DR-2025"})
            answered = time.perf_counter() - started
            received = paid(run["paid"])
            seconds = time.perf_counter() - started
            rows.append((f"dividend run: {run['paid']:,} of {shareholders:,} shareholders paid (RPC answers)",
                         f"{answered:.2f} s", ""))
            rows.append(("dividend run incl. every dividend_paid event received", f"{seconds:.2f} s",
                         f"target < 2 s; {received:,} events; {seconds / run['paid'] * 1000 / command_ms:.2f}"
                         " × a kit command per payment"))

            month = f"{community.today.year}-{community.today.month:02d}"
            allowances = listener("allowance_paid")
            started = time.perf_counter()
            result = finance.run_allowances({"month": month})
            answered = time.perf_counter() - started
            received = allowances(result["paid_now"])
            seconds = time.perf_counter() - started
            rows.append((f"allowance run {month}: {result['paid_now']:,} residents 60+ (RPC answered)",
                         f"{answered:.2f} s", ""))
            rows.append(("allowance run incl. every allowance_paid event received", f"{seconds:.2f} s",
                         f"target < 2 s; {received:,} events; "
                         f"{result['paid_now'] / seconds / relay_rate:.2f} × the kit's relay rate"))
            assert finance.trial_balance()["sum_fen"] == 0
    finally:
        runner.stop()
        mongo.close()
        stop_server()
        vhost(create=False)

    width = max(len(r[0]) for r in rows)
    print("\nfinance payouts next to the kit's bare figures (one run; broker and database on this machine)")
    print(f"{'measure'.ljust(width)}  {'figure':>10}  notes")
    for name, value, notes in rows:
        print(f"{name.ljust(width)}  {value:>10}  {notes}")


if __name__ == "__main__":
    main()
