"""Inputs of the grid_events RPCs (marshmallow), and the one way documents leave the service."""

from datetime import date, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.grid_events import domain
from shared.events import grid_events as catalogue
from shared.queries import Paged

Text = fields.Str


def required_text(max_len=2000, **kwargs):
    return fields.Str(required=True, validate=validate.Length(min=1, max=max_len), **kwargs)


class Address(Schema):
    building = required_text(50)
    unit = fields.Str(allow_none=True, load_default=None)
    room = fields.Str(allow_none=True, load_default=None)


class Location(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lng = fields.Float(required=True, validate=validate.Range(-180, 180))


Page = Paged(default=20, maximum=200)


class ReportIncident(Schema):
    category = fields.Str(required=True, validate=validate.OneOf(sorted(domain.CATEGORIES)))
    description = required_text()
    address = fields.Nested(Address, allow_none=True, load_default=None)
    grid_code = fields.Str(allow_none=True, load_default=None)
    location = fields.Nested(Location, allow_none=True, load_default=None)
    photos = fields.List(fields.Str(validate=validate.Length(max=500)), load_default=list,
                         validate=validate.Length(max=20))
    source = fields.Str(load_default="resident", validate=validate.OneOf(catalogue.SOURCES))
    reporter_resident_id = fields.Str(allow_none=True, load_default=None)
    priority = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(catalogue.PRIORITIES))

    @validates_schema
    def address_or_grid(self, data, **kwargs):
        if not data.get("address") and not data.get("grid_code"):
            raise ValidationError("give an address or a grid", "address")


class IncidentRef(Schema):
    incident_id = required_text(40)
    note = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class Dispatch(IncidentRef):
    assignee_staff_id = required_text(40)


class Resolve(IncidentRef):
    resolution = required_text()


class WithReason(IncidentRef):
    reason = required_text()


class Rate(IncidentRef):
    rating = fields.Int(required=True, strict=True, validate=validate.Range(1, 5))
    comment = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class Merge(IncidentRef):
    into_incident_id = required_text(40)


class RequestExtension(IncidentRef):
    minutes = fields.Int(required=True, strict=True, validate=validate.Range(1, 30 * 24 * 60))
    reason = required_text()


class GrantExtension(IncidentRef):
    extension_id = required_text(40)
    granted = fields.Bool(load_default=True)
    reason = required_text()


class ListIncidents(Page):
    grid_code = fields.Str(allow_none=True, load_default=None)
    status = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(domain.STATUSES))
    category = fields.Str(allow_none=True, load_default=None,
                          validate=validate.OneOf(sorted(domain.CATEGORIES)))
    overdue = fields.Bool(allow_none=True, load_default=None)


class AllGridStats(Schema):
    reported_from = fields.AwareDateTime(allow_none=True, load_default=None)
    reported_to = fields.AwareDateTime(allow_none=True, load_default=None)


class GridStats(AllGridStats):
    grid_code = required_text(40)


# ---------------------------------------------------------------- visits


class ListVisitTasks(Page):
    grid_code = fields.Str(allow_none=True, load_default=None)
    status = fields.Str(allow_none=True, load_default=None,
                        validate=validate.OneOf(["open", "done", "cancelled"]))
    kind = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(domain.VISIT_KINDS))
    resident_id = fields.Str(allow_none=True, load_default=None)
    overdue = fields.Bool(allow_none=True, load_default=None)


class RecordVisit(Schema):
    task_id = required_text(40)
    notes = required_text()
    visited_on = fields.Date(allow_none=True, load_default=None)
    staff_id = fields.Str(allow_none=True, load_default=None)


class VisitLogs(Schema):
    resident_id = fields.Str(allow_none=True, load_default=None)
    task_id = fields.Str(allow_none=True, load_default=None)

    @validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("resident_id") and not data.get("task_id"):
            raise ValidationError("give a resident or a task", "resident_id")


class YearEndVisits(Schema):
    year = fields.Int(required=True, strict=True, validate=validate.Range(2000, 2100))


# ---------------------------------------------------------------- campaigns


class StartCampaign(Schema):
    name = required_text(200)
    kind = fields.Str(load_default="other", validate=validate.Length(max=50))
    grid_codes = fields.List(fields.Str(validate=validate.Length(min=1)), required=True,
                             validate=validate.Length(min=1))


class RecordHouseholdVisit(Schema):
    campaign_id = required_text(40)
    household_id = required_text(40)
    residents_reached = fields.List(fields.Str(), load_default=list)
    note = fields.Str(allow_none=True, load_default=None)


# ---------------------------------------------------------------- service windows


class SubmitWindowRequest(Schema):
    window = fields.Str(required=True, validate=validate.OneOf(sorted(domain.WINDOWS)))
    subject = required_text(200)
    details = fields.Str(load_default="", validate=validate.Length(max=4000))
    resident_id = fields.Str(allow_none=True, load_default=None)


class TransferWindowRequest(Schema):
    request_id = required_text(40)
    to = required_text(100)
    reason = required_text()


class EscalateWindowRequest(Schema):
    request_id = required_text(40)
    reason = required_text()


class CompleteWindowRequest(Schema):
    request_id = required_text(40)
    outcome = fields.Str(required=True,
                         validate=validate.OneOf([domain.WINDOW_HANDLED, domain.WINDOW_REFUSED]))
    note = required_text()


# ---------------------------------------------------------------- mediation, patrols, CCTV


class Party(Schema):
    name = required_text(100)
    resident_id = fields.Str(allow_none=True, load_default=None)


class Mediator(Schema):
    name = required_text(100)
    staff_id = fields.Str(allow_none=True, load_default=None)
    role = fields.Str(load_default="mediator", validate=validate.OneOf(["mediator", "police"]))


class OpenMediation(Schema):
    subject = required_text(200)
    incident_id = fields.Str(allow_none=True, load_default=None)
    parties = fields.List(fields.Nested(Party), required=True, validate=validate.Length(min=2))
    mediators = fields.List(fields.Nested(Mediator), required=True, validate=validate.Length(min=1))


class MediationSession(Schema):
    mediation_id = required_text(40)
    notes = required_text()
    outcome = fields.Str(required=True, validate=validate.OneOf(["continued", "agreed", "failed"]))
    agreement = fields.Str(allow_none=True, load_default=None)

    @validates_schema
    def agreement_when_agreed(self, data, **kwargs):
        if data["outcome"] == "agreed" and not data.get("agreement"):
            raise ValidationError("an agreement is required when the parties agree", "agreement")


class Finding(Schema):
    category = fields.Str(required=True, validate=validate.OneOf(sorted(domain.CATEGORIES)))
    description = required_text()
    address = fields.Nested(Address, allow_none=True, load_default=None)
    location = fields.Nested(Location, allow_none=True, load_default=None)


class StartPatrol(Schema):
    grid_code = required_text(40)
    shift = fields.Str(required=True, validate=validate.OneOf(["day", "evening", "night"]))
    team = fields.List(fields.Str(validate=validate.Length(min=1)), required=True,
                       validate=validate.Length(min=1))
    route = fields.List(fields.Str(validate=validate.Length(min=1)), required=True,
                        validate=validate.Length(min=1))


class PatrolCheckin(Schema):
    patrol_id = required_text(40)
    checkpoint = required_text(100)
    note = fields.Str(allow_none=True, load_default=None)
    finding = fields.Nested(Finding, allow_none=True, load_default=None)


class EndPatrol(Schema):
    patrol_id = required_text(40)
    note = fields.Str(allow_none=True, load_default=None)


class RegisterCamera(Schema):
    camera_id = required_text(40)
    grid_code = required_text(40)
    building = fields.Str(allow_none=True, load_default=None)
    location = fields.Nested(Location, allow_none=True, load_default=None)


class CctvAlarm(Schema):
    camera_id = required_text(40)
    category = fields.Str(load_default="public_order", validate=validate.OneOf(sorted(domain.CATEGORIES)))
    description = fields.Str(load_default="CCTV alarm", validate=validate.Length(min=1, max=2000))


# ---------------------------------------------------------------- output


def out(value):
    """A stored document as JSON: `_id` dropped, datetimes and dates as ISO strings."""
    if isinstance(value, dict):
        return {k: out(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, list | tuple):
        return [out(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
