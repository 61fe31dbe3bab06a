"""The RPC entrypoint every service uses: the one place where errors become structured.

- marshmallow's `ValidationError` becomes `InvalidInput` with its field messages;
- a unique-index race (`DuplicateKeyError`) becomes `Conflict`;
- `CommandRefused` subclasses travel as they are and come back as the same class;
- a call with the wrong arguments (nameko's `IncorrectSignature`) or a request body over
  `RPC_MAX_PAYLOAD_BYTES` (default 1 MiB) is refused as `InvalidInput` before any worker runs.
These are expected outcomes, logged in one INFO line without a trace; anything else is a bug and
logged as one.

It is also where the service's access policy (shared/access.py) is enforced: a service whose class
has a `policy` must give every RPC a row (checked at start), and a call the row refuses is answered
`Forbidden` before any worker runs.
"""

import logging
import time

from marshmallow import ValidationError
from nameko.exceptions import IncorrectSignature
from nameko.rpc import Rpc as NamekoRpc
from pymongo.errors import DuplicateKeyError

from shared.context import ACTOR, CORRELATION_ID
from shared.errors import CommandRefused, Conflict, InvalidInput

log = logging.getLogger(__name__)

DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
EXPECTED = (CommandRefused, ValidationError, DuplicateKeyError)


class _ExpectedRefusalsAreNotErrors(logging.Filter):
    """nameko logs every expected exception of a worker as a WARNING with its trace; `handle_result`
    below already logs each refusal in one INFO line."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, EXPECTED)


logging.getLogger("nameko.containers").addFilter(_ExpectedRefusalsAreNotErrors())


def structured(exc):
    if isinstance(exc, ValidationError):
        return InvalidInput("invalid input", exc.normalized_messages())
    if isinstance(exc, DuplicateKeyError):
        key = list((exc.details or {}).get("keyValue", {}) or {"record": None})
        return Conflict("already exists", {field: ["already exists"] for field in key})
    return exc


class Rpc(NamekoRpc):
    def __init__(self, expected_exceptions=(), **kwargs):
        super().__init__(expected_exceptions=EXPECTED + tuple(expected_exceptions), **kwargs)

    @property
    def policy(self):
        # Transitional: services without a `policy` are not checked yet (issue 13 gives each one).
        return getattr(self.container.service_cls, "policy", None)

    def setup(self):
        super().setup()
        if self.policy is not None and self.method_name not in self.policy:
            raise RuntimeError(f"{self.container.service_name}.{self.method_name} has no row in the "
                               "service's access policy")

    def handle_message(self, body, message):
        message.received_at = time.perf_counter()
        try:
            self._admit(body, message)
        except CommandRefused as exc:
            log.info("rpc %s.%s %s", self.container.service_name, self.method_name, exc.code,
                     extra={"service": self.container.service_name})
            raise  # nameko's RPC consumer replies with it; no worker runs
        return super().handle_message(body, message)

    def _admit(self, body, message):
        """Refuse, before any worker runs, what no worker should see."""
        limit = self.container.config.get("RPC_MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES)
        if len(message.body or b"") > limit:
            raise InvalidInput("request too large", {"payload": [f"at most {limit} bytes"]})
        if self.policy is not None:
            self.policy.grant(self.method_name, self.unpack_message_headers(message).get(ACTOR))
        if not isinstance(body, dict):
            return  # nameko answers MalformedRequest
        try:
            self.check_signature(body.get("args") or (), body.get("kwargs") or {})
        except IncorrectSignature as exc:
            raise InvalidInput(f"{self.method_name} takes other arguments",
                               {"payload": [str(exc)[:200]]}) from None

    def handle_result(self, message, worker_ctx, result, exc_info):
        outcome = "ok"
        if exc_info is not None:
            exc = structured(exc_info[1])
            exc_info = (type(exc), exc, exc_info[2])
            outcome = exc.code if isinstance(exc, CommandRefused) else f"error {type(exc).__name__}"
        elapsed = (time.perf_counter() - getattr(message, "received_at", time.perf_counter())) * 1000
        log.info("rpc %s.%s %s in %.1f ms", self.container.service_name, self.method_name, outcome, elapsed,
                 extra={"correlation_id": worker_ctx.data.get(CORRELATION_ID),
                        "service": self.container.service_name})
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = Rpc.decorator
