"""RPC inputs and outputs of the notifications service."""

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notifications.domain import CHANNELS, LANGUAGES, STATUSES, TOPICS
from shared.views import Instant, View

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
TARGET_KINDS = ("person", "grid_staff", "grid_households")


class Target(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(TARGET_KINDS))
    person_id = fields.Str(load_default=None, validate=validate.Length(min=1))
    grid_code = fields.Str(load_default=None, validate=validate.Length(min=1))

    @validates_schema
    def _needs(self, data, **kwargs):
        if data["kind"] == "person" and not data.get("person_id"):
            raise ValidationError("a person target needs person_id", "person_id")
        if data["kind"] != "person" and not data.get("grid_code"):
            raise ValidationError("a grid target needs grid_code", "grid_code")


class SendAnnouncement(Schema):
    """A staff announcement (通知公告) to a person, a grid's staff, or every household of a grid."""

    target = fields.Nested(Target, required=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    critical = fields.Bool(load_default=False)
    request_id = fields.Str(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$"))


class QuietHours(Schema):
    start = fields.Str(required=True, validate=validate.Regexp(HHMM, error="HH:MM, 24-hour"))
    end = fields.Str(required=True, validate=validate.Regexp(HHMM, error="HH:MM, 24-hour"))


class SetPreferences(Schema):
    person_id = fields.Str(required=True, validate=validate.Length(min=1))
    channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), validate=validate.Length(min=1))
    opt_outs = fields.List(fields.Str(validate=validate.OneOf(TOPICS)))
    language = fields.Str(validate=validate.OneOf(LANGUAGES))
    quiet_hours = fields.Nested(QuietHours, allow_none=True)  # None: no quiet hours


class InboxQuery(Schema):
    person_id = fields.Str(required=True, validate=validate.Length(min=1))
    unread_only = fields.Bool(load_default=False)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


class MarkRead(Schema):
    person_id = fields.Str(required=True, validate=validate.Length(min=1))
    message_ids = fields.List(fields.Str(), required=True, validate=validate.Length(min=1, max=500))


class AnnouncementRef(Schema):
    announcement_id = fields.Str(required=True, validate=validate.Length(min=1, max=60))


class LogQuery(Schema):
    event_id = fields.Str()
    recipient = fields.Str()
    status = fields.Str(validate=validate.OneOf(STATUSES))
    channel = fields.Str()
    topic = fields.Str()
    grid_code = fields.Str()
    household_id = fields.Str()
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


# ---------------------------------------------------------------- output views


class Attempt(View):
    no = fields.Int()
    at = Instant()
    channel = fields.Str()
    ok = fields.Bool()
    response = fields.Str()


class Notification(View):
    """One record of the delivery log."""

    optional = ("sent_at", "fallback_from")

    id = fields.Str(attribute="_id")
    event_id = fields.Str()
    event_type = fields.Str()
    topic = fields.Str()
    critical = fields.Bool()
    recipient = fields.Str()
    household_id = fields.Str(allow_none=True)
    grid_code = fields.Str(allow_none=True)
    channel = fields.Str()
    address = fields.Str(allow_none=True)
    language = fields.Str()
    title = fields.Str(allow_none=True)
    status = fields.Str()
    reason = fields.Str(allow_none=True)
    due_at = Instant()
    sent_at = Instant()
    attempt_count = fields.Int()
    attempts = fields.List(fields.Nested(Attempt))
    fallback_from = fields.List(fields.Str())
    created_at = Instant()


class InboxMessage(View):
    id = fields.Str(attribute="_id")
    topic = fields.Str()
    title = fields.Str()
    body = fields.Str()
    critical = fields.Bool()
    created_at = Instant()
    read_at = Instant(allow_none=True)


class Preferences(View):
    person_id = fields.Str()
    channels = fields.List(fields.Str())
    opt_outs = fields.List(fields.Str())
    language = fields.Str()
    quiet_hours = fields.Nested(QuietHours, allow_none=True)
