"""RPC inputs and outputs of the notifications service.

Inputs are `Strict` (unknown fields refused); ids are `shared.fields.Id` of a declared shape, so an
operator such as `{"$gt": ""}` or a megabyte string never reaches a filter; text is `Text`.
"""

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from services.notifications.domain import CHANNELS, IN_PERSON, LANGUAGES, STATUSES, TOPICS
from shared.fields import Code, Id, Strict, Text
from shared.views import Instant, View

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
TARGET_KINDS = ("person", "grid_staff", "grid_households")
LOGGED_CHANNELS = (*CHANNELS, IN_PERSON, "none")  # "none": suppressed, no channel tried

# A person: a resident (R-…), staff member or vendor (V-…), by the registry's and market's ids.
PERSON_ID = Id()


class Target(Strict):
    kind = fields.Str(required=True, validate=validate.OneOf(TARGET_KINDS))
    person_id = Id(load_default=None)
    grid_code = Code(load_default=None)

    @validates_schema
    def _needs(self, data, **kwargs):
        if data["kind"] == "person" and not data.get("person_id"):
            raise ValidationError("a person target needs person_id", "person_id")
        if data["kind"] != "person" and not data.get("grid_code"):
            raise ValidationError("a grid target needs grid_code", "grid_code")


class SendAnnouncement(Strict):
    """A staff announcement (通知公告) to a person, a grid's staff, or every household of a grid."""

    target = fields.Nested(Target, required=True)
    title = Text(required=True, max_length=120)
    body = Text(required=True, max_length=2000, multiline=True)
    critical = fields.Bool(load_default=False)
    request_id = Id(load_default=None)


class QuietHours(Strict):
    start = fields.Str(required=True, validate=validate.Regexp(HHMM, error="HH:MM, 24-hour"))
    end = fields.Str(required=True, validate=validate.Regexp(HHMM, error="HH:MM, 24-hour"))


class SetPreferences(Strict):
    person_id = Id(required=True)
    channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), validate=validate.Length(min=1))
    opt_outs = fields.List(fields.Str(validate=validate.OneOf(TOPICS)), validate=validate.Length(max=20))
    language = fields.Str(validate=validate.OneOf(LANGUAGES))
    quiet_hours = fields.Nested(QuietHours, allow_none=True)  # None: no quiet hours


class InboxQuery(Strict):
    person_id = Id(required=True)
    unread_only = fields.Bool(load_default=False)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


class MarkRead(Strict):
    person_id = Id(required=True)
    message_ids = fields.List(Id("NTF"), required=True, validate=validate.Length(min=1, max=500))


class AnnouncementRef(Strict):
    announcement_id = Id("ANN", required=True, max_length=60)


class LogQuery(Strict):
    event_id = Id(max_length=60)  # an event's, an announcement's (ANN-…), a digest's (digest-…)
    recipient = Id()
    status = fields.Str(validate=validate.OneOf(STATUSES))
    channel = fields.Str(validate=validate.OneOf(LOGGED_CHANNELS))
    topic = fields.Str(validate=validate.OneOf(TOPICS))
    grid_code = Code()
    household_id = Id()
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
