"""Finance on real RabbitMQ and the MongoDB-compatible server.

`finance` starts the service; `registry_events` publishes the registry's facts (residents,
shareholders) as the registry does; `fdb` reads finance's own database to check what was written;
`officer` / `approver` / `admin` are RPC clients acting as those people."""

from collections import Counter

import pytest
from kombu import Exchange, Queue

from services.finance.service import FinanceService
from shared import clock
from shared.amqp import ConfirmedPublisher
from shared.events import envelope
from tests.support import wait_until

FINANCE_SETTINGS = {"monthly_work_seconds": 3600, "pay_batch_size": 50}  # tests fire the timer by hand


@pytest.fixture
def finance_config(config):
    return {**config, "FINANCE": dict(FINANCE_SETTINGS)}


@pytest.fixture
def finance(container_factory, finance_config):
    container = container_factory(FinanceService, finance_config)
    container.start()
    return container


@pytest.fixture
def fdb(config, mongo_client):
    return mongo_client[f"{config['MONGO_DB_PREFIX']}finance"]


@pytest.fixture
def officer(as_actor):
    return as_actor({"id": "ST-0101", "role": "finance_officer"}).finance


@pytest.fixture
def approver(as_actor):
    return as_actor({"id": "ST-0102", "role": "finance_approver"}).finance


@pytest.fixture
def admin(as_actor):
    return as_actor({"id": "ST-0001", "role": "community_admin"}).finance


class RegistryEvents:
    """Publishes the registry's facts to RabbitMQ as the registry does."""

    def __init__(self, amqp_uri):
        self.publisher = ConfirmedPublisher(amqp_uri)
        self.publisher.declare(Exchange("registry.events", type="topic", durable=True))

    def emit_many(self, type, payloads):
        envelopes = [
            envelope(type, p, source=type.split(".")[0], correlation_id="test", occurred_at=clock.now())
            for p in payloads
        ]
        self.publisher.publish_batch(
            [
                (f"{e['source']}.events", e["type"].split(".", 1)[1], e, {"nameko.correlation_id": "test"})
                for e in envelopes
            ]
        )
        return envelopes

    def residents(self, births, residence_type="registered"):
        """Residents R-000001... born on `births` (a list of dates), each in a household of their own."""
        return self.emit_many(
            "registry.resident_registered",
            [
                {
                    "resident_id": f"R-{n:06d}",
                    "household_id": f"HH-G1-{n:05d}",
                    "grid_code": "G1",
                    "name": f"居民{n}",
                    "sex": "F",
                    "birth_date": birth,
                    "residence_type": residence_type,
                }
                for n, birth in enumerate(births, 1)
            ],
        )

    def shareholders(self, rows):
        """`rows`: (shareholder number, group, shares); the resident is R-<same number>."""
        return self.emit_many(
            "registry.shareholder_enrolled",
            [
                {
                    "shareholder_id": f"SH-{n:05d}",
                    "resident_id": f"R-{n:06d}",
                    "group": group,
                    "shares": shares,
                }
                for n, group, shares in rows
            ],
        )


@pytest.fixture
def registry_events(finance, config):
    publisher = RegistryEvents(config["AMQP_URI"])
    yield publisher
    publisher.publisher.close()


@pytest.fixture
def listen(config):
    """`listen("dividend_paid")` binds a queue to finance's events, as a consumer would; returns a
    function giving the envelopes received so far."""
    from kombu import Connection

    conn = Connection(config["AMQP_URI"])
    channel = conn.channel()
    seen = {}

    def bind(fact):
        exchange = Exchange("finance.events", type="topic", durable=True)
        queue = Queue(f"test-finance-{fact}", exchange, routing_key=fact, auto_delete=True)(channel)
        queue.declare()
        seen[fact] = []

        def received():
            while (message := queue.get(no_ack=True)) is not None:
                seen[fact].append(message.payload)
            return seen[fact]

        return received

    yield bind
    conn.release()


def assert_books_sound(fdb, rpc_client):
    """After every scenario: balances sum to zero, the chain verifies, every fact has its entry."""
    trial = rpc_client.trial_balance()
    assert trial["sum_fen"] == 0 and trial["balanced"]
    stored = sum(d["balance_fen"] for d in fdb.balances.find())
    assert stored == 0
    assert all(isinstance(a["balance_fen"], int) for a in trial["accounts"])
    assert rpc_client.verify_journal()["ok"]
    report = rpc_client.reconcile()
    assert report["ok"], report
    # every entry is balanced, and one per fact
    for doc in fdb.journal.find({}, {"lines": 1}):
        assert sum(line["amount_fen"] for line in doc["lines"]) == 0
    assert max(Counter(d["fact_id"] for d in fdb.journal.find({}, {"fact_id": 1})).values() or [1]) == 1


def wait_for_count(collection, query, n, timeout=20):
    wait_until(
        lambda: collection.count_documents(query) >= n,
        timeout=timeout,
        message=f"{n} documents in {collection.name}",
    )
    assert collection.count_documents(query) == n
