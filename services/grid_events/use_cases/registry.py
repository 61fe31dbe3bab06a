"""Asking the registry, in the caller's words.

A refusal from the registry names the registry's fields (`code`, `building`, `unit`): the caller
of grid_events never sent those. `asked` passes the refusal on as the same kind (NotFound stays
NotFound) under the field of grid_events' own request it came from."""

from shared.errors import CommandRefused


def asked(call, field=None):
    """`call()`; a registry refusal comes back under `field` (None: with no fields at all)."""
    try:
        return call()
    except CommandRefused as exc:
        reasons = [str(reason) for reasons in exc.fields.values()
                   for reason in (reasons if isinstance(reasons, list) else [reasons])] or [exc.message]
        raise type(exc)(exc.message, {field: reasons} if field else {}, code=exc.code) from None
