"""The event catalogue: every event type, its versions and payload schemas, in one place.

Producers register their events in `shared/events/<producer>.py` with `@event(...)`;
consumers import the same schemas. A producer cannot emit a payload that does not validate;
a consumer turns an invalid or unknown event into `InvalidEvent` (dead-lettered, not retried).
"""

from dataclasses import dataclass
from functools import cache

from marshmallow import EXCLUDE, Schema, ValidationError

from shared.events.envelope import EnvelopeSchema, Event, new_event_id


class UnknownEvent(LookupError):
    pass


class InvalidEvent(ValueError):
    """An event that no retry can fix: unknown type or version, or a payload that fails its schema."""

    def __init__(self, message, errors=None):
        self.errors = errors or {}
        super().__init__(f"{message}: {self.errors}" if self.errors else message)


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    schema: type[Schema]
    description: str

    @property
    def source(self):
        return self.type.split(".", 1)[0]

    @property
    def name(self):
        return self.type.split(".", 1)[1]


_specs: dict[tuple[str, int], EventSpec] = {}


def event(type, version=1, description=""):
    """Class decorator registering a payload schema as event `type` at `version`."""
    if type.count(".") != 1:
        raise ValueError(f"event type must be '<producer>.<fact>', got {type!r}")

    def register(schema_cls):
        key = (type, version)
        if key in _specs and _specs[key].schema is not schema_cls:
            raise ValueError(f"event {type} v{version} is registered twice")
        doc = description or ((schema_cls.__doc__ or "").strip().splitlines() or [""])[0]
        _specs[key] = EventSpec(type, version, schema_cls, doc)
        return schema_cls

    return register


def spec(type, version=None):
    """The spec of `type` at `version`, or its latest version when `version` is None."""
    if version is None:
        versions = [v for (t, v) in _specs if t == type]
        if not versions:
            raise UnknownEvent(f"unknown event type {type!r}")
        version = max(versions)
    try:
        return _specs[(type, version)]
    except KeyError:
        raise UnknownEvent(f"unknown event {type!r} version {version}") from None


def all_specs():
    return sorted(_specs.values(), key=lambda s: (s.type, s.version))


@cache
def _schema(schema_cls):
    """One instance per schema class: building one deep-copies every field, and it was half the
    cost of a bulk import's emit_many (py-spy); marshmallow schemas are reusable across calls."""
    return schema_cls()


def envelope(type, payload, *, source, correlation_id, causation_id=None, actor=None,
             occurred_at, version=None):
    """Build a validated envelope (a JSON-ready dict). Raises `InvalidEvent` on a bad payload."""
    try:
        event_spec = spec(type, version)
    except UnknownEvent as exc:
        raise InvalidEvent(str(exc)) from None
    if event_spec.source != source:
        raise InvalidEvent(f"{source} may not emit {type}: only {event_spec.source} does")
    schema = _schema(event_spec.schema)
    try:
        data = schema.dump(payload)
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"payload of {type} cannot be serialised", {"payload": [str(exc)]}) from None
    errors = schema.validate(data)
    if errors:
        raise InvalidEvent(f"payload of {type} v{event_spec.version} is invalid", errors)
    return _schema(EnvelopeSchema).dump({
        "event_id": new_event_id(),
        "type": type,
        "version": event_spec.version,
        "occurred_at": occurred_at,
        "source": source,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "actor": actor,
        "payload": data,
    })


def parse(body, expected_type=None):
    """Turn a received message body into an `Event`. Raises `InvalidEvent`."""
    if not isinstance(body, dict):
        raise InvalidEvent("event body is not an object")
    try:
        data = _schema(EnvelopeSchema).load(body, unknown=EXCLUDE)
    except ValidationError as exc:
        raise InvalidEvent("invalid envelope", exc.normalized_messages()) from None
    if expected_type and data["type"] != expected_type:
        raise InvalidEvent(f"expected {expected_type}, got {data['type']}")
    try:
        event_spec = spec(data["type"], data["version"])
    except UnknownEvent as exc:
        raise InvalidEvent(str(exc)) from None
    try:
        # EXCLUDE: a producer may add optional fields within a version without breaking us.
        data["payload"] = _schema(event_spec.schema).load(data["payload"], unknown=EXCLUDE)
    except ValidationError as exc:
        raise InvalidEvent(f"payload of {data['type']} v{data['version']} is invalid",
                           exc.normalized_messages()) from None
    return Event(**data)
