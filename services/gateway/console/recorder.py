"""Every event on the bus, kept a few days for the trace page.

One queue per producing service, bound with `#` to its `<source>.events` exchange: the console sees
each event once, with its correlation and causation ids, without any service having to report to
it. Tracing is observation, not business: no claims, no backoff, no dead letters. But thousands
of events arrive at once after a bulk import, so each queue is read in batches (shared/handlers.py
`BatchGathering`: up to 200 in hand, a partial batch after 50 ms), written with one unordered
`insert_many` keyed by event id (a redelivered event is a duplicate key, ignored), and acked once
written. A batch the database refuses is requeued after a pause, not dropped.
"""

import logging
from datetime import timedelta
from functools import partial

import eventlet
from nameko.containers import ContainerBeingKilled
from nameko.events import SERVICE_POOL, EventHandler
from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError

from shared import clock
from shared.handlers import BatchGathering
from shared.mongo import Expiry

log = logging.getLogger(__name__)

TRACED_SOURCES = ("registry", "grid_events", "notifications", "market", "finance")
TRACE = "trace_events"
KEEP_DAYS = 7
INDEXES = {TRACE: [IndexModel([("correlation_id", ASCENDING), ("occurred_at", ASCENDING)],
                              name="by_request")]}
EXPIRY = {TRACE: Expiry("recorded_at", timedelta(days=KEEP_DAYS))}
BATCH = 200
LINGER_MS = 50
REQUEUE_AFTER_S = 1.0  # a database that refused a batch is given a moment before it comes back
DUPLICATE_KEY = 11000


class BusRecorder(BatchGathering, EventHandler):
    """Every event of `source`; the method gets a list of envelopes (dicts as published)."""

    def __init__(self, source, batch=BATCH, linger_ms=LINGER_MS):
        super().__init__(source, "#", handler_type=SERVICE_POOL, reliable_delivery=True,
                         batch=batch, linger_ms=linger_ms)

    def handle_message(self, body, message):
        self.gather((body, message))

    def apply_batch(self, items):
        bodies, messages = [body for body, _ in items], [message for _, message in items]
        try:
            self.container.spawn_worker(self, (bodies,), {}, context_data={},
                                        handle_result=partial(self.settle, messages))
        except ContainerBeingKilled:
            self._requeue(messages)

    def settle(self, messages, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            for message in messages:
                self.queue_consumer.ack_message(message)
        else:
            log.warning("could not record %d event(s) of %s (%r): requeued", len(messages),
                        self.source_service, exc_info[1])
            self.container.spawn_managed_thread(partial(self._requeue, messages, REQUEUE_AFTER_S),
                                                identifier=f"requeue {self.method_name}")
        return result, exc_info

    def _requeue(self, messages, after=0):
        eventlet.sleep(after)
        for message in messages:
            self.queue_consumer.requeue_message(message)


def record_event(sources):
    """Bind one method to every source's events (one recorder entrypoint per source)."""
    def bind(fn):
        for source in sources:
            BusRecorder.decorator(source)(fn)
        return fn
    return bind


def only_duplicates(exc):
    """Whether every write `exc` reports failed only because the event is recorded already."""
    details = exc.details or {}
    return not details.get("writeConcernErrors") and all(
        error.get("code") == DUPLICATE_KEY for error in details.get("writeErrors", ()))


class _TraceEvents:
    FIELDS = ("type", "source", "correlation_id", "causation_id", "occurred_at")

    def record(self, db, bodies):
        """Record each envelope of `bodies` once (by event id); anything else than a duplicate
        raises."""
        now = clock.now()
        docs = [{"_id": body["event_id"], **{k: body.get(k) for k in self.FIELDS},
                 "actor_role": (body.get("actor") or {}).get("role"), "recorded_at": now}
                for body in bodies if isinstance(body, dict) and isinstance(body.get("event_id"), str)]
        if not docs:
            return
        try:
            db.raw[TRACE].insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if not only_duplicates(exc):
                raise

    def __call__(self, db, correlation_id, limit=1000):
        found = db.raw[TRACE].find({"correlation_id": correlation_id}).sort("occurred_at", ASCENDING)
        found = found.limit(limit)
        return [{"event_id": d["_id"], **d} for d in found]


trace_events = _TraceEvents()
