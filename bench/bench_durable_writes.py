"""What durable acknowledgements cost: SecantusDB with and without `--sync-on-commit`.

    .venv/bin/python bench/bench_durable_writes.py [--commits 300]

Without it, WiredTiger leaves committed log records in its own buffers for a moment, so a kill -9
of the server can lose writes already acknowledged (issue 14 saw it). With it, every commit
fsyncs the log before the server answers. This measures, on two private servers in one run: a
command-shaped transaction (state + outbox event + request record, then the result) one at a time
and from 10 greenthreads, and a single insert with `j: true`; next to the raw limit, fsyncs per
second of a small file on the same disk.
"""

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pymongo import MongoClient  # noqa: E402
from pymongo.read_concern import ReadConcern  # noqa: E402
from pymongo.write_concern import WriteConcern  # noqa: E402

from bench.support import private_server  # noqa: E402


def raw_fsyncs(count=300):
    with tempfile.NamedTemporaryFile(dir=tempfile.gettempdir()) as f:
        started = time.perf_counter()
        for _ in range(count):
            f.write(b"x" * 256)
            f.flush()
            os.fsync(f.fileno())
        return count / (time.perf_counter() - started)


def command(client, db):
    """One command as the kit commits it: the state, its event, the request record + result."""
    with client.start_session() as session:
        with session.start_transaction(read_concern=ReadConcern("snapshot"),
                                       write_concern=WriteConcern("majority")):
            key = uuid.uuid4().hex
            db.residents.insert_one({"_id": key, "name": "张三", "grid_code": "G1"}, session=session)
            db.outbox.insert_one({"event_id": key, "status": "pending", "envelope": {"x": 1}},
                                 session=session)
            db.requests.insert_one({"_id": key, "state": "running"}, session=session)
            db.requests.update_one({"_id": key}, {"$set": {"state": "done", "result": "{}"}},
                                   session=session)


def one_at_a_time(client, db, count):
    times = []
    for _ in range(count):
        started = time.perf_counter()
        command(client, db)
        times.append(time.perf_counter() - started)
    return count / sum(times), statistics.median(times) * 1000


def concurrent(client, db, count, workers=10):
    pool = eventlet.GreenPool(workers)
    started = time.perf_counter()
    for _ in pool.imap(lambda _: command(client, db), range(count)):
        pass
    return count / (time.perf_counter() - started)


def journaled_inserts(db, count):
    collection = db.get_collection("sms_sent", write_concern=WriteConcern(j=True))
    started = time.perf_counter()
    for n in range(count):
        collection.insert_one({"n": n, "to": "13800000000"})
    return count / (time.perf_counter() - started)


def measure(options, commits):
    uri, stop = private_server("durable", *options)
    try:
        client = MongoClient(uri, tz_aware=True, maxPoolSize=20)
        db = client["bench_durable"]
        command(client, db)  # warm up: collections exist
        rate, median_ms = one_at_a_time(client, db, commits)
        return {"one at a time (/s)": rate, "median commit (ms)": median_ms,
                "10 concurrent (/s)": concurrent(client, db, commits),
                "insert j:true (/s)": journaled_inserts(db, commits)}
    finally:
        stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    args = parser.parse_args(argv)
    fsyncs = raw_fsyncs()
    plain = measure((), args.commits)
    synced = measure(("--sync-on-commit",), args.commits)
    print(f"raw limit: {fsyncs:,.0f} fsyncs/s of a small file on this disk\n")
    print(f"| {'command transaction (state + event + request record)':54} | {'no sync':>9} | "
          f"{'sync on commit':>14} | {'ratio':>6} |")
    print(f"|{'-' * 56}|{'-' * 11}|{'-' * 16}|{'-' * 8}|")
    for key in plain:
        ratio = synced[key] / plain[key]
        print(f"| {key:54} | {plain[key]:9.1f} | {synced[key]:14.1f} | {ratio:6.2f} |")


if __name__ == "__main__":
    main()
