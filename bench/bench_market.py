"""The night market end to end, beside the kit's bare figures measured in the same run.

    .venv/bin/python bench/bench_market.py [--vendors 320] [--chain 60] [--calls 200]

Runs registry, grid_events, notifications and market in one process on a private RabbitMQ vhost
and a private database server, and prints one table:
- the kit's bare figures: a bare nameko RPC round trip, the kit's RPC command (a transaction with
  an outbox event);
- the simulated night: open, every vendor checks in, 10,000 visitors through four gate counters
  (112 counter reports), takings, an inspection round, close; per-call medians and the whole;
- the violation chain: from `record_violation` being called to the last downstream effect (the
  vendor's notification committed and, for a public-order case, the grid incident committed),
  p50 / p99, alternately a minor and a public-order finding;
each with its ratio to the bare RPC round trip.
"""

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from datetime import date, timedelta  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from bench.bench_kit import BareProducer, KitProducer  # noqa: E402
from bench.support import private_server  # noqa: E402
from services.grid_events.service import GridEventsService  # noqa: E402
from services.market import domain  # noqa: E402
from services.market.demo import GATES, RULE_BOOK, VISITORS  # noqa: E402
from services.market.service import MarketService  # noqa: E402
from services.notifications.service import NotificationsService  # noqa: E402
from services.registry.service import RegistryService  # noqa: E402
from shared import clock  # noqa: E402

AMQP_BASE = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/").rsplit("/", 1)[0]
MANAGEMENT = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
OFFICER = {"id": "MO-BENCH", "role": "market_officer"}
INSPECTOR = {"id": "IN-BENCH", "role": "inspector"}
ADMIN = {"id": "bench", "role": "community_admin"}
# points 0: the chain is measured without suspensions getting in the way
CHAIN_TYPES = ("unsorted_waste", "fighting")


def _management(method, path, body=None):
    url = MANAGEMENT.split("//", 1)
    credentials, host = url[1].split("@", 1)
    request = urllib.request.Request(
        f"{url[0]}//{host}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json"},
    )
    import base64

    request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    with urllib.request.urlopen(request, timeout=30):
        pass


def private_vhost():
    vhost = f"bench-market-{uuid.uuid4().hex[:6]}"
    _management("PUT", f"/api/vhosts/{vhost}")
    _management(
        "PUT", f"/api/permissions/{vhost}/guest", {"configure": ".*", "write": ".*", "read": ".*"}
    )
    return vhost, lambda: _management("DELETE", f"/api/vhosts/{vhost}")


def percentiles(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)]


def timed(call, count):
    samples = []
    for n in range(count):
        started = time.perf_counter()
        call(n)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def id_number(n):
    body = f"350582{date(1970, 1, 1) + timedelta(days=n * 37):%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vendors", type=int, default=320)
    parser.add_argument("--chain", type=int, default=60)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    mongo_uri, stop_server = private_server("market")
    vhost, drop_vhost = private_vhost()
    prefix = f"bench_market_{uuid.uuid4().hex[:6]}_"
    config = {
        "AMQP_URI": f"{AMQP_BASE}/{vhost}",
        "MONGO_URI": mongo_uri,
        "MONGO_DB_PREFIX": prefix,
        "max_workers": 10,
        "OUTBOX_POLL_SECONDS": 0.2,
        "serializer": "json",
        "NOTIFICATIONS": {"smtp_host": "127.0.0.1", "smtp_port": 1,
                          "tick_seconds": 3600, "digest_tick_seconds": 3600},
        "MARKET": {
            "zone_grids": {z: "G7" for z in "ABCDEFG"},
            "fee_tick_seconds": 3600,
            "licence_tick_seconds": 3600,
        },
    }
    mongo = MongoClient(mongo_uri, tz_aware=True)
    notifications = mongo[prefix + "notifications"].notifications
    incidents = mongo[prefix + "grid_events"].incidents
    people = mongo[prefix + "notifications"].people
    runner = ServiceRunner(config)
    for cls in (
        BareProducer,
        KitProducer,
        RegistryService,
        GridEventsService,
        NotificationsService,
        MarketService,
    ):
        runner.add_service(cls)
    runner.start()
    rows = []
    context = {}
    try:
        with ClusterRpcProxy(config, timeout=120, context_data=context) as cluster:

            def as_(actor):
                context["actor"] = actor
                return cluster

            # --- the kit's bare figures, same broker, same database, same run
            as_(ADMIN).bench_bare.ping()
            bare, bare_p99 = timed(lambda n: as_(ADMIN).bench_bare.ping(), args.calls)
            rows.append(("RPC round trip, bare nameko", bare, bare_p99))
            kit, kit_p99 = timed(lambda n: as_(ADMIN).bench_producer.command(n), args.calls)
            rows.append(("RPC command: kit transaction + outbox event", kit, kit_p99))

            # --- the market, set up outside the clock
            as_(ADMIN).registry.define_grid({"code": "G7", "name": "夜市网格", "buildings": ["B701"]})
            as_(ADMIN).registry.assign_grid_staff(
                {"grid_code": "G7", "role": "grid_worker", "name": "夜市网格员", "phone": "13800000007"}
            )
            stalls = [
                {"zone": z, "number": n, "kind": "goods", "size_m2": 6, "power": True, "water": False}
                for z in "ABCDEFG"
                for n in range(1, 51)
            ]
            as_(OFFICER).market.lay_out_stalls({"stalls": stalls})
            licence = {"number": "BL-BENCH", "expires_on": "2030-12-31"}
            vendors = [
                as_(OFFICER).market.register_vendor(
                    {
                        "name": f"摊主{n:03d}",
                        "id_number": id_number(n),
                        "phone": f"139{n:08d}",
                        "goods_category": "goods",
                        "business_licence": licence,
                    }
                )["vendor_id"]
                for n in range(args.vendors)
            ]
            zero = {t: {**RULE_BOOK["violation_types"][t], "points": 0} for t in CHAIN_TYPES}
            book = as_(OFFICER).market.propose_rules(
                {
                    **RULE_BOOK,
                    "emergency": True,
                    "effective_on": "2020-01-01",
                    "violation_types": {**RULE_BOOK["violation_types"], **zero},
                }
            )
            as_(OFFICER).market.publish_rules({"rule_book_id": book["rule_book_id"]})
            held = {}
            for n, vendor_id in enumerate(vendors):
                stall_id = domain.stall_id("ABCDEFG"[n // 50], n % 50 + 1)
                as_(OFFICER).market.allocate_stall(
                    {
                        "mode": "direct",
                        "stall_id": stall_id,
                        "vendor_id": vendor_id,
                        "term_start": "2026-01-01",
                        "term_end": "2030-12-31",
                    }
                )
                held[vendor_id] = stall_id
            eventlet_wait(lambda: people.count_documents({"kind": "vendor"}) >= len(vendors))

            # --- the simulated night, on the clock
            night_started = time.perf_counter()
            today = domain.local_date(clock.now())
            night = as_(OFFICER).market.open_night({"date": today.isoformat()})["night_id"]
            order = list(held.items())
            check_in, check_in_p99 = timed(
                lambda n: as_({"id": order[n][0], "role": "vendor"}).market.check_in(
                    {"night_id": night, "stall_id": order[n][1]}
                ),
                len(order),
            )
            counts = [VISITORS // 112] * 112
            counts[-1] += VISITORS - sum(counts)
            footfall, footfall_p99 = timed(
                lambda n: as_(OFFICER).market.record_footfall(
                    {"night_id": night, "gate": GATES[n % 4], "count": counts[n]}
                ),
                len(counts),
            )
            takings, takings_p99 = timed(
                lambda n: as_({"id": order[n][0], "role": "vendor"}).market.report_takings(
                    {"night_id": night, "vendor_id": order[n][0], "takings_fen": 100_000 + n}
                ),
                len(order),
            )
            rounds = as_(INSPECTOR).market.start_inspection({"night_id": night})

            # --- the violation chain, inside the night
            chain = []
            for n in range(args.chain):
                violation_type = CHAIN_TYPES[n % 2]
                started = time.perf_counter()
                found = as_(INSPECTOR).market.record_violation(
                    {
                        "inspection_id": rounds["inspection_id"],
                        "stall_id": order[n % len(order)][1],
                        "violation_type": violation_type,
                        "description": "巡查发现",
                    }
                )

                def done(found=found):
                    # the vendor's notification names the violation in its title
                    told = notifications.count_documents(
                        {
                            "event_type": "market.violation_recorded",
                            "title": {"$regex": found["violation_id"]},
                        }
                    )
                    return told and (
                        not found["public_order"]
                        or incidents.count_documents({"market_violation_id": found["violation_id"]})
                    )

                eventlet_wait(done, interval=0.002)
                chain.append((time.perf_counter() - started) * 1000)
            summary = as_(OFFICER).market.close_night({"night_id": night})
            night_seconds = time.perf_counter() - night_started
    finally:
        runner.stop()
        mongo.close()
        stop_server()
        drop_vhost()

    rows += [
        (f"check_in ({len(order)} vendors)", check_in, check_in_p99),
        ("record_footfall (112 gate-counter reports)", footfall, footfall_p99),
        (f"report_takings ({len(order)} vendors)", takings, takings_p99),
    ]
    chain_p50, chain_p99 = percentiles(chain)
    rows.append(
        (
            f"violation chain: record_violation -> last effect ({args.chain}, half public-order)",
            chain_p50,
            chain_p99,
        )
    )
    width = max(len(r[0]) for r in rows)
    print(
        "\nThe night market beside the kit's bare figures (one run, broker and database on this machine)"
    )
    print(f"{'measure'.ljust(width)}  {'p50 ms':>9}  {'p99 ms':>9}  {'p50 / bare RPC':>14}")
    for name, p50, p99 in rows:
        print(f"{name.ljust(width)}  {p50:>9.2f}  {p99:>9.2f}  {p50 / bare:>13.1f}x")
    print(
        f"simulated night end to end: {night_seconds:.1f} s for {len(order)} check-ins, 112 counter reports, "
        f"{len(order)} takings, {args.chain} findings and the close "
        f"({summary['footfall']} visitors, {summary['takings_fen']} fen)"
    )


def eventlet_wait(predicate, timeout=120, interval=0.01):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise SystemExit("benchmark timed out")
        eventlet.sleep(interval)


if __name__ == "__main__":
    main()
