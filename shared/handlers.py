"""The reliable event handler: at-least-once in, exactly-once effect, nothing silently lost.

    @event_handler("registry", "party_member_registered")
    def create_move_in_visit(self, event):      # event: shared.events.Event, payload validated
        with self.db.transaction() as tx:       # also claims (event_id, handler): a duplicate
            ...                                 # delivery stops here as AlreadyProcessed

nameko 2.x acks an event even when its handler raised (nameko issue 387). Here the outcome of
every delivery is decided explicitly, and the message is acked only after that decision is safe:

- handled, or already handled before (a duplicate): ack.
- the handler raised: republish to a backoff queue (nameko-amqp-retry) that dead-letters it back
  to this handler's queue after a delay; ack only once that copy is confirmed.
- retries used up, or the event is invalid (unknown type/version, bad payload: no retry can fix
  that): publish to the service's dead-letter queue `<service>.dlq` with the original body and
  headers plus the reason, the exception and the attempt count; then ack.

Every exchange and queue of this machinery is the service's own, so that its broker account needs
rights on nothing another service uses (deploy/broker.py): the backoff exchange `<service>.backoff`
and its queues `<service>.backoff--<ms>ms`, which dead-letter into `<service>.retry`, a direct
exchange every handler queue of the service is bound to by its own name (nameko-amqp-retry's
shared `backoff` queues dead-letter into the default exchange, which would need the right to
publish into any queue); and `<service>.dead-letters`, the exchange of `<service>.dlq`.
- if even that publish fails (broker trouble): requeue, never ack.

Handlers are SERVICE_POOL on durable queues: events wait while the service is down.

Batches. A handler that can apply many events in one transaction says so, and receives a list:

    @event_handler("registry", "resident_registered", batch=100)
    def learn_residents(self, events):          # up to 100 events, each event id once
        with self.db.transaction() as tx:       # claims every (event, handler) pair in one insert
            tx.people.bulk_write([...])         # the effects in bulk, one commit

It takes up to `batch` deliveries (its own channel, prefetch 2 x batch, so one batch is applied
while the next fills; a partial batch goes after `linger_ms`). Deliveries of an event already
applied, and repeats of one event inside the batch, are acked without running the handler. When
the batch commits every delivery is acked; a write conflict reruns the batch; any other failure
splits it in halves, each run on its own, down to the single event at fault, which then takes the
one-by-one path (backoff queue, then DLQ): one poison event never holds back or dead-letters its
neighbours. Events emitted by a batch worker carry the first event's correlation id.
"""

import logging
import random
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import eventlet
from kombu import Exchange, Queue, binding
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.containers import ContainerBeingKilled
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import QueueConsumer
from nameko_amqp_retry import Backoff, BackoffPublisher
from nameko_amqp_retry.backoff import EXPIRY_GRACE_PERIOD
from pymongo.errors import PyMongoError

from shared import events
from shared.amqp import queue_arguments
from shared.context import ACTOR, CAUSATION_ID, CORRELATION_ID
from shared.errors import Busy
from shared.mongo import PROCESSED, AlreadyProcessed, Mongo, find_in, is_transient

log = logging.getLogger(__name__)

LEGACY_BACKOFF_EXCHANGE = "backoff"  # nameko-amqp-retry's, shared (before each service had its own)
DEFAULT_RETRY = {"schedule_ms": [1000, 5000, 30000, 120000, 600000]}
# Write conflicts between concurrent transactions are normal under load: rerun at once, a few
# times with jitter, before treating them as a failure worth a backoff queue.
IN_PLACE_RETRIES = 5


class _ExpectedOutcomesAreNotErrors(logging.Filter):
    """nameko logs every exception a worker raises with its trace. A duplicate delivery or a write
    conflict rerun at once is an expected outcome: this module logs it in one line instead."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, AlreadyProcessed | Busy) or is_transient(exc))


logging.getLogger("nameko.containers").addFilter(_ExpectedOutcomesAreNotErrors())


def dead_letter_exchange(service_name):
    return Exchange(f"{service_name}.dead-letters", type="direct", durable=True)


def dead_letter_queue(service_name, config=None):
    return Queue(f"{service_name}.dlq", exchange=dead_letter_exchange(service_name),
                 routing_key=service_name, durable=True, queue_arguments=queue_arguments(config))


def backoff_exchange(service_name):
    return Exchange(f"{service_name}.backoff", type="headers", durable=True)


def retry_exchange(service_name):
    """Where the service's backoff queues dead-letter to, and replays go: each handler queue of
    the service is bound to it with its own name as routing key."""
    return Exchange(f"{service_name}.retry", type="direct", durable=True)


def entities(payload):
    """The ids an event names (incident_id, resident_id, ...): on its log lines, so that grepping
    the logs for an id finds every step of its story."""
    return {key: value for key, value in payload.items() if key.endswith("_id") and isinstance(value, str)}


def _is_backoff(exchange):
    return exchange == LEGACY_BACKOFF_EXCHANGE or (exchange or "").endswith(".backoff")


def attempts_so_far(message):
    """Deliveries already made: 1 + the times it came back from a backoff queue."""
    retries = sum(int(death.get("count", 0)) for death in message.headers.get("x-death") or ()
                  if _is_backoff(death.get("exchange")))
    return retries + 1


class ServiceBackoffPublisher(BackoffPublisher):
    """The service's own backoff exchange and queues (see the module's docstring), of the
    configured QUEUE_TYPE. Quorum ones dead-letter back to the handler's queue at least once
    (RabbitMQ's default for quorum dead-lettering is at most once)."""

    @property
    def exchange(self):
        return backoff_exchange(self.container.service_name)

    def make_queue(self, expiration):
        service = self.container.service_name
        arguments = {"x-expires": expiration + EXPIRY_GRACE_PERIOD,
                     "x-dead-letter-exchange": retry_exchange(service).name,
                     **queue_arguments(self.container.config)}
        if "x-queue-type" in arguments:
            arguments.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
        return Queue(f"{service}.backoff--{expiration}ms", exchange=self.exchange,
                     binding_arguments={"backoff": expiration, "x-match": "any"},
                     queue_arguments=arguments)


class ReliableEventHandler(EventHandler):
    backoff_publisher = ServiceBackoffPublisher()

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, **kwargs)

    @property
    def event_type_full(self):
        return f"{self.source_service}.{self.event_type}"

    def setup(self):
        events.spec(self.event_type_full)  # an unknown event type fails at start, not at runtime
        super().setup()
        config = self.container.config
        queue = self.queue  # nameko's: bound to the source's event exchange by the event type
        # ... and to the service's retry exchange by its own name (kombu declares either binding)
        self.queue = Queue(queue.name, durable=queue.durable, auto_delete=queue.auto_delete,
                           exclusive=queue.exclusive,
                           queue_arguments={**(queue.queue_arguments or {}), **queue_arguments(config)},
                           bindings=[binding(queue.exchange, routing_key=queue.routing_key),
                                     binding(retry_exchange(self.container.service_name),
                                             routing_key=queue.name)])
        retry = {**DEFAULT_RETRY, **config.get("EVENT_RETRY", {})}
        schedule = tuple(retry["schedule_ms"])
        # nameko-amqp-retry reads its schedule from the class: one subclass per handler.
        self.backoff = type("HandlerBackoff", (Backoff,), {
            "schedule": schedule, "limit": len(schedule),
            "random_sigma": max(1, min(schedule) // 10),
        })
        self.dlq = dead_letter_queue(self.container.service_name, config)
        self.dead_letter_publisher = Publisher(config[AMQP_URI_CONFIG_KEY],
                                               declare=[self.dlq.exchange, self.dlq])

    def unpack_message_headers(self, message):
        # Only nameko's own context travels on; broker headers (x-death ...) stay behind. An
        # event never lends an actor to its handler (the relay sends none): one in the headers
        # would travel on with the handler's RPC calls, under this service's trusted account.
        return {key[len("nameko."):]: value for key, value in message.headers.items()
                if key.startswith("nameko.") and key != f"nameko.{ACTOR}"}

    def claim_key(self, event):
        """The idempotency key the unit of work claims: one per event and handler."""
        return f"{event.event_id}:{self.method_name}"

    def processed_key(self, worker_ctx):
        return self.claim_key(worker_ctx.args[0])

    def parse(self, body, message):
        """The event in `body`, or None once a malformed one is dead-lettered (no retry mends it)."""
        try:
            return events.parse(body, expected_type=self.event_type_full)
        except events.InvalidEvent as exc:
            log.error("invalid event on %s: %s", self.queue.name, exc)
            self._settle_failure(message, exc, retry=False)
            return None

    def handle_message(self, body, message):
        event = self.parse(body, message)
        if event is None:
            return
        context_data = self.unpack_message_headers(message)
        context_data[CORRELATION_ID] = event.correlation_id
        context_data[CAUSATION_ID] = event.event_id
        try:
            self.container.spawn_worker(self, (event,), {}, context_data=context_data,
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        try:
            self._settle(message, worker_ctx, exc_info)
        except Exception as exc:  # noqa: BLE001 -- the broker went away while settling
            # The message is unacked on a connection that is gone: the broker delivers it again,
            # and the claim makes that a duplicate. Raising here would kill the whole service.
            log.warning("could not settle a message of %s (%r): it will be redelivered",
                        self.queue.name, exc)
        return result, exc_info

    def _settle(self, message, worker_ctx, exc_info):
        event = worker_ctx.args[0]
        trace = {"correlation_id": event.correlation_id, "event_type": event.type,
                 "event_id": event.event_id, "service": self.container.service_name,
                 "entities": entities(event.payload)}
        if exc_info is not None and isinstance(exc_info[1], AlreadyProcessed):
            log.info("duplicate delivery to %s ignored: already applied", self.method_name, extra=trace)
            self.queue_consumer.ack_message(message)
        elif exc_info is None:
            log.info("handled by %s", self.method_name, extra=trace)
            self.queue_consumer.ack_message(message)
        elif is_transient(exc_info[1]) and self._rerun(message, worker_ctx):
            pass  # a fresh worker now owns the message
        else:
            self._settle_failure(message, exc_info[1], retry=True)

    def _rerun(self, message, worker_ctx):
        reruns = getattr(message, "in_place_reruns", 0)
        if reruns >= IN_PLACE_RETRIES:
            return False
        message.in_place_reruns = reruns + 1
        log.info("write conflict in %s: rerun %d", self.method_name, reruns + 1)
        args, context_data = worker_ctx.args, dict(worker_ctx.data)

        def respawn():
            # From a thread of its own, once this worker has ended: spawning from inside the
            # worker would wait for a free slot while holding one (a deadlock at max_workers).
            eventlet.sleep(random.uniform(0.002, 0.02) * (reruns + 1))
            try:
                self.container.spawn_worker(self, args, {}, context_data=context_data,
                                            handle_result=partial(self.handle_result, message))
            except ContainerBeingKilled:
                self.queue_consumer.requeue_message(message)

        self.container.spawn_managed_thread(respawn, identifier=f"rerun {self.method_name}")
        return True

    def _settle_failure(self, message, exc, retry):
        try:
            if retry:
                try:
                    self.backoff_publisher.republish(self.backoff(), message, self.queue.name)
                    log.warning("%s failed on attempt %d: %r; it will be retried", self.method_name,
                                attempts_so_far(message), exc)
                    self.queue_consumer.ack_message(message)
                    return
                except Backoff.Expired:
                    pass
            self._dead_letter(message, exc)
            self.queue_consumer.ack_message(message)
        except Exception:
            log.exception("could not retry or dead-letter a message of %s; requeued",
                          self.queue.name)
            self.queue_consumer.requeue_message(message)

    def _dead_letter(self, message, exc):
        headers = dict(message.headers)
        headers.update({
            "x-original-queue": self.queue.name,
            "x-original-exchange": message.delivery_info.get("exchange") or "",
            "x-original-routing-key": self.event_type,
            "x-error": str(exc)[:2000],
            "x-error-type": type(exc).__name__,
            "x-traceback": "".join(traceback.format_exception(exc))[-4000:],
            "x-attempts": attempts_so_far(message),
            "x-dead-lettered-at": datetime.now(UTC).isoformat(),
        })
        headers.pop("backoff", None)
        self.dead_letter_publisher.publish(
            message.body, exchange=self.dlq.exchange, routing_key=self.container.service_name,
            headers=headers, content_type=message.content_type, delivery_mode=2,
        )
        log.error("dead-lettered a message of %s after %s attempt(s): %s",
                  self.queue.name, headers["x-attempts"], exc)


class BatchQueueConsumer(QueueConsumer):
    """The consumer channel of batch handlers: prefetch is per channel in nameko, and a batch
    needs more deliveries in hand than the worker pool's size the other handlers use."""

    @property
    def prefetch_count(self):
        return max((p.prefetch for p in self._providers), default=self.container.max_workers)


@dataclass
class _Batch:
    groups: list  # [[(event, message), ...] per event id]: repeats of one event travel together
    reruns: int = 0

    @property
    def events(self):
        return [group[0][0] for group in self.groups]

    @property
    def messages(self):
        return [message for group in self.groups for _, message in group]


class BatchGathering:
    """Mixin of an event entrypoint that takes its deliveries `batch` at a time, on a channel of
    their own (prefetch 2 x batch, so one batch is applied while the next fills); a partial batch
    goes after `linger_ms`. The entrypoint passes each delivery to `gather`, and gets the lists
    back in `apply_batch`."""

    queue_consumer = BatchQueueConsumer()

    def __init__(self, *args, batch=100, linger_ms=20, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch = batch
        self.prefetch = 2 * batch
        self.linger = linger_ms / 1000
        self._waiting = []
        self._flush_due = False

    def gather(self, item):
        self._waiting.append(item)
        if len(self._waiting) >= self.batch:
            self._flush()
        elif not self._flush_due:
            self._flush_due = True
            self.container.spawn_managed_thread(self._flush_later, identifier=f"batch {self.method_name}")

    def apply_batch(self, items):
        raise NotImplementedError

    def _flush_later(self):
        eventlet.sleep(self.linger)
        self._flush()

    def _flush(self):
        taken, self._waiting, self._flush_due = self._waiting, [], False
        if taken:
            self.apply_batch(taken)

    def stop(self):
        super().stop()  # no more deliveries: apply what is waiting rather than leave it unacked
        self._flush()


class BatchEventHandler(BatchGathering, ReliableEventHandler):
    def processed_keys(self, worker_ctx):
        return [self.claim_key(event) for event in worker_ctx.args[0]]

    def handle_message(self, body, message):
        event = self.parse(body, message)
        if event is not None:
            self.gather((event, message))

    def apply_batch(self, items):
        groups = {}
        for event, message in items:
            groups.setdefault(event.event_id, []).append((event, message))
        self._run(_Batch(list(groups.values())))

    def _run(self, batch):
        """Spawn a worker for the events of `batch` not applied yet; ack the others at once."""
        batch.groups = self._not_yet_applied(batch.groups)
        if not batch.groups:
            return
        first = batch.events[0]
        context_data = self.unpack_message_headers(batch.groups[0][0][1])
        context_data[CORRELATION_ID] = first.correlation_id
        try:
            self.container.spawn_worker(self, (batch.events,), {}, context_data=context_data,
                                        handle_result=partial(self.handle_batch_result, batch))
        except ContainerBeingKilled:
            for message in batch.messages:
                self.queue_consumer.requeue_message(message)

    def _not_yet_applied(self, groups):
        keys = {self.claim_key(group[0][0]): group for group in groups}
        mongo = next(dep for dep in self.container.dependencies if isinstance(dep, Mongo))
        try:
            done = {d["_id"] for d in find_in(mongo.db[PROCESSED], "_id", keys, {"_id": 1})}
        except PyMongoError:  # only a shortcut: the claim in the transaction decides anyway
            log.warning("could not read which events %s has applied", self.method_name, exc_info=True)
            return groups
        for key in done:
            log.info("duplicate delivery to %s ignored: already applied", self.method_name,
                     extra={"event_id": key.split(":")[0], "service": self.container.service_name})
            for _, message in keys[key]:
                self.queue_consumer.ack_message(message)
        return [group for key, group in keys.items() if key not in done]

    def handle_batch_result(self, batch, worker_ctx, result=None, exc_info=None):
        try:
            self._settle_batch(batch, exc_info)
        except Exception as exc:  # noqa: BLE001 -- the broker went away while settling
            # unacked on a connection that is gone: redelivered, and the claims make them duplicates
            log.warning("could not settle a batch of %s (%r): it will be redelivered", self.queue.name, exc)
        return result, exc_info

    def _settle_batch(self, batch, exc_info):
        exc = exc_info[1] if exc_info is not None else None
        events_ = batch.events
        trace = {"correlation_id": events_[0].correlation_id, "event_type": events_[0].type,
                 "event_id": events_[0].event_id, "service": self.container.service_name}
        if exc is None:
            log.info("handled %d event(s) by %s (%s .. %s)", len(events_), self.method_name,
                     events_[0].event_id, events_[-1].event_id, extra=trace)
            for message in batch.messages:
                self.queue_consumer.ack_message(message)
        elif isinstance(exc, AlreadyProcessed | Busy) or is_transient(exc):
            # a concurrent worker applied some of them, or a write conflict: run again, which
            # leaves out what is applied by now
            if batch.reruns < IN_PLACE_RETRIES:
                batch.reruns += 1
                log.info("batch of %s ran into %s: rerun %d", self.method_name, type(exc).__name__,
                         batch.reruns, extra=trace)
                self._respawn(batch, delay=random.uniform(0.002, 0.02) * batch.reruns)
            else:
                self._split_or_settle(batch, exc)
        else:
            self._split_or_settle(batch, exc)

    def _split_or_settle(self, batch, exc):
        if len(batch.groups) == 1:
            for _, message in batch.groups[0]:
                self._settle_failure(message, exc, retry=True)
            return
        half = len(batch.groups) // 2
        log.warning("a batch of %d in %s failed (%r): split to isolate the event at fault",
                    len(batch.groups), self.method_name, exc)
        self._respawn(_Batch(batch.groups[:half]))
        self._respawn(_Batch(batch.groups[half:]))

    def _respawn(self, batch, delay=0):
        def respawn():  # from a thread of its own: the failed worker still holds its pool slot
            eventlet.sleep(delay)
            self._run(batch)

        self.container.spawn_managed_thread(respawn, identifier=f"rerun {self.method_name}")


def event_handler(source_service, event_type, batch=None, **kwargs):
    """`@event_handler(source, fact)`: the handler takes one event; with `batch=N` a list of up
    to N events, applied in one transaction (see the module's docstring)."""
    if batch:
        return BatchEventHandler.decorator(source_service, event_type, batch=batch, **kwargs)
    return ReliableEventHandler.decorator(source_service, event_type, **kwargs)
