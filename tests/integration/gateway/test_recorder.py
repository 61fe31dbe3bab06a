"""The console's bus recorder (services/gateway/console/recorder.py) on a real broker and database:
every event of every traced source recorded once, in batches, duplicates ignored, and a batch the
database could not take recorded once it is back."""

import itertools
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pymongo import MongoClient

from services.gateway.console import recorder
from services.gateway.console.pages import ConsolePages
from services.gateway.service import GatewayService
from shared.amqp import ConfirmedPublisher
from shared.mongo import Mongo
from tests.faults.infra import PrivateDatabase
from tests.support import queue_depth, wait_until

_numbers = itertools.count()


def _event(source):
    n = next(_numbers)
    return {"event_id": uuid.uuid4().hex, "type": f"{source}.something_happened", "version": 1,
            "source": source, "occurred_at": datetime.now(UTC).isoformat(), "correlation_id": f"c-{n % 7}",
            "causation_id": f"cause-{n}", "actor": {"id": "ST-1", "role": "grid_worker"}, "payload": {"n": n}}


def _publish(config, events):
    publisher = ConfirmedPublisher(config["AMQP_URI"])
    try:
        publisher.publish_batch([(f"{e['source']}.events", "something_happened", e, {}) for e in events])
    finally:
        publisher.close()


def _queue(source):
    return f"evt-{source}-#--gateway.record_trace"


def test_a_backlog_from_two_sources_is_recorded_each_event_once_in_batches(runner_factory, gateway_config,
                                                                          mongo_client):
    trace = mongo_client[f"{gateway_config['MONGO_DB_PREFIX']}gateway"][recorder.TRACE]
    runner = runner_factory(gateway_config, GatewayService)
    runner.start()  # declares the queues
    runner.stop()
    events = [_event(source) for source in ("registry", "grid_events") for _ in range(250)]
    # every tenth event twice in the backlog (a redelivery beside its original), then the first
    # 40 again once they are recorded: none may be recorded twice, nor fail the batch it is in
    _publish(gateway_config, [e for n, e in enumerate(events) for _ in range(2 if n % 10 == 0 else 1)])
    runner = runner_factory(gateway_config, GatewayService)
    runner.start()
    wait_until(lambda: trace.count_documents({}) >= 500, timeout=60)
    _publish(gateway_config, events[:40])
    wait_until(lambda: all(queue_depth(gateway_config, _queue(s)) == 0 for s in ("registry", "grid_events")),
               timeout=30)

    runner.stop()  # whatever was taken and not acked would be back in its queue now
    assert [queue_depth(gateway_config, _queue(s)) for s in ("registry", "grid_events")] == [0, 0]
    recorded = list(trace.find())
    assert sorted(d["_id"] for d in recorded) == sorted(e["event_id"] for e in events)
    first = trace.find_one({"_id": events[0]["event_id"]})
    assert {k: v for k, v in first.items() if k != "recorded_at"} == {
        "_id": events[0]["event_id"], "type": "registry.something_happened", "source": "registry",
        "correlation_id": events[0]["correlation_id"], "causation_id": events[0]["causation_id"],
        "occurred_at": events[0]["occurred_at"], "actor_role": "grid_worker"}
    # one insert per batch, all stamped at once: far fewer stamps than events
    assert len({d["recorded_at"] for d in recorded}) <= 20
    assert [e["event_id"] for e in recorder.trace_events(SimpleNamespace(raw=trace.database), "c-0")] == [
        e["event_id"] for e in events if e["correlation_id"] == "c-0"]


class TraceOnly:
    name = "gateway"
    db = Mongo(recorder.INDEXES, relay=False, expiry=recorder.EXPIRY)
    record_trace = ConsolePages.record_trace  # the real entrypoints travel with the function


@pytest.mark.timeout(180)
def test_events_the_database_could_not_take_are_recorded_once_it_is_back(runner_factory, config, tmp_path):
    database = PrivateDatabase(tmp_path / "db")
    database.start()
    try:
        runner = runner_factory({**config, "MONGO_URI": database.uri, "MONGO_TIMEOUT_MS": 1000}, TraceOnly)
        runner.start()
        database.stop()
        events = [_event("market") for _ in range(60)]
        _publish(config, events)
        wait_until(lambda: queue_depth(config, _queue("market")) == 0, timeout=10)  # taken, not acked
        database.start()  # same port and files
        client = MongoClient(database.uri)
        trace = client[f"{config['MONGO_DB_PREFIX']}gateway"][recorder.TRACE]
        wait_until(lambda: trace.count_documents({}) == 60, timeout=60)
        runner.stop()
        assert queue_depth(config, _queue("market")) == 0
        assert sorted(d["_id"] for d in trace.find()) == sorted(e["event_id"] for e in events)
        client.close()
    finally:
        database.stop()
