"""Events of one emit_many share outbox documents: the relay publishes each of them once, in order,
and the backlog counts events, not documents."""

from datetime import UTC, datetime, timedelta

import eventlet
from bson import ObjectId
from kombu import Connection, Exchange, Queue

from shared.events import envelope
from shared.outbox import OutboxRelay, outbox_documents
from tests.integration import kit_services  # noqa: F401 -- registers kit_orders.order_placed
from tests.support import wait_until


class Threads:
    """What the relay needs of a nameko container: somewhere to run its loop."""

    def spawn_managed_thread(self, run, identifier=None):
        return eventlet.spawn(run)


def placed(n):
    return envelope("kit_orders.order_placed", {"order_id": f"B-{n}", "amount_fen": n + 1},
                    source="kit_orders", correlation_id="c-1", occurred_at=datetime.now(UTC))


def test_the_relay_publishes_every_event_of_shared_documents_once_in_order(config, mongo_client):
    db = mongo_client[config["MONGO_DB_PREFIX"] + "kit_orders"]
    events = [placed(n) for n in range(8)]
    db.outbox.insert_many(outbox_documents(events[:1]))  # one alone, then 7 sharing 3 documents
    db.outbox.insert_many(outbox_documents(events[1:], per_document=3))
    with Connection(config["AMQP_URI"]) as conn:
        seen = Queue("outbox-batches", Exchange("kit_orders.events", type="topic", durable=True),
                     routing_key="order_placed")(conn.default_channel)
        seen.declare()

    relay = OutboxRelay(db, config["AMQP_URI"], "kit_orders", {**config, "OUTBOX_BATCH": 4})
    assert db.outbox.count_documents({}) == 4 and relay.backlog() == 8
    relay.start(Threads())
    try:
        wait_until(lambda: db.outbox.count_documents({}) == 0, message="the outbox relayed")
        assert relay.backlog() == 0
    finally:
        relay.stop()
    received = []
    with Connection(config["AMQP_URI"]) as conn:
        queue = Queue("outbox-batches")(conn.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            received.append(message.payload["event_id"])
        queue.delete()
    assert received == [e["event_id"] for e in events]


def drain(queue_name, config):
    received = []
    with Connection(config["AMQP_URI"]) as conn:
        queue = Queue(queue_name)(conn.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            received.append(message.payload["event_id"])
        queue.delete()
    return received


def listen(queue_name, config):
    with Connection(config["AMQP_URI"]) as conn:
        Queue(queue_name, Exchange("kit_orders.events", type="topic", durable=True),
              routing_key="order_placed")(conn.default_channel).declare()


def test_the_relay_keeps_its_place_finds_events_hours_apart_and_late_commits_once_each(
        config, mongo_client):
    """The relay reads short `_id` ranges after its place: events far apart in time are all found,
    in order, and one committed late with an `_id` before the place is published too, once."""
    db = mongo_client[config["MONGO_DB_PREFIX"] + "kit_orders"]
    now = datetime.now(UTC)
    events = [placed(100 + n) for n in range(6)]
    ages = [timedelta(days=2), timedelta(hours=3), timedelta(minutes=5), timedelta(seconds=3),
            timedelta(0)]
    docs = [{**outbox_documents([event])[0], "_id": ObjectId.from_datetime(now - age)}
            for event, age in zip(events, ages, strict=False)]
    docs[-1]["_id"] = ObjectId()  # a real one, this second
    db.outbox.insert_many(docs)
    listen("outbox-place", config)
    relay = OutboxRelay(db, config["AMQP_URI"], "kit_orders", {**config, "OUTBOX_BATCH": 2})
    relay.place = ObjectId.from_datetime(now - timedelta(days=3))  # as if it had relayed then
    try:
        while relay.relay_once():
            pass
        assert db.outbox.count_documents({}) == 0 and relay.place >= docs[-1]["_id"]
        late = {**outbox_documents([events[5]])[0], "_id": ObjectId.from_datetime(now - timedelta(hours=1))}
        db.outbox.insert_one(late)  # a transaction that committed long after its `_id` was made
        assert relay.relay_once() == 1 and db.outbox.count_documents({}) == 0
        assert relay.relay_once() == 0
    finally:
        relay.publisher.close()
    assert drain("outbox-place", config) == [e["event_id"] for e in events]


def test_an_event_with_an_id_from_a_clock_running_ahead_is_published_and_the_place_stays_now(
        config, mongo_client):
    db = mongo_client[config["MONGO_DB_PREFIX"] + "kit_orders"]
    now = datetime.now(UTC)
    ahead, usual = placed(200), placed(201)
    later = ObjectId.from_datetime(now + timedelta(hours=1))
    db.outbox.delete_many({})  # nothing of earlier tests
    db.outbox.insert_one({**outbox_documents([ahead])[0], "_id": later})
    listen("outbox-ahead", config)
    relay = OutboxRelay(db, config["AMQP_URI"], "kit_orders", config)
    relay.place = ObjectId.from_datetime(now - timedelta(seconds=10))
    try:
        assert relay.relay_once() == 1 and db.outbox.count_documents({}) == 0
        assert relay.place < ObjectId.from_datetime(now + timedelta(minutes=1))
        db.outbox.insert_many(outbox_documents([usual]))  # a writer with the right time, after it
        assert relay.relay_once() == 1 and db.outbox.count_documents({}) == 0
    finally:
        relay.publisher.close()
    assert drain("outbox-ahead", config) == [ahead["event_id"], usual["event_id"]]
