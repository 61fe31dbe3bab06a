"""The RPC entrypoint every service uses: the one place where errors become structured.

- marshmallow's `ValidationError` becomes `InvalidInput` with its field messages;
- a unique-index race (`DuplicateKeyError`, or an `insert_many` whose every failure is a duplicate
  key) becomes `Conflict`;
- `CommandRefused` subclasses travel as they are and come back as the same class;
- a call with the wrong arguments (nameko's `IncorrectSignature`) or a request body over
  `RPC_MAX_PAYLOAD_BYTES` (default 1 MiB) is refused as `InvalidInput` before any worker runs.
- an unreachable database becomes `Unavailable` (retriable).
These are expected outcomes, logged in one INFO line without a trace; anything else is a bug and
logged as one.

It is where the broker's word on who sent a request is checked: the AMQP `user_id` of the message,
which RabbitMQ validated against the connection's user (shared/amqp.py stamps it). A request is
admitted only from a broker account that `AMQP_TRUSTED_USERS` names (the services' own accounts
and the gateway's), and only with an actor that account may present (shared/amqp.py `Senders`):
a person's actor from the gateway's account (`AMQP_GATEWAY_USERS`), a service's SYSTEM actor from
that service's own account (or a tooling account, `AMQP_TOOL_USERS`). Anything else (another
account, no `user_id` at all, the market's account presenting a community admin or the registry's
system actor) is refused with `Forbidden` on field `actor` before any worker runs.

It is also where the service's access policy (shared/access.py) is enforced: a service with RPCs
must have a `policy` giving every RPC a row (checked at start: without one it does not start), and
a call the row refuses is answered `Forbidden` before any worker runs.

Every call is a command the kit makes idempotent (shared/idempotency.py): its request id is the
caller's `request_id` context key or the message's correlation id. A reply that cannot be
published (the broker went away) does not kill the service: the request is requeued, and its
repeat is answered from the stored result.
"""

import logging
import time

from marshmallow import ValidationError
from nameko.exceptions import IncorrectSignature
from nameko.rpc import Rpc as NamekoRpc
from nameko.rpc import RpcConsumer
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError

from shared.amqp import Senders, queue_arguments
from shared.context import ACTOR, CORRELATION_ID
from shared.errors import CommandRefused, Conflict, Forbidden, InvalidInput, Unavailable
from shared.idempotency import REQUEST_ID, AlreadyRequested, ContextData

log = logging.getLogger(__name__)

DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
EXPECTED = (CommandRefused, ValidationError, DuplicateKeyError, ConnectionFailure, AlreadyRequested)


class _ExpectedRefusalsAreNotErrors(logging.Filter):
    """nameko logs every expected exception of a worker as a WARNING with its trace; `handle_result`
    below already logs each refusal in one INFO line."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, EXPECTED) or duplicate_keys(exc))


def duplicate_keys(exc):
    """The fields of the unique keys a bulk write collided on, if every failure is a duplicate key
    (a batch registration racing another); None for any other error."""
    if not isinstance(exc, BulkWriteError):
        return None
    errors = (exc.details or {}).get("writeErrors") or ()
    if not errors or any(error.get("code") != 11000 for error in errors):
        return None
    return sorted({field for error in errors for field in (error.get("keyValue") or {"record": None})})


logging.getLogger("nameko.containers").addFilter(_ExpectedRefusalsAreNotErrors())


def structured(exc):
    if isinstance(exc, ValidationError):
        return InvalidInput("invalid input", exc.normalized_messages())
    if isinstance(exc, DuplicateKeyError):
        key = list((exc.details or {}).get("keyValue", {}) or {"record": None})
        return Conflict("already exists", {field: ["already exists"] for field in key})
    if duplicate_keys(exc):
        return Conflict("already exists", {field: ["already exists"] for field in duplicate_keys(exc)})
    if isinstance(exc, ConnectionFailure):
        return Unavailable("the database is unavailable; send it again")
    if isinstance(exc, AlreadyRequested):
        return Conflict("this request is being carried out", {REQUEST_ID: ["in progress"]},
                        code="in_progress")
    return exc


class TypedRpcConsumer(RpcConsumer):
    """nameko's `rpc-<service>` queue, declared with the configured QUEUE_TYPE (shared/amqp.py)."""

    def setup(self):
        super().setup()
        self.queue.queue_arguments = {**(self.queue.queue_arguments or {}),
                                      **queue_arguments(self.container.config)}


class Rpc(NamekoRpc):
    rpc_consumer = TypedRpcConsumer()

    def __init__(self, expected_exceptions=(), **kwargs):
        super().__init__(expected_exceptions=EXPECTED + tuple(expected_exceptions), **kwargs)

    @property
    def policy(self):
        return getattr(self.container.service_cls, "policy", None)

    def setup(self):
        super().setup()
        self.senders = Senders.from_config(self.container.config)
        if self.policy is None:
            raise RuntimeError(f"{self.container.service_name} has RPCs but no access policy "
                               "(a `policy = Policy({...})` on the service class)")
        if self.method_name not in self.policy:
            raise RuntimeError(f"{self.container.service_name}.{self.method_name} has no row in the "
                               "service's access policy")

    def handle_message(self, body, message):
        message.received_at = time.perf_counter()
        try:
            self._admit(body, message)
        except CommandRefused as exc:
            log.info("rpc %s.%s %s %s", self.container.service_name, self.method_name, exc.code,
                     exc.fields, extra={"service": self.container.service_name})
            raise  # nameko's RPC consumer replies with it; no worker runs
        return super().handle_message(body, message)

    def _admit(self, body, message):
        """Refuse, before any worker runs, what no worker should see."""
        limit = self.container.config.get("RPC_MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES)
        if len(message.body or b"") > limit:
            raise InvalidInput("request too large", {"payload": [f"at most {limit} bytes"]})
        sender = message.properties.get("user_id")
        actor = self.unpack_message_headers(message).get(ACTOR)
        refusal = self.senders.refusal(sender, actor)
        if refusal:
            raise Forbidden("this broker account may not present this actor", {"actor": [refusal]})
        self.policy.grant(self.method_name, actor)
        if not isinstance(body, dict):
            return  # nameko answers MalformedRequest
        try:
            self.check_signature(body.get("args") or (), body.get("kwargs") or {})
        except IncorrectSignature as exc:
            raise InvalidInput(f"{self.method_name} takes other arguments",
                               {"payload": [str(exc)[:200]]}) from None

    def unpack_message_headers(self, message):
        data = ContextData(super().unpack_message_headers(message))
        data.request_id = data.pop(REQUEST_ID, None) or f"amqp:{message.properties.get('correlation_id')}"
        return data

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None:
            exc = structured(exc_info[1])
            exc_info = (type(exc), exc, exc_info[2])
        command = getattr(worker_ctx, "command", None)
        if command is not None:  # commit with the result, or answer a repeat with the first one
            result, exc_info = command.finish(result, exc_info)
        outcome = "ok"
        if exc_info is not None:
            exc = exc_info[1]
            outcome = exc.code if isinstance(exc, CommandRefused) else f"error {type(exc).__name__}"
        elapsed = (time.perf_counter() - getattr(message, "received_at", time.perf_counter())) * 1000
        log.info("rpc %s.%s %s in %.1f ms", self.container.service_name, self.method_name, outcome, elapsed,
                 extra={"correlation_id": worker_ctx.data.get(CORRELATION_ID),
                        "service": self.container.service_name})
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except Exception as exc:  # noqa: BLE001 -- the broker went away: requeue, never die
            log.warning("could not reply to %s.%s (%r): requeued", self.container.service_name,
                        self.method_name, exc)
            try:
                self.rpc_consumer.queue_consumer.requeue_message(message)
            except Exception:  # noqa: BLE001 -- the connection is gone: the broker requeues it
                log.debug("requeue failed", exc_info=True)
            return result, exc_info


rpc = Rpc.decorator
