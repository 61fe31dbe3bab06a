"""A dividend run killed part-way (SIGKILL of a real `nameko run` process) resumes when the service
comes back and pays every shareholder exactly once."""

import os
import signal
import subprocess
import sys

import pytest
import yaml
from pymongo import MongoClient

from tests.faults.infra import PrivateDatabase
from tests.support import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SHAREHOLDERS = 200
# The batch the kill interrupts stays locked by its open transaction until the server's transaction
# lifetime ends (60 s by default, mongod's); the test's own server ends it with the dead holder's
# timer lease (10.5 s), so the restarted service resumes as soon as it may take over.
TRANSACTION_LIFETIME_SECONDS = 10


@pytest.fixture
def private_database(tmp_path):
    database = PrivateDatabase(tmp_path / "db", transaction_lifetime=TRANSACTION_LIFETIME_SECONDS)
    database.start()
    yield database
    database.stop()


@pytest.fixture
def mongo_client(private_database):
    client = MongoClient(private_database.uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def config(config, private_database):
    return {**config, "MONGO_URI": private_database.uri}


def start_finance(tmp_path, config, n):
    config_file = tmp_path / f"finance-{n}.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {
                "AMQP_URI": config["AMQP_URI"],
                "MONGO_URI": config["MONGO_URI"],
                "MONGO_DB_PREFIX": config["MONGO_DB_PREFIX"],
                "OUTBOX_POLL_SECONDS": 0.2,
                # small batches with a pause between them, so the kill lands in the middle of the run
                "FINANCE": {
                    "pay_batch_size": 5,
                    "pay_batch_pause_seconds": 0.05,
                    "resume_seconds": 0.5,
                    "monthly_work_seconds": 3600,
                },
            },
            allow_unicode=True,
        )
    )
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(config_file), "services.finance.service"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


@pytest.fixture
def processes():
    started = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _answers(client):
    try:
        return client.health()["database"]
    except Exception:
        return False


def test_a_killed_dividend_run_resumes_and_pays_each_shareholder_once(
    tmp_path, config, as_actor, fdb, listen, processes
):
    officer = as_actor({"id": "ST-0101", "role": "finance_officer"}).finance
    approver = as_actor({"id": "ST-0102", "role": "finance_approver"}).finance
    processes.append(start_finance(tmp_path, config, 1))
    wait_until(lambda: _answers(officer), timeout=30, message="finance process to serve RPC")
    paid_events = listen("dividend_paid")
    # finance's read model of shareholders, as the registry's events would leave it (those events
    # are tested elsewhere; here the run is what is under test)
    fdb.shareholders.insert_many(
        [
            {
                "_id": f"SH-{n:05d}",
                "shareholder_id": f"SH-{n:05d}",
                "resident_id": f"R-{n:06d}",
                "group": f"第{n % 3 + 1}组",
                "shares": n % 7 + 1,
                "status": "active",
            }
            for n in range(1, SHAREHOLDERS + 1)
        ]
    )
    run = officer.preview_dividends(
        {
            "year": 2026,
            "community_fen": 1_000_003,
            "groups_fen": {"第1组": 70_001, "第2组": 50_002, "第3组": 30_003},
        }
    )
    approver.approve_dividends({"run_id": run["run_id"]})

    officer.run_dividends.call_async({"run_id": run["run_id"]})  # its answer never comes: we kill it
    wait_until(
        lambda: fdb.journal.count_documents({"code": "dividend"}) >= 20,  # a line is paid by its entry
        timeout=30,
        message="the run to be part-paid",
    )
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    paid_before = fdb.journal.count_documents({"code": "dividend"})
    assert 0 < paid_before < SHAREHOLDERS
    assert fdb.dividend_runs.find_one({"_id": run["run_id"]})["status"] == "paying"

    processes.append(start_finance(tmp_path, config, 2))  # resumes by itself: nobody calls it again
    # Bound: the dead holder's timer lease (10.5 s) and its open transaction's lifetime run out
    # side by side, then the rest of the run is paid.
    wait_until(
        lambda: fdb.dividend_runs.find_one({"_id": run["run_id"], "status": "paid"}),
        timeout=90,
        message="the restarted service to finish the run",
    )
    assert fdb.dividend_runs.find_one({"_id": run["run_id"]})["paid"] == SHAREHOLDERS

    entries = list(fdb.journal.find({"code": "dividend"}, {"fact_id": 1, "lines": 1}))
    assert len(entries) == SHAREHOLDERS == len({e["fact_id"] for e in entries})  # each paid once
    paid_fen = sum(x["amount_fen"] for e in entries for x in e["lines"] if x["amount_fen"] > 0)
    assert paid_fen == run["total_fen"] == 1_000_003 + 70_001 + 50_002 + 30_003  # to the fen
    assert sum(d["balance_fen"] for d in fdb.balances.find()) == 0
    wait_until(
        lambda: len({e["payload"]["payment_id"] for e in paid_events()}) == SHAREHOLDERS,
        timeout=30,
        message="a dividend_paid event per shareholder",
    )
    assert officer.reconcile()["ok"] and officer.verify_journal()["ok"]
