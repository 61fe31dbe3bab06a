"""The envelope every event travels in; its payload is checked against the catalogue."""

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from marshmallow import Schema, fields


class EnvelopeSchema(Schema):
    event_id = fields.Str(required=True)
    type = fields.Str(required=True)  # "<producer>.<fact>", e.g. "grid_events.incident_reported"
    version = fields.Int(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    source = fields.Str(required=True)
    correlation_id = fields.Str(required=True)
    causation_id = fields.Str(allow_none=True, load_default=None)
    actor = fields.Dict(allow_none=True, load_default=None)
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    """What a handler receives: the envelope, with `payload` loaded by its catalogue schema."""

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    source: str
    correlation_id: str
    causation_id: str | None
    actor: dict | None
    payload: dict

    @property
    def name(self):
        """The fact without its producer: "incident_reported"."""
        return self.type.split(".", 1)[1]

    def as_dict(self):
        return asdict(self)


def new_event_id():
    return uuid.uuid4().hex
