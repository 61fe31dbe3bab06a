"""Every event on the bus, kept a few days for the trace page.

One queue per producing service, bound with `#` to its `<source>.events` exchange: the console sees
each event once, with its correlation and causation ids, without any service having to report to
it. Tracing is observation, not business: a delivery lost here loses a line of a trace, nothing
else, so these are plain nameko handlers (ack after the worker), idempotent by event id.
"""

from datetime import timedelta

from nameko.events import SERVICE_POOL, EventHandler
from pymongo import ASCENDING, IndexModel

from shared import clock
from shared.mongo import Expiry

TRACED_SOURCES = ("registry", "grid_events", "notifications", "market", "finance")
TRACE = "trace_events"
KEEP_DAYS = 7
INDEXES = {TRACE: [IndexModel([("correlation_id", ASCENDING), ("occurred_at", ASCENDING)],
                              name="by_request")]}
EXPIRY = {TRACE: Expiry("recorded_at", timedelta(days=KEEP_DAYS))}


class BusRecorder(EventHandler):
    def __init__(self, source):
        super().__init__(source, "#", handler_type=SERVICE_POOL, reliable_delivery=True)


def record_event(sources):
    """Bind one method to every source's events (one recorder entrypoint per source)."""
    def bind(fn):
        for source in sources:
            BusRecorder.decorator(source)(fn)
        return fn
    return bind


class _TraceEvents:
    FIELDS = ("type", "source", "correlation_id", "causation_id", "occurred_at")

    def record(self, db, body):
        if not isinstance(body, dict) or not isinstance(body.get("event_id"), str):
            return
        doc = {k: body.get(k) for k in self.FIELDS}
        doc["actor_role"] = (body.get("actor") or {}).get("role")
        db.raw[TRACE].update_one({"_id": body["event_id"]},
                                 {"$setOnInsert": {**doc, "recorded_at": clock.now()}}, upsert=True)

    def __call__(self, db, correlation_id, limit=1000):
        found = db.raw[TRACE].find({"correlation_id": correlation_id}).sort("occurred_at", ASCENDING)
        found = found.limit(limit)
        return [{"event_id": d["_id"], **d} for d in found]


trace_events = _TraceEvents()
