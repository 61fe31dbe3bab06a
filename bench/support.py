"""What the benchmarks share: a throwaway database server of their own.

Figures taken on a server that other work is using are blurred by it, and dropping a benchmark's
databases afterwards was seen to wedge SecantusDB (its dropDatabase can spin holding the global
lock); a private server in a temporary folder is simply stopped and deleted.
"""

import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from pymongo import MongoClient
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern


def private_server(tag, *options):
    """Start a SecantusDB on a free loopback port (with extra command-line `options`, such as
    `--sync-on-commit`); return (mongo_uri, stop)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = tempfile.mkdtemp(prefix=f"bench-{tag}-db-")
    server = subprocess.Popen([str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1",
                               "--port", str(port), "--storage-path", storage, "--log-level", "WARNING",
                               *options],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
    client = MongoClient(uri, serverSelectionTimeoutMS=30000)
    client.admin.command("ping")
    client.close()

    def stop():
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(storage, ignore_errors=True)

    stop.pid = server.pid  # to read the server's CPU time (server_cpu_seconds)
    return uri, stop


def server_cpu_seconds(pid):
    """CPU seconds (user + system) process `pid` has used so far (Linux /proc); None elsewhere.
    What a pipeline costs the database, much less blurred by other work on the machine than
    its wall-clock rate."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- raw limits of the same server

def resident_like(n):
    """A document the size and shape of a registry resident (about 600 bytes)."""
    return {"resident_id": f"R-{n:06d}", "household_id": f"H-{n // 3:06d}", "grid_code": f"G{n % 7 + 1}",
            "name": "陈志强", "id_number": f"35050219800101{n:04d}", "phone": "13912345678",
            "sex": "M", "birth_date": "1980-01-01", "residence_type": "registered", "status": "active",
            "head_of_household": n % 3 == 0, "tags": ["volunteer"] if n % 7 == 0 else [],
            "registered_on": "2020-01-01", "building": "B101", "unit": "1", "room": "101",
            "search": {"name_prefixes": ["陈", "陈志", "陈志强"]}}


def management_api(method, path, body=None):
    """A call to RabbitMQ's management API as guest (the benches make and drop vhosts of their own)."""
    host = os.environ.get("AMQP_HOST", "127.0.0.1")
    request = urllib.request.Request(f"http://{host}:15672/api{path}", data=body or None, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()


def raw_insert_many(db, docs, batch=500):
    """Seconds for insert_many of `docs` (copies) in batches, into a fresh collection."""
    collection = db[f"raw_insert_{len(docs)}"]
    started = time.perf_counter()
    for i in range(0, len(docs), batch):
        collection.insert_many([dict(d) for d in docs[i:i + batch]], ordered=False)
    return time.perf_counter() - started


def raw_limits(mongo_uri, transactions=300, batch=50, docs=12000):
    """What this database server does bare, measured now (pymongo, one process): the ceilings the
    pipeline's figures are compared with.

    - insert_many: resident-like documents per second (batches of 500);
    - tx_one: idempotent-consumer transactions per second, one event each (insert the
      (event, handler) claim, `$inc` a counter), one at a time;
    - tx_batched: events per second with `batch` claims per transaction (insert_many + one `$inc`)."""
    client = MongoClient(mongo_uri, tz_aware=True)
    db = client[f"raw_{uuid.uuid4().hex[:6]}"]
    try:
        seconds = raw_insert_many(db, [resident_like(n) for n in range(docs)])
        limits = {"insert_many": docs / seconds}

        def run(claims):
            with client.start_session() as session, session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")):
                db.processed_events.insert_many([{"_id": uuid.uuid4().hex, "at": 1} for _ in range(claims)],
                                                session=session)
                db.counters.update_one({"_id": "n"}, {"$inc": {"n": claims}}, upsert=True, session=session)

        run(1)
        started = time.perf_counter()
        for _ in range(transactions):
            run(1)
        limits["tx_one"] = transactions / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(transactions // 5):
            run(batch)
        limits["tx_batched"] = transactions // 5 * batch / (time.perf_counter() - started)
        return limits
    finally:
        client.close()


def ratio(value, limit):
    return f"{value / limit:.2f}x" if limit else "-"


def print_table(title, rows, columns):
    """Rows of dicts as an aligned plain-text table (and Markdown-friendly with `|`)."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print(f"\n{title}")
    print("| " + " | ".join(c.ljust(widths[c]) for c in columns) + " |")
    print("|" + "|".join("-" * (widths[c] + 2) for c in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns) + " |")
