"""Outbox documents: one event alone, the events of one emit_many shared by a few documents."""

from datetime import UTC, datetime

from shared.events import envelope
from shared.outbox import confirm_round, envelopes_of, outbox_documents
from tests.integration import kit_services  # noqa: F401 -- registers kit_orders.order_placed


def placed(n):
    return envelope("kit_orders.order_placed", {"order_id": f"O-{n}", "amount_fen": n + 1},
                    source="kit_orders", correlation_id="c-1", occurred_at=datetime.now(UTC))


def test_one_event_is_one_document_of_its_own():
    event = placed(1)
    [doc] = outbox_documents([event])
    assert doc["envelope"] == event and "envelopes" not in doc and "count" not in doc
    assert (doc["exchange"], doc["routing_key"], doc["event_id"]) == (
        "kit_orders.events", "order_placed", event["event_id"])
    assert envelopes_of(doc) == [event]


def test_a_batch_shares_documents_in_order_each_event_once():
    events = [placed(n) for n in range(7)]
    docs = outbox_documents(events, per_document=3)
    assert [doc["count"] for doc in docs] == [3, 3, 1]
    assert [e for doc in docs for e in envelopes_of(doc)] == events
    assert [doc["event_id"] for doc in docs] == [events[0]["event_id"], events[3]["event_id"],
                                                 events[6]["event_id"]]  # one id each
    assert all("envelope" not in doc and doc["status"] == "pending" for doc in docs)


def test_a_confirm_round_takes_about_its_size_in_events_and_never_nothing():
    docs = [{"count": 3}, {}, {"count": 3}, {}]  # a document without count holds one event
    assert confirm_round(docs, 4) == docs[:2]
    assert confirm_round(docs, 7) == docs[:3]
    assert confirm_round(docs, 100) == docs
    assert confirm_round([{"count": 500}, {}], 200) == [{"count": 500}]  # a big one goes alone
    assert confirm_round([], 200) == []
