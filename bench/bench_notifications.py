"""How many notifications per second the notifications service turns out from a burst of events.

    .venv/bin/python bench/bench_notifications.py [--events 5000] [--workers 10]

Runs the real service in-process (its own RabbitMQ vhost and MongoDB database, both removed
afterwards), publishes a burst of events exactly as their producers do (publisher confirms,
one batch), and times until every notification is delivered. Scenarios:

- incident_dispatched -> the assignee's in-app inbox (7 grid workers);
- resident_registered -> learn the resident and send an SMS welcome (local SMS gateway);
- incident_dispatched, every event delivered twice -> the dedupe path (`--duplicates`);
- registered -> sms welcome again, with 1k, 10k and 50k residents already welcomed (`--grown`):
  whether the drain slows as the collections grow.

Each rate is also shown as a ratio to the raw batched-transaction limit of the same server,
measured in the same run (bench/support.py), and the grown drains as a ratio to the 1k one.

By default it starts its own SecantusDB (a temporary directory and a free port, removed
afterwards), so the figures do not depend on what else the shared server is doing and nothing is
left on it. `--shared` uses MONGO_URI (default 127.0.0.1:27017) with its own database prefix
instead, and drops those databases at the end.

Why not always the shared server: on SecantusDB 0.7.0b3 `dropDatabase` deletes key by key under
the server's global lock, and if a transaction is still open on a key (a killed client's, or one
not yet reaped after a write conflict; idle transactions are only reaped after 60 s, and the
reaper itself needs that lock) the delete retries forever: every client of the server hangs.
With `--shared` the bench therefore waits 65 s after stopping the service before dropping.

Assumes RabbitMQ at 127.0.0.1:5672 (management 15672; override with AMQP_HOST); uses its own
vhost, deleted afterwards.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from functools import partial  # noqa: E402

warnings.simplefilter("ignore")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nameko.containers import ServiceContainer  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from bench.support import management_api, print_table, private_server, ratio, raw_limits, server_cpu_seconds  # noqa: E402
from services.notifications import domain, store  # noqa: E402
from services.notifications.service import NotificationsService  # noqa: E402
from shared import clock  # noqa: E402
from shared.amqp import ConfirmedPublisher  # noqa: E402
from shared.events import envelope  # noqa: E402
from shared.mongo import KIT_INDEXES  # noqa: E402

HOST = os.environ.get("AMQP_HOST", "127.0.0.1")
SHARED_MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false")
DAYTIME = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in the community: no quiet hours


def _event(type, payload):
    return envelope(type, payload, source=type.split(".")[0], correlation_id="bench",
                    occurred_at=datetime.now(UTC))


def _publish(uri, envelopes):
    publisher = ConfirmedPublisher(uri)
    try:
        for i in range(0, len(envelopes), 1000):
            publisher.publish_batch([(f"{e['source']}.events", e["type"].split(".", 1)[1], e, {})
                                     for e in envelopes[i:i + 1000]])
    finally:
        publisher.close()


def _staff(n_grids=7):
    return [_event("registry.grid_staff_assigned", {"staff_id": f"W{g}", "role": "grid_worker",
                                                    "grid_code": str(g), "name": f"Worker {g}"})
            for g in range(1, n_grids + 1)]


def _dispatches(n, tag):
    return [_event("grid_events.incident_dispatched", {
        "incident_id": f"INC-{tag}-{i}", "grid_code": str(i % 7 + 1), "category": "sanitation",
        "priority": "normal", "assignee_staff_id": f"W{i % 7 + 1}",
        "accept_by": datetime(2026, 11, 2, 4, 0, tzinfo=UTC), "summary": f"incident {i}"})
        for i in range(n)]


def _resident(i):
    return {"resident_id": f"R{i:06d}", "household_id": f"H{i // 3:06d}", "grid_code": str(i % 7 + 1),
            "name": f"Resident {i}", "sex": "F",
            "birth_date": date(1980, 1, 1) if i % 5 else date(1950, 1, 1),
            "residence_type": "registered", "phone": f"139{i:08d}"}


def _residents(n, first=0):
    return [_event("registry.resident_registered", _resident(i)) for i in range(first, first + n)]


def _already_welcomed(db, n, chunk=1000):
    """What the welcome path leaves behind for `n` residents (people, sent notifications with
    their attempt, SMS records, claims), written raw: the state a drain meets after n welcomes."""
    now = DAYTIME
    for start in range(0, n, chunk):
        people, records, sms, claims = [], [], [], []
        for i in range(start, min(n, start + chunk)):
            person = domain.person_from_resident(_resident(i))
            event_id = uuid.uuid4().hex
            texts = {lang: ("欢迎", f"{person['name']}，您好！") for lang in domain.LANGUAGES}
            message = domain.Message(event_id, "registry.resident_registered", "welcome", False, texts,
                                     grid_code=person["grid_code"])
            record, _ = domain.route(message, person, now)
            changes, attempt, _ = domain.after_attempt(record, True, "sms accepted by local gateway", now)
            records.append({**record, **changes, "attempts": [attempt]})
            people.append(person)
            sms.append({"_id": record["_id"], "to": record["address"], "title": record["title"],
                        "text": record["body"], "at": now})
            claims.append({"_id": f"{event_id}:on_resident_registered", "processed_at": now})
        for collection, docs in (("people", people), ("notifications", records), ("sms_sent", sms),
                                 ("processed_events", claims)):
            db[collection].insert_many(docs, ordered=False)


def _still_unclaimed(db, keys, chunk=100):
    """`keys` less the claims that are there, read 100 at a time and only as far as the first
    chunk not yet claimed whole. Polling cheaply matters: a count on SecantusDB reads the whole
    collection under its global lock, and one `$in` of every key costs the server the square of
    the burst (each document found is checked against the whole list): with 3,000 keys that poll
    was three quarters of the server's time (py-spy), and slowed the very drain it timed."""
    while keys:
        head = keys[:chunk]
        there = {d["_id"] for d in db.processed_events.find({"_id": {"$in": head}}, {"_id": 1})}
        if len(there) < len(head):
            return [k for k in head if k not in there] + keys[chunk:]
        keys = keys[chunk:]
    return keys


_HANDLER = {"grid_events.incident_dispatched": "on_incident_dispatched",
            "registry.resident_registered": "on_resident_registered"}


def run_scenario(name, config, db, make_events, expect, duplicate=False, existing=0, server_cpu=None):
    if existing:
        for collection, models in {**KIT_INDEXES, **store.INDEXES}.items():
            db[collection].create_indexes(models)
        filled = time.monotonic()
        _already_welcomed(db, existing)
        print(f"  {existing} residents already welcomed, written in {time.monotonic() - filled:.0f} s",
              file=sys.stderr)
        expect += existing
    container = ServiceContainer(NotificationsService, config)
    container.start()
    try:
        staff = _staff()
        _publish(config["AMQP_URI"], staff)
        while db.posts.count_documents({}) < len(staff):
            eventlet.sleep(0.05)
        before = db.notifications.count_documents({"status": "sent"})
        burst = make_events()
        if duplicate:
            burst = [e for e in burst for _ in (0, 1)]
        cpu_before = server_cpu() if server_cpu else None
        started = time.monotonic()
        _publish(config["AMQP_URI"], burst)
        published = time.monotonic() - started
        deadline = started + 900
        # Done when every event is claimed by its handler and no notification waits to be sent.
        unclaimed = list(dict.fromkeys(f"{e['event_id']}:{_HANDLER[e['type']]}" for e in burst))
        while time.monotonic() < deadline:
            unclaimed = _still_unclaimed(db, unclaimed)
            if not unclaimed and db.notifications.find_one({"status": "queued"}, {"_id": 1}) is None:
                break
            eventlet.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu = server_cpu() - cpu_before if cpu_before is not None else None
        done = db.notifications.count_documents({"status": "sent"}) - before
        eventlet.sleep(2)  # let any late duplicate show up before counting what the providers got
        delivered = db.inbox.count_documents({}) + db.sms_sent.count_documents({})
        return {"scenario": name, "events": len(burst), "sent": done,
                "publish_s": f"{published:.1f}", "total_s": f"{elapsed:.1f}",
                "notif_per_s": f"{done / elapsed:.0f}", "rate": done / elapsed,
                "db_cpu_ms_per_notif": f"{1000 * cpu / done:.2f}" if cpu is not None and done else "",
                "delivered_twice": delivered - expect}
    finally:
        container.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--duplicates", type=int, default=1000,
                        help="events of the redelivery scenario, each published twice (0: skip it)")
    parser.add_argument("--grown", default="1000,10000,50000",
                        help="residents already welcomed before a drain of --grown-events (empty: skip)")
    parser.add_argument("--grown-events", type=int, default=1000)
    parser.add_argument("--shared", action="store_true",
                        help="use the shared server at MONGO_URI instead of a private SecantusDB")
    args = parser.parse_args()
    vhost = f"bench-notifications-{uuid.uuid4().hex[:6]}"
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    mongo_uri, stop_server = (SHARED_MONGO_URI, None) if args.shared else private_server("notifications")
    server_cpu = partial(server_cpu_seconds, stop_server.pid) if stop_server else None
    management_api("PUT", f"/vhosts/{vhost}")
    management_api("PUT", f"/permissions/{vhost}/guest", b'{"configure":".*","write":".*","read":".*"}')
    client = MongoClient(mongo_uri, tz_aware=True)
    limits = raw_limits(mongo_uri)
    clock.set_clock(lambda: DAYTIME)
    n = args.events
    rows = []
    try:
        d = args.duplicates
        scenarios = [
            ("dispatched -> in_app", lambda: _dispatches(n, "a"), n, False),
            ("registered -> sms welcome", lambda: _residents(n), n, False),
            (f"{d} dispatched twice -> in_app", lambda: _dispatches(d, "b"), d, True),
        ][:3 if d else 2]
        g = args.grown_events
        scenarios = [(*scenario, 0) for scenario in scenarios] + [
            (f"{g} registered -> sms welcome, {existing:,} residents before",
             partial(_residents, g, existing), g, False, existing)
            for existing in (int(x) for x in args.grown.split(",") if x)]
        for name, make, expect, duplicate, existing in scenarios:
            config = {"AMQP_URI": f"pyamqp://guest:guest@{HOST}:5672/{vhost}", "MONGO_URI": mongo_uri,
                      "MONGO_DB_PREFIX": f"{prefix}{len(rows)}_", "max_workers": args.workers,
                      "NOTIFICATIONS": {"tick_seconds": 3600, "digest_tick_seconds": 3600},
                      "OUTBOX_POLL_SECONDS": 1.0}
            db = client[f"{config['MONGO_DB_PREFIX']}notifications"]
            rows.append(run_scenario(name, config, db, make, expect, duplicate, existing, server_cpu))
            print(f"  done: {rows[-1]}", file=sys.stderr)
    finally:
        clock.set_clock(None)
        management_api("DELETE", f"/vhosts/{vhost}")
        if stop_server is not None:
            client.close()
            stop_server()
        else:
            time.sleep(65)  # let the server reap idle transactions before dropping (see above)
            for name in client.list_database_names():
                if name.startswith(prefix):
                    client.drop_database(name)
            client.close()
    first_grown = next((r["rate"] for r in rows if "before" in r["scenario"]), None)
    for row in rows:
        row["vs raw batched tx"] = ratio(row["rate"], limits["tx_batched"])
        if "before" in row["scenario"]:
            row["vs 1k before"] = ratio(row["rate"], first_grown)
    where = "shared" if args.shared else "private"
    rows.insert(0, {"scenario": "raw transaction, 50 claims + one $inc (limit)",
                    "notif_per_s": f"{limits['tx_batched']:.0f}"})
    print_table(f"notifications bench: burst of {n} events, max_workers={args.workers}, 1 service process, "
                f"RabbitMQ + {where} SecantusDB on this machine (2 cores)", rows,
                ["scenario", "events", "sent", "publish_s", "total_s", "notif_per_s", "vs raw batched tx",
                 "vs 1k before", "db_cpu_ms_per_notif", "delivered_twice"])
    print("sent: notifications with status sent; total_s: from the first publish to the last send; "
          "db_cpu_ms_per_notif: the private database server's CPU time over the drain, per notification "
          "(less blurred by the machine's load than the rate); "
          "delivered_twice: provider deliveries beyond one per (event, recipient) — must be 0")


if __name__ == "__main__":
    main()
