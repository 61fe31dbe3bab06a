"""Structured errors, both ways over RPC.

A service raises a `CommandRefused` subclass (or lets marshmallow raise `ValidationError`,
which the RPC entrypoint maps to `InvalidInput`). nameko serialises the exception's args;
because every class here is registered with `deserialize_to_instance`, the caller gets the
same class back, with `code`, `message` and `fields`, instead of a bare `RemoteError`.
The gateway maps `http_status` in one place.
"""

from nameko.exceptions import deserialize_to_instance


class CommandRefused(Exception):
    """A command or query the service will not carry out. Nothing was written."""

    code = "refused"
    http_status = 409
    retriable = False  # True: the same request may succeed later, unchanged

    def __init__(self, message, fields=None, code=None):
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code
        # args travel over the wire and come back through __init__, so keep their order.
        super().__init__(message, self.fields, self.code)

    def to_dict(self):
        return {"code": self.code, "message": self.message, "fields": self.fields}

    def __str__(self):
        if self.fields:
            return f"{self.message}: {self.fields}"
        return self.message


@deserialize_to_instance
class InvalidInput(CommandRefused):
    """The request is malformed: `fields` maps each bad field to its reasons."""

    code = "invalid_input"
    http_status = 400


@deserialize_to_instance
class NotFound(CommandRefused):
    code = "not_found"
    http_status = 404


@deserialize_to_instance
class Conflict(CommandRefused):
    """The request is well-formed but clashes with the current state (duplicate, illegal transition)."""

    code = "conflict"
    http_status = 409


@deserialize_to_instance
class Forbidden(CommandRefused):
    """The caller's role or grid does not allow this."""

    code = "forbidden"
    http_status = 403


@deserialize_to_instance
class Busy(CommandRefused):
    """Concurrent writes kept colliding for longer than the retry budget. Nothing was written;
    the same request may be sent again (the gateway answers 503 with Retry-After)."""

    code = "busy"
    http_status = 503
    retriable = True


@deserialize_to_instance
class Unavailable(CommandRefused):
    """Not carried out because a database or broker could not be reached: send it again (with the
    same request id, a command that did go through answers with its first result)."""

    code = "unavailable"
    http_status = 503
    retriable = True


deserialize_to_instance(CommandRefused)


def invalid(field, reason, message=None):
    """Shorthand for the common one-field refusal."""
    return InvalidInput(message or f"invalid {field}", {field: [reason]})


def not_found(what, field, value):
    """The one shape of "there is no such thing": `no such incident`, {incident_id: [unknown ...]}."""
    return NotFound(f"no such {what}", {field: [f"unknown {what} {value!r}"]})


class BatchErrors:
    """Collects per-item refusals of a batch; a batch of one reports plain field names."""

    def __init__(self, size):
        self.size = size
        self.fields = {}

    def add(self, index, exc):
        prefix = "" if self.size == 1 else f"items.{index}."
        for field, reasons in exc.fields.items():
            self.fields.setdefault(prefix + field, []).extend(reasons)

    def check(self, message):
        if self.fields:
            raise InvalidInput(message, self.fields)


def check_each(items, check, message, refusals=(InvalidInput,)):
    """`check(index, item)` for every item; return their results, or refuse the whole batch with
    every item's reasons at once (`items.<i>.<field>`), so a 2,000-line import is fixed in one go.

    A batch of one keeps a refusal other than InvalidInput as it is (a Conflict stays a Conflict)."""
    errors = BatchErrors(len(items))
    results = []
    for index, item in enumerate(items):
        try:
            results.append(check(index, item))
        except refusals as exc:
            if len(items) == 1 and not isinstance(exc, InvalidInput):
                raise
            errors.add(index, exc)
    errors.check(message)
    return results
