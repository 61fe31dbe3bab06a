"""The outbox relay outlives a broker it cannot reach: it backs off, says so, and resumes."""

from datetime import UTC, datetime

import eventlet
from kombu import Connection, Exchange, Queue

from shared.amqp import ConfirmedPublisher
from shared.events import envelope
from shared.outbox import OutboxRelay, outbox_document
from tests.integration import kit_services  # noqa: F401 -- registers kit_orders.order_placed
from tests.support import wait_until

NOBODY_LISTENS = "pyamqp://guest:guest@127.0.0.1:1/"


class Threads:
    """What the relay needs of a nameko container: somewhere to run its loop."""

    def spawn_managed_thread(self, run, identifier=None):
        return eventlet.spawn(run)


def test_relay_survives_an_unreachable_broker_reports_it_and_publishes_once_it_is_back(
        config, mongo_client):
    db = mongo_client[config["MONGO_DB_PREFIX"] + "kit_orders"]
    event = envelope("kit_orders.order_placed", {"order_id": "R-1", "amount_fen": 5},
                     source="kit_orders", correlation_id="c-1", occurred_at=datetime.now(UTC))
    db.outbox.insert_one(outbox_document(event))
    with Connection(config["AMQP_URI"]) as conn:  # somewhere to see the event arrive
        seen = Queue("relay-heals", Exchange("kit_orders.events", type="topic", durable=True),
                     routing_key="order_placed")(conn.default_channel)
        seen.declare()

    relay = OutboxRelay(db, NOBODY_LISTENS, "kit_orders", {**config, "OUTBOX_MAX_PAUSE_SECONDS": 0.2})
    relay.start(Threads())
    try:
        wait_until(lambda: relay.status()["failures"] >= 3, message="failures counted")
        assert not relay._thread.dead
        assert "ECONNREFUSED" in relay.status()["last_error"] or "refused" in relay.status()["last_error"]
        assert db.outbox.count_documents({}) == 1  # still waiting, not dropped

        relay.publisher = ConfirmedPublisher(config["AMQP_URI"])  # the broker is back
        wait_until(lambda: db.outbox.count_documents({}) == 0, message="the event published")
        assert relay.status()["failures"] == 0 and "last_error" not in relay.status()
    finally:
        relay.stop()
    with Connection(config["AMQP_URI"]) as conn:
        message = Queue("relay-heals")(conn.default_channel).get(no_ack=True)
    assert message.payload["event_id"] == event["event_id"]
