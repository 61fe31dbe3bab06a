"""Each service's own MongoDB database, and the unit of work that commits state and events together.

    def register_household(db, request, actor):        # a use case (use_cases.py)
        def write(tx):                                  # one multi-document transaction
            if tx.households.find_one(...):             # collections are bound to the session
                raise Conflict(...)
            tx.households.insert_one(doc)
            tx.emit("registry.household_registered", {...})   # validated, into the outbox
            return doc
        return db.run_transaction(write)                # reruns `write` on write conflicts

`db.run_transaction(work)` is the one way service code writes: when the transaction loses a
write conflict it runs `work` again from the start (it re-reads, so it decides again), with
jittered backoff, for up to `TRANSACTION_RETRY_SECONDS` (default 5 s: longer than a burst of
redelivered requests); past that it refuses with `Busy` (retriable, HTTP 503), logged as one
warning. So `work` must do no I/O but this database. (`with db.transaction()` is the kit's
building block; a handler using it directly is rerun whole by handlers.py, a command is not.)

Reads outside a transaction use `self.db.<collection>` directly. The database is named after the
service (`MONGO_DB_PREFIX` + service name, so tests can isolate runs); indexes are declared in
code and ensured at start. Inside an event-handler worker the first transaction also records the
event as processed (unique key) so a redelivered event has no second effect: see handlers.py.
Inside an RPC worker it records the request, and the last transaction commits with the result,
so a repeated command gets its first answer: see idempotency.py.
"""

import logging
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import eventlet
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, IndexModel, MongoClient
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared import clock
from shared.context import ACTOR, ensure_correlation_id
from shared.errors import Busy
from shared.events import envelope
from shared.idempotency import REQUEST_RETENTION_DAYS, REQUESTS, Command
from shared.outbox import OUTBOX, OutboxRelay, outbox_documents

log = logging.getLogger(__name__)

PROCESSED = "processed_events"

KIT_INDEXES = {
    # The relay reads ranges of `pending_in_order` (shared/outbox.py). No index on `event_id`: no
    # query uses one (event ids are fresh uuids, one document per id), and on SecantusDB each index
    # costs every outbox document its entry at insert and delete (a delete 0.27 -> 0.21 ms, measured).
    OUTBOX: [IndexModel([("status", ASCENDING), ("_id", ASCENDING)], name="pending_in_order")],
}
DROPPED_INDEXES = {OUTBOX: ["event_id"]}  # made by earlier versions, dropped at start


@dataclass(frozen=True)
class Expiry:
    """Records of a collection deleted once `field` (a datetime) is older than `keep`.

    Old records are deleted by the kit (`Mongo._prune`, an indexed range delete every
    `PRUNE_SECONDS`), never by a TTL index: SecantusDB's TTL sweeper reads every TTL-indexed
    collection in full under its global lock once a minute, so each sweep stalled every writer of
    the server longer as the collection grew (13 s at 30k event claims, measured)."""

    field: str
    keep: timedelta


KIT_EXPIRY = {PROCESSED: Expiry("processed_at", timedelta(days=90)),  # CLAIMS_KEPT_DAYS
              REQUESTS: Expiry("at", timedelta(days=REQUEST_RETENTION_DAYS))}


def is_transient(exc):
    """A write conflict or an unknown commit result: running the whole transaction again is safe."""
    return isinstance(exc, PyMongoError) and (
        exc.has_error_label("TransientTransactionError")
        or exc.has_error_label("UnknownTransactionCommitResult"))


RETRY_SECONDS = 5.0
FIRST_PAUSE, LONGEST_PAUSE = 0.005, 0.25


def rerun_on_conflict(use_case, budget=RETRY_SECONDS, name=None):
    """Call `use_case()` again while it loses write conflicts (nothing of it was committed), for up
    to `budget` seconds; then refuse with `Busy`. Pauses grow exponentially with full jitter, so a
    burst of contenders spreads out instead of colliding again in step."""
    deadline = time.monotonic() + budget
    attempt = 0
    while True:
        attempt += 1
        try:
            return use_case()
        except PyMongoError as exc:
            if not is_transient(exc):
                raise
            pause = random.uniform(0, min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** attempt))
            if time.monotonic() + pause > deadline:
                log.warning("%s still losing write conflicts after %d attempts in %.1f s: busy",
                            name or getattr(use_case, "__name__", "transaction"), attempt, budget)
                raise Busy("busy: too many concurrent changes, try again") from None
            log.debug("write conflict, running again (%d)", attempt)
            eventlet.sleep(pause)


IN_CHUNK = 100


def find_in(collection, field, values, projection=None, chunk=IN_CHUNK, **options):
    """The documents of `collection` whose `field` is one of `values`, by `$in` lists of `chunk`.
    SecantusDB checks each document an `$in` finds against the whole list, so one long list costs
    its length squared (2,000 ids found took 40 times as long as 200, measured); chunks of 100 keep
    it linear. `options` (such as `session`) go to each `find`."""
    values = list(values)
    for start in range(0, len(values), chunk):
        yield from collection.find({field: {"$in": values[start : start + chunk]}}, projection, **options)


class AlreadyProcessed(Exception):
    """This handler has already applied this event: the delivery is a duplicate."""


def database_name(config, service_name):
    return f"{config.get('MONGO_DB_PREFIX') or ''}{service_name}"  # an empty env var reads as None


class _SessionBound:
    """A collection whose every call runs in the transaction's session."""

    def __init__(self, collection, session):
        self._collection = collection
        self._session = session

    def __getattr__(self, name):
        attr = getattr(self._collection, name)
        return partial(attr, session=self._session) if callable(attr) else attr


class Transaction:
    """The unit of work: collections bound to one session, and `emit` into the outbox."""

    def __init__(self, db, session, worker_ctx, service_name):
        self._db = db
        self.session = session
        self._worker_ctx = worker_ctx
        self._service_name = service_name
        self.emitted = []

    def __getattr__(self, collection_name):
        if collection_name.startswith("_"):
            raise AttributeError(collection_name)
        return _SessionBound(self._db[collection_name], self.session)

    def emit(self, type, payload, version=None, cause=None):
        """Record event `type` to be published once this transaction commits.

        Raises InvalidEvent (a programming error, not bad user input) if the payload does not
        match the catalogue: the transaction is then rolled back with it. `cause`: the event
        this one follows from, where the worker handles several (a batch handler)."""
        return self.emit_many(type, [payload], version, cause)[0]

    def emit_many(self, type, payloads, version=None, cause=None):
        """`emit` for a batch of facts of one type, in one outbox write (bulk imports, payouts):
        several events share outbox documents (shared/outbox.py `outbox_documents`)."""
        data = self._worker_ctx.data
        correlation_id = cause.correlation_id if cause else ensure_correlation_id(self._worker_ctx)
        causation_id = cause.event_id if cause else data.get("causation_id")
        envelopes = [
            envelope(type, payload, version=version,
                     source=self._service_name,
                     correlation_id=correlation_id,
                     causation_id=causation_id,
                     actor=data.get(ACTOR) or None,
                     occurred_at=clock.now())
            for payload in payloads
        ]
        if envelopes:
            self._db[OUTBOX].insert_many(outbox_documents(envelopes), session=self.session)
            self.emitted.extend(envelopes)
        return envelopes


class Database:
    """What a service sees as `self.db`: its collections for reads, and `transaction()`."""

    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self.raw = provider.db
        request_id = getattr(worker_ctx.data, "request_id", None)  # RPC workers (shared/rpc.py)
        if request_id and getattr(worker_ctx, "command", None) is None:
            worker_ctx.command = Command(provider.db, worker_ctx, request_id)
        self._command = getattr(worker_ctx, "command", None)

    def __getattr__(self, collection_name):
        if collection_name.startswith("_"):
            raise AttributeError(collection_name)
        held = self._command.reads() if self._command is not None else None
        if held is not None:  # a command's last transaction is still open: read its writes
            return _SessionBound(self.raw[collection_name], held)
        return self.raw[collection_name]

    def commit_held(self):
        """A command's last transaction, held open for its result (shared/idempotency.py),
        commits now (as it would when the command opens another one)."""
        if self._command is not None:
            self._command.commit_held()

    def when_settled(self, callback):
        """Call `callback()` once a command's held transaction commits; False (no call) when
        no transaction is held, as for every worker but an RPC command."""
        return self._command is not None and self._command.when_settled(callback)

    def run_transaction(self, work, attempts=None):
        """Run `work(tx)` in one transaction and return its result; on a write conflict run it
        again from the start (it re-reads, so it decides again), then `Busy` past the budget.

        `work` must do no I/O but this database, since it can run more than once. (`attempts`
        is ignored and kept for old callers: the budget is `TRANSACTION_RETRY_SECONDS`.)"""

        def attempt():
            with self.transaction() as tx:
                return work(tx)

        return rerun_on_conflict(attempt, self._provider.retry_seconds, getattr(work, "__qualname__", None))

    @contextmanager
    def transaction(self):
        provider, command = self._provider, self._command
        if command is not None:
            command.commit_held()  # an earlier transaction of this command commits first
        session = provider.client.start_session()
        try:
            session.start_transaction(read_concern=ReadConcern("snapshot"),
                                      write_concern=WriteConcern("majority"))
            tx = Transaction(provider.db, session, self._worker_ctx, provider.service_name)
            claimed = self._claim_event(tx)
            if command is not None:
                command.claim(tx)
            yield tx
        except BaseException:
            if session.in_transaction:
                session.abort_transaction()
            session.end_session()
            raise
        if command is not None:  # committed with the command's result by the RPC entrypoint
            command.hold(session, tx, self._after_commit)
            return
        try:
            session.commit_transaction()
        finally:
            session.end_session()
        if claimed:  # committed: later transactions of this worker need not claim again
            self._worker_ctx.event_claimed = True
        self._after_commit(tx)

    def _after_commit(self, tx):
        if tx.emitted:
            self._provider.relay.wake()

    def _claim_event(self, tx):
        """In an event-handler worker, claim the (event, handler) pair in this transaction.

        Only the first committed transaction of a worker claims; if it rolls back (a write
        conflict rerun), the next attempt claims again."""
        if getattr(self._worker_ctx, "event_claimed", False):
            return False
        keys_of = getattr(self._worker_ctx.entrypoint, "processed_keys", None)
        if keys_of is not None:  # a batch: every pair in one insert; any already there, none
            now = clock.now()
            try:
                tx.processed_events.insert_many([{"_id": key, "processed_at": now}
                                                 for key in keys_of(self._worker_ctx)])
            except BulkWriteError as exc:
                if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", ())):
                    raise
                raise AlreadyProcessed("some events of the batch are applied already") from exc
            return True
        key_of = getattr(self._worker_ctx.entrypoint, "processed_key", None)
        if key_of is None:
            return False
        key = key_of(self._worker_ctx)
        try:  # no read first: the unique `_id` refuses a second claim, and a round trip is saved
            # (the transaction is rolled back either way when the event is a duplicate)
            tx.processed_events.insert_one({"_id": key, "processed_at": clock.now()})
        except DuplicateKeyError:
            raise AlreadyProcessed(key) from None
        return True


class Mongo(DependencyProvider):
    """A service's own database (from `MONGO_URI`), its indexes, and its outbox relay."""

    def __init__(self, indexes=None, relay=True, expiry=None):
        """`indexes`: {collection: [IndexModel]}; `expiry`: {collection: Expiry} (the field gets a
        plain index); `relay=False`: a service that emits no events."""
        self.indexes = indexes or {}
        self.run_relay = relay
        self.expiry = expiry or {}

    def setup(self):
        config = self.container.config
        self.service_name = self.container.service_name
        # journal=True: a write acknowledged outside a transaction is on disk (j: true); commits
        # are made durable by the server (SecantusDB: --sync-on-commit, see README).
        self.client = MongoClient(config["MONGO_URI"], tz_aware=True, connect=False, journal=True,
                                  serverSelectionTimeoutMS=int(config.get("MONGO_TIMEOUT_MS", 10000)))
        self.db = self.client[database_name(config, self.service_name)]
        self.relay = OutboxRelay(self.db, config["AMQP_URI"], self.service_name, config)
        self.retry_seconds = float(config.get("TRANSACTION_RETRY_SECONDS", RETRY_SECONDS))

    def start(self):
        expiry = self._expiry()
        for collection, rule in expiry.items():
            for name, index in self.db[collection].index_information().items():
                if "expireAfterSeconds" in index:  # the TTL index of earlier versions
                    self.db[collection].drop_index(name)
            self.db[collection].create_index(rule.field, name=rule.field)
        for collection, names in DROPPED_INDEXES.items():
            present = self.db[collection].index_information()
            for name in names:
                if name in present:
                    try:
                        self.db[collection].drop_index(name)
                    except OperationFailure:  # a peer starting beside us dropped it first
                        pass
        for collection, models in {**KIT_INDEXES, **self.indexes}.items():
            if models:
                self.db[collection].create_indexes(models)
        self._pruner = self.container.spawn_managed_thread(partial(self._prune, expiry), identifier="prune")
        # OUTBOX_RELAY=false runs an instance that writes but leaves publishing to its peers.
        if self.run_relay and self.container.config.get("OUTBOX_RELAY", True):
            self.relay.start(self.container)

    def _expiry(self):
        kept_days = float(self.container.config.get("CLAIMS_KEPT_DAYS", 90))
        claims = Expiry(KIT_EXPIRY[PROCESSED].field, timedelta(days=kept_days))
        return {**KIT_EXPIRY, PROCESSED: claims, **self.expiry}

    def _prune(self, expiry):
        """Delete what has expired, every `PRUNE_SECONDS` (hourly): one indexed range delete per
        collection. (Event claims are kept `CLAIMS_KEPT_DAYS`: a redelivery that late is not expected.)"""
        every = float(self.container.config.get("PRUNE_SECONDS", 3600))
        while True:
            eventlet.sleep(every)
            for collection, rule in expiry.items():
                try:
                    self.db[collection].delete_many({rule.field: {"$lt": clock.now() - rule.keep}})
                except PyMongoError as exc:
                    log.warning("could not prune %s of %s: %r", collection, self.service_name, exc)

    def stop(self):
        self._stop_pruner()
        self.relay.stop()
        self.client.close()

    def kill(self):
        self._stop_pruner()
        self.relay.stop()
        self.client.close()

    def _stop_pruner(self):
        pruner, self._pruner = getattr(self, "_pruner", None), None
        if pruner is not None:
            pruner.kill()  # it only sleeps or deletes expired records: nothing to finish

    def get_dependency(self, worker_ctx):
        return Database(self, worker_ctx)


