"""The transactional outbox and its relay.

A transaction writes its events into the service's `outbox` collection together with the state
they describe. The relay, a greenthread in each service process, publishes pending events in
order to nameko's event exchange (`<source>.events`, routing key = the fact's name), a batch per
publisher-confirm round, then deletes them: the outbox is a queue, not a log (per-document deletes
in one bulk write measured 3x faster here than marking the batch sent with `$in`). If the process
dies between commit and publish, the events are still pending and the next relay to start sends
them: delivery is at least once, and consumers are idempotent.

One event is one document (`envelope`); the events of one `emit_many` (one type, one
transaction) share documents of up to `EVENTS_PER_DOCUMENT` (`envelopes`, `count`): on SecantusDB
the cost of the outbox is per document written and deleted (with its index), not per byte,
so a batch of 200 payments costs the outbox one insert and one delete instead of 200 of each.

With several instances of a service, a lease (shared/lease.py) lets one relay publish at a time, so the
outbox drains in order and nothing is sent twice by two relays racing. The lease is short and
renewed on every round (a peer takes over within about `OUTBOX_LEASE_SECONDS` after a kill -9)
and released on a graceful stop (at once).

The relay never dies: a broker or database error is logged, reported by `health()` (`relay`),
and retried with a growing pause; the events wait in the outbox meanwhile.
"""

import logging
import random
import threading
import time
from datetime import UTC, datetime

from bson import ObjectId
from kombu.exceptions import OperationalError
from nameko.events import get_event_exchange
from pymongo import DeleteOne
from pymongo.errors import PyMongoError

from shared.amqp import ConfirmedPublisher, PublishFailed
from shared.lease import Lease

log = logging.getLogger(__name__)

OUTBOX = "outbox"
PENDING = "pending"


EVENTS_PER_DOCUMENT = 500  # envelopes of about 1 KB: a document far below the 16 MB limit

READ_AHEAD = 5  # confirm rounds of events the relay reads at once (`OutboxRelay.read_ahead`)
FIRST_SPAN = 1 << 64  # about a second of ObjectIds
LAST_ID = (1 << 96) - 1
CLOCK_SKEW_SECONDS = 5  # `_id`s of writers whose clock runs a little ahead are still searched
PASSED_AFTER_SECONDS = 60  # an idle relay moves its place to a minute ago


def outbox_document(envelope):
    source, name = envelope["type"].split(".", 1)
    return {
        "event_id": envelope["event_id"],
        "exchange": f"{source}.events",
        "routing_key": name,
        "envelope": envelope,
        "status": PENDING,
        "created_at": datetime.now(UTC),
    }


def outbox_documents(envelopes, per_document=EVENTS_PER_DOCUMENT):
    """The outbox documents for `envelopes` of one event type: one each for a single event, else
    up to `per_document` to a document, in order."""
    if len(envelopes) == 1:
        return [outbox_document(envelopes[0])]
    docs = []
    for start in range(0, len(envelopes), per_document):
        chunk = envelopes[start : start + per_document]
        doc = outbox_document(chunk[0])
        del doc["envelope"]
        docs.append({**doc, "envelopes": chunk, "count": len(chunk)})
    return docs


def envelopes_of(doc):
    """The events an outbox document holds, in order."""
    return doc["envelopes"] if "envelopes" in doc else [doc["envelope"]]


def confirm_round(docs, events):
    """The first of `docs` (in order) holding about `events` events: as many documents as fit,
    and always the first one, whatever it holds."""
    batch, held = [], 0
    for doc in docs:
        if batch and held + doc.get("count", 1) > events:
            break
        batch.append(doc)
        held += doc.get("count", 1)
    return batch


def _number(object_id):
    return int.from_bytes(object_id.binary, "big")


def _object_id(number):
    return ObjectId(number.to_bytes(12, "big"))


def message_headers(envelope):
    # nameko turns `nameko.<key>` headers into the consumer worker's context data.
    return {"nameko.correlation_id": envelope["correlation_id"]}


class OutboxRelay:
    def __init__(self, db, amqp_uri, service_name, config):
        self.db = db
        self.service_name = service_name
        self.publisher = ConfirmedPublisher(amqp_uri)
        self.exchange = get_event_exchange(service_name, config)
        self.batch_size = int(config.get("OUTBOX_BATCH", 200))
        self.poll_interval = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self.lease = Lease(db, "outbox_relay", config.get("OUTBOX_LEASE_SECONDS", 1.5))
        # the holder renews (and polls) this often, and a peer waiting for the lease looks as often
        self.lease_check = min(self.poll_interval, self.lease.length.total_seconds() / 3)
        self.max_pause = float(config.get("OUTBOX_MAX_PAUSE_SECONDS", 5.0))
        self.failures = 0
        self.last_error = None
        self.last_relayed_at = None  # when this instance last published anything (health, console)
        self.holds_lease = False
        self.place = None  # the `_id` of the last document published (see relay_once)
        self.span = FIRST_SPAN  # how many `_id`s (as numbers) read_ahead reads at once
        self._wakeup = threading.Event()
        self._running = False
        self._thread = None

    def start(self, container):
        self._running = True
        self._thread = container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self):
        self._running = False
        self._wakeup.set()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None
        self.lease.release()
        self.publisher.close()

    def wake(self):
        """Called after a commit that emitted events: publish now rather than at the next poll."""
        self._wakeup.set()

    def _run(self):
        while self._running:
            try:
                self.holds_lease = self.lease.hold()
                sent = self.relay_once() if self.holds_lease else 0
                if sent:
                    self.last_relayed_at = datetime.now(UTC).isoformat()
                self._recovered()
            except Exception as exc:  # noqa: BLE001 -- broker/db down: never let the thread die
                self._failed(exc)
                continue
            if not sent:
                self._wakeup.wait(self.lease_check)
                self._wakeup.clear()

    def _failed(self, exc):
        self.failures += 1
        self.last_error = repr(exc)
        self.holds_lease = False
        pause = min(self.max_pause, 0.2 * 2 ** min(self.failures, 8)) * random.uniform(0.8, 1.2)
        level = logging.WARNING if self.failures in (1, 10) or self.failures % 50 == 0 else logging.DEBUG
        log.log(level, "outbox relay of %s failed (%d in a row), retrying in %.1f s: %r",
                self.service_name, self.failures, pause, exc)
        if not isinstance(exc, (PyMongoError, PublishFailed, OSError, OperationalError)):
            log.error("unexpected relay failure", exc_info=exc)
        self.publisher.close()
        self._wakeup.wait(pause)  # a stop() ends the pause at once
        self._wakeup.clear()

    def _recovered(self):
        if self.failures:
            log.warning("outbox relay of %s works again after %d failure(s)", self.service_name,
                        self.failures)
        self.failures = 0
        self.last_error = None

    def status(self):
        """What `health()` reports about the relay."""
        state = {"running": bool(self._running), "holds_lease": self.holds_lease,
                 "failures": self.failures, "last_relayed_at": self.last_relayed_at}
        if self.last_error:
            state["last_error"] = self.last_error
        return state

    def relay_once(self, rounds=5):
        """Publish pending events in order, a batch per confirm round, and delete each batch once
        confirmed; return how many were sent. Rounds are pipelined: the next batch is published
        while the broker confirms the one before, so the relay runs at the pace of confirms, not
        of confirm + read + delete. A few rounds per call, within a third of the lease: the lease
        is renewed between calls.

        A round costs the same whatever the backlog: SecantusDB reads every document a query
        matches before it sorts and limits, so the relay never asks for "the first 200 pending"
        (that read the whole backlog each round: quadratic in it). It keeps its place (the last
        `_id` it published) and reads the pending documents of a short `_id` range after it
        (`read_ahead`), an index range on `pending_in_order`. Events committed late with an
        `_id` before the place (a transaction that took longer than its successors, another
        process's clock) are found first in each call (`stragglers`: the same index range below
        the place, empty but for them, since what is published is deleted)."""
        sent, in_flight, published = 0, None, set()
        until = time.monotonic() + self.lease.length.total_seconds() / 3
        ahead = self.stragglers()
        for _ in range(rounds):
            if in_flight is not None and time.monotonic() > until:
                break
            if not ahead:  # (what this call published is deleted only once confirmed: not again)
                ahead = [doc for doc in self.read_ahead() if doc["_id"] not in published]
            batch = confirm_round(ahead, self.batch_size)
            published.update(doc["_id"] for doc in batch)
            ahead = ahead[len(batch):]
            token = self._publish(batch) if batch else None
            # the place moves on once published (if never confirmed, a straggler next call), never
            # past now: the `_id`s of a writer whose clock runs ahead would leave the rest behind
            passed = [doc["_id"] for doc in batch
                      if isinstance(doc["_id"], ObjectId) and doc["_id"] <= self._horizon()]
            if passed and (self.place is None or passed[-1] > self.place):
                self.place = passed[-1]
            if in_flight is not None:
                sent += self._settle(*in_flight)
            if not batch:
                return sent
            in_flight = (batch, token)
        return sent + self._settle(*in_flight)

    def stragglers(self):
        """Pending documents at or before the place: committed after the relay passed their `_id`,
        or published and never confirmed. Usually none; an index range, so it costs what it finds."""
        if self.place is None:
            return []
        return list(self.db[OUTBOX].find({"status": PENDING, "_id": {"$lte": self.place}}).sort("_id", 1))

    def read_ahead(self):
        """The next pending documents after the place, in order: those of the first non-empty
        range of `_id`s after it. ObjectIds are numbers (their second, then their process, then a
        counter), so the range is `span` ids wide, widened while it finds nothing, up to now;
        `span` adapts to what it finds, to read about `READ_AHEAD` batches at a time. Without a
        place yet (a relay just started), the first few of the whole outbox: it reads every
        pending document, once."""
        outbox, wanted = self.db[OUTBOX], self.batch_size * READ_AHEAD  # events, not documents
        if self.place is None:
            docs = list(outbox.find({"status": PENDING}).sort("_id", 1).limit(self.batch_size))
            if not docs:
                self.place = self._passed()
            return docs
        lower, start, span = {"$gt": self.place}, _number(self.place), self.span
        horizon = _number(self._horizon())
        while True:
            end = min(start + span, LAST_ID)
            query = {"status": PENDING, "_id": {**lower, "$lt": _object_id(end)}}
            docs = list(outbox.find(query).sort("_id", 1))
            if docs:
                # the next span: as many ids as held `wanted` events from the first one found
                # (the gap before it says nothing of what follows); a document may hold hundreds
                first, held = _number(docs[0]["_id"]), 0
                for doc in docs:
                    held += doc.get("count", 1)
                    if held >= wanted:
                        self.span = max(1, _number(doc["_id"]) - first + 1)
                        break
                else:  # every pending one of [first, end) is here: as dense, for `wanted`
                    self.span = max(1, (end - first) * wanted // held)
                return docs
            if end >= horizon:  # nothing pending up to now: move the place on (less to search
                # next time); an event committed later with an earlier `_id` is a straggler
                self.place = max(self.place, self._passed())
                # and any from a writer whose clock runs ahead (none, but for a bad clock)
                return list(outbox.find({"status": PENDING, "_id": {"$gte": _object_id(end)}})
                            .sort("_id", 1).limit(wanted))
            lower, start, span = {"$gte": _object_id(end)}, end, span * 16
            self.span = span

    @staticmethod
    def _horizon():
        return ObjectId.from_datetime(datetime.fromtimestamp(time.time() + CLOCK_SKEW_SECONDS, UTC))

    @staticmethod
    def _passed():
        return ObjectId.from_datetime(datetime.fromtimestamp(int(time.time()) - PASSED_AFTER_SECONDS, UTC))

    def _publish(self, batch):
        self.publisher.declare(self.exchange)
        return self.publisher.publish([
            (doc["exchange"], doc["routing_key"], envelope, message_headers(envelope))
            for doc in batch for envelope in envelopes_of(doc)
        ])

    def _settle(self, batch, token):
        self.publisher.wait_confirmed(token)
        self.db[OUTBOX].bulk_write([DeleteOne({"_id": doc["_id"]}) for doc in batch], ordered=False)
        return sum(doc.get("count", 1) for doc in batch)

    def backlog(self):
        """Events committed and not yet published."""
        rows = self.db[OUTBOX].aggregate([
            {"$match": {"status": PENDING}},
            {"$group": {"_id": None, "events": {"$sum": {"$ifNull": ["$count", 1]}}}},
        ])
        return next(iter(rows), {"events": 0})["events"]
