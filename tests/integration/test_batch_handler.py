"""Batched reliable consumption (shared/handlers.py, `batch=N`) on a real broker and database:
many events per transaction, still each applied exactly once, and a poison event isolated."""

import pytest

from shared.amqp import ConfirmedPublisher
from tests.integration import kit_services
from tests.integration.kit_services import LedgerService
from tests.integration.test_kit import _order_event
from tests.support import queue_depth, wait_until

LEDGER_QUEUE = "evt-kit_orders-order_placed--kit_ledger.book"


@pytest.fixture
def ledger(runner_factory, config, mongo_client):
    runner = runner_factory(config, LedgerService)
    runner.start()
    yield mongo_client[f"{config['MONGO_DB_PREFIX']}kit_ledger"]
    kit_services.POISON_ORDERS.clear()


def _publish(config, envelopes):
    publisher = ConfirmedPublisher(config["AMQP_URI"])
    try:
        publisher.publish_batch([("kit_orders.events", "order_placed", env, {}) for env in envelopes])
    finally:
        publisher.close()


def test_a_burst_is_applied_in_batches_each_event_once(ledger, config):
    events = [_order_event(f"B-{n}", n + 1) for n in range(120)]
    # every tenth event twice in the same burst (a redelivery next to its original), then a
    # second burst repeating the first 30: none of it may be applied twice
    _publish(config, [e for n, e in enumerate(events) for _ in range(2 if n % 10 == 0 else 1)])
    _publish(config, events[:30])

    wait_until(lambda: ledger.entries.count_documents({}) >= 120, timeout=30)
    wait_until(lambda: queue_depth(config, LEDGER_QUEUE) == 0)
    totals = ledger.totals.find_one({"_id": "booked"})
    assert ledger.entries.count_documents({}) == 120
    assert totals["fen"] == sum(range(1, 121))
    assert totals["batches"] <= 30  # batched: not one transaction per event


def test_a_poison_event_is_isolated_and_dead_lettered_alone(ledger, config):
    kit_services.POISON_ORDERS.add("P-17")
    _publish(config, [_order_event(f"P-{n}", 10) for n in range(40)])

    wait_until(lambda: ledger.entries.count_documents({}) == 39, timeout=30)
    wait_until(lambda: queue_depth(config, "kit_ledger.dlq") == 1, timeout=20)
    assert ledger.entries.find_one({"order_id": "P-17"}) is None
    assert ledger.totals.find_one({"_id": "booked"})["fen"] == 390
    assert ledger.processed_events.count_documents({}) == 39


def test_old_claims_and_requests_are_pruned_by_the_kit_and_recent_ones_kept(runner_factory, config,
                                                                            mongo_client):
    from datetime import timedelta

    from shared import clock

    db = mongo_client[f"{config['MONGO_DB_PREFIX']}kit_ledger"]
    db.processed_events.insert_many([{"_id": "old:book", "processed_at": clock.now() - timedelta(days=3)},
                                     {"_id": "new:book", "processed_at": clock.now()}])
    db.requests.insert_many([{"_id": "old-request", "at": clock.now() - timedelta(days=8)},
                             {"_id": "new-request", "at": clock.now()}])
    db.requests.create_index("at", expireAfterSeconds=7 * 86400, name="expiry")  # as earlier versions did
    runner = runner_factory({**config, "PRUNE_SECONDS": 0.2, "CLAIMS_KEPT_DAYS": 2}, LedgerService)
    runner.start()

    wait_until(lambda: db.processed_events.find_one({"_id": "old:book"}) is None)
    wait_until(lambda: db.requests.find_one({"_id": "old-request"}) is None)
    assert db.processed_events.find_one({"_id": "new:book"}) is not None
    assert db.requests.find_one({"_id": "new-request"}) is not None
    # no TTL index: the local server's sweeper would scan the whole collection under its lock
    for collection in (db.processed_events, db.requests):
        assert not any("expireAfterSeconds" in index for index in collection.index_information().values())


def test_the_outbox_index_of_earlier_versions_on_event_id_is_dropped_at_start(runner_factory, config,
                                                                              mongo_client):
    db = mongo_client[f"{config['MONGO_DB_PREFIX']}kit_ledger"]
    db.outbox.create_index("event_id", unique=True, name="event_id")  # as earlier versions did
    runner = runner_factory(config, LedgerService)
    runner.start()

    assert sorted(db.outbox.index_information()) == ["_id_", "pending_in_order"]
