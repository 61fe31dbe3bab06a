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


deserialize_to_instance(CommandRefused)


def invalid(field, reason, message=None):
    """Shorthand for the common one-field refusal."""
    return InvalidInput(message or f"invalid {field}", {field: [reason]})
