"""A producer killed between commit and publish still gets its event out when it comes back.

The producer runs as a real `nameko run` process. Its first instance runs with OUTBOX_RELAY=false,
so the event is certainly committed and not yet published when we SIGKILL it; the next instance
finds it pending and publishes it."""

import os
import signal
import subprocess
import sys

import pytest
import yaml

from tests.integration.kit_services import BillingService
from tests.support import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_producer(tmp_path, config, relay):
    config_file = tmp_path / f"orders-{relay}.yaml"
    config_file.write_text(yaml.safe_dump({
        "AMQP_URI": config["AMQP_URI"], "MONGO_URI": config["MONGO_URI"],
        "MONGO_DB_PREFIX": config["MONGO_DB_PREFIX"], "OUTBOX_RELAY": relay,
        "OUTBOX_POLL_SECONDS": 0.2,
    }))
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(config_file),
         "tests.integration.kit_services:OrdersService"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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


def test_event_committed_before_a_kill_is_published_after_restart(
        tmp_path, config, rpc, mongo_client, container_factory, processes):
    billing = container_factory(BillingService, config)
    billing.start()
    orders_db = mongo_client[config["MONGO_DB_PREFIX"] + "kit_orders"]
    billing_db = mongo_client[config["MONGO_DB_PREFIX"] + "kit_billing"]

    processes.append(start_producer(tmp_path, config, relay=False))
    wait_until(lambda: _answers(rpc), timeout=30, message="producer process to serve RPC")
    rpc("kit_orders").place_order({"order_id": "K-1", "amount_fen": 990})
    assert orders_db.outbox.count_documents({"status": "pending"}) == 1

    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    assert billing_db.invoices.count_documents({}) == 0  # nothing got out before the kill

    processes.append(start_producer(tmp_path, config, relay=True))
    invoice = wait_until(lambda: billing_db.invoices.find_one({"order_id": "K-1"}), timeout=30,
                         message="the restarted producer to publish the pending event")
    assert invoice["amount_fen"] == 990
    wait_until(lambda: orders_db.outbox.count_documents({"status": "pending"}) == 0)


def _answers(rpc):
    try:
        return rpc("kit_orders").health()["database"]
    except Exception:
        return False
