"""What the grid_events RPCs accept, and the views they answer with (marshmallow).

Inputs: every id is a string of a declared shape (`Id("INC")`, `Code()`), checked before any
query, so no dict or operator ever reaches a filter and no megabyte id is stored; every string is
`Text` (stripped, NFC, no control or bidi-override characters, a maximum length); unknown fields
are refused (`Strict`). A bare id argument (`get_incident(incident_id)`) loads through the same
field with `fields_kit.argument`.

Outputs: one `View` per kind of record; every declared field is in the answer (None when the
record lacks it), datetimes as ISO 8601 with their offset, nothing internal (`_id`, occasion keys).
"""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.grid_events import domain
from shared import fields as fields_kit
from shared.events import grid_events as catalogue
from shared.fields import Code, Id, Strict, Text
from shared.queries import Paged
from shared.views import Instant, View

# ---------------------------------------------------------------- ids

INCIDENT_ID = Id("INC", required=True)
CAMPAIGN_ID = Id("CMP", required=True)
WINDOW_REQUEST_ID = Id("WR", required=True)
GRID_CODE = Code(required=True)


def ResidentId(**kwargs):  # noqa: N802 - a field factory reads like a field class
    """A registry resident id (R-000001)."""
    return Id("R", **kwargs)


def StaffId(**kwargs):  # noqa: N802
    """A registry staff id (ST-0001, or the id the office chose): a code."""
    return Code(**kwargs)


def LongText(max_length=2000, **kwargs):  # noqa: N802
    """Free text of several lines: a description, notes, a reason."""
    return Text(max_length=max_length, multiline=True, **kwargs)


def Optional(field_factory, *args, **kwargs):  # noqa: N802
    return field_factory(*args, allow_none=True, load_default=None, **kwargs)


def incident_id(value):
    return fields_kit.argument(INCIDENT_ID, value, "incident_id")


def campaign_id(value):
    return fields_kit.argument(CAMPAIGN_ID, value, "campaign_id")


def window_request_id(value):
    return fields_kit.argument(WINDOW_REQUEST_ID, value, "request_id")


# ---------------------------------------------------------------- shared shapes


class Address(Strict):
    building = Code(required=True)
    unit = Optional(Text, max_length=20)
    room = Optional(Text, max_length=20)


class Location(Strict):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lng = fields.Float(required=True, validate=validate.Range(-180, 180))


Page = Paged(default=20, maximum=200)


def category_field(**kwargs):
    return fields.Str(validate=validate.OneOf(sorted(domain.CATEGORIES)), **kwargs)


# ---------------------------------------------------------------- incidents


class ReportIncident(Strict):
    category = category_field(required=True)
    description = LongText(required=True)
    address = fields.Nested(Address, allow_none=True, load_default=None)
    grid_code = Optional(Code)
    location = fields.Nested(Location, allow_none=True, load_default=None)
    photos = fields.List(Text(max_length=500), load_default=list, validate=validate.Length(max=20))
    source = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(catalogue.SOURCES))
    reporter_resident_id = Optional(ResidentId)
    priority = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(catalogue.PRIORITIES))

    @validates_schema
    def address_or_grid(self, data, **kwargs):
        if not data.get("address") and not data.get("grid_code"):
            raise ValidationError("give an address or a grid", "address")


class IncidentRef(Strict):
    incident_id = Id("INC", required=True)
    note = Optional(LongText)


class Dispatch(IncidentRef):
    assignee_staff_id = StaffId(required=True)


class Resolve(IncidentRef):
    resolution = LongText(required=True)


class WithReason(IncidentRef):
    reason = LongText(required=True)


class Rate(IncidentRef):
    rating = fields.Int(required=True, strict=True, validate=validate.Range(1, 5))
    comment = Optional(LongText)


class Merge(IncidentRef):
    into_incident_id = Id("INC", required=True)


class RequestExtension(IncidentRef):
    minutes = fields.Int(required=True, strict=True, validate=validate.Range(1, 30 * 24 * 60))
    reason = LongText(required=True)


class GrantExtension(IncidentRef):
    extension_id = Id("EXT", required=True)
    granted = fields.Bool(load_default=True)
    reason = LongText(required=True)


class ListIncidents(Page, Strict):
    grid_code = Optional(Code)
    status = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(domain.STATUSES))
    category = category_field(allow_none=True, load_default=None)
    overdue = fields.Bool(allow_none=True, load_default=None)


class AllGridStats(Strict):
    reported_from = fields.AwareDateTime(allow_none=True, load_default=None)
    reported_to = fields.AwareDateTime(allow_none=True, load_default=None)


class GridStats(AllGridStats):
    grid_code = Optional(Code)  # none: every grid together


# ---------------------------------------------------------------- visits


class ListVisitTasks(Page, Strict):
    grid_code = Optional(Code)
    status = fields.Str(allow_none=True, load_default=None,
                        validate=validate.OneOf(["open", "done", "cancelled"]))
    kind = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(domain.VISIT_KINDS))
    resident_id = Optional(ResidentId)
    overdue = fields.Bool(allow_none=True, load_default=None)


class RecordVisit(Strict):
    task_id = Id("VT", required=True)
    notes = LongText(required=True)
    visited_on = fields.Date(allow_none=True, load_default=None)
    staff_id = Optional(StaffId)


class VisitLogs(Strict):
    resident_id = Optional(ResidentId)
    task_id = Optional(Id, "VT")

    @validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("resident_id") and not data.get("task_id"):
            raise ValidationError("give a resident or a task", "resident_id")


class YearEndVisits(Strict):
    year = fields.Int(required=True, strict=True, validate=validate.Range(2000, 2100))


# ---------------------------------------------------------------- campaigns


class StartCampaign(Strict):
    name = Text(required=True)
    kind = Code(load_default="other", max_length=50)
    grid_codes = fields.List(Code(), required=True, validate=validate.Length(min=1, max=50))


class RecordHouseholdVisit(Strict):
    campaign_id = Id("CMP", required=True)
    household_id = Id("HH", required=True)
    residents_reached = fields.List(ResidentId(), load_default=list, validate=validate.Length(max=100))
    note = Optional(LongText)


# ---------------------------------------------------------------- service windows


class SubmitWindowRequest(Strict):
    window = fields.Str(required=True, validate=validate.OneOf(sorted(domain.WINDOWS)))
    subject = Text(required=True)
    details = LongText(max_length=4000, min_length=0, load_default="")
    resident_id = Optional(ResidentId)


class TransferWindowRequest(Strict):
    request_id = Id("WR", required=True)
    to = Text(required=True, max_length=100)  # another window's code, or a department's name
    reason = LongText(required=True)


class EscalateWindowRequest(Strict):
    request_id = Id("WR", required=True)
    reason = LongText(required=True)


class CompleteWindowRequest(Strict):
    request_id = Id("WR", required=True)
    outcome = fields.Str(required=True,
                         validate=validate.OneOf([domain.WINDOW_HANDLED, domain.WINDOW_REFUSED]))
    note = LongText(required=True)


# ---------------------------------------------------------------- mediation, patrols, CCTV


class Party(Strict):
    name = Text(required=True, max_length=100)
    resident_id = Optional(ResidentId)


class Mediator(Strict):
    name = Text(required=True, max_length=100)
    staff_id = Optional(StaffId)
    role = fields.Str(load_default="mediator", validate=validate.OneOf(["mediator", "police"]))


class OpenMediation(Strict):
    subject = Text(required=True)
    incident_id = Optional(Id, "INC")
    grid_code = Optional(Code)
    parties = fields.List(fields.Nested(Party), required=True, validate=validate.Length(min=2, max=20))
    mediators = fields.List(fields.Nested(Mediator), required=True, validate=validate.Length(min=1, max=10))


class MediationSession(Strict):
    mediation_id = Id("MED", required=True)
    notes = LongText(required=True)
    outcome = fields.Str(required=True, validate=validate.OneOf(["continued", "agreed", "failed"]))
    agreement = Optional(LongText)

    @validates_schema
    def agreement_when_agreed(self, data, **kwargs):
        if data.get("outcome") == "agreed" and not data.get("agreement"):
            raise ValidationError("an agreement is required when the parties agree", "agreement")


class Finding(Strict):
    category = category_field(required=True)
    description = LongText(required=True)
    address = fields.Nested(Address, allow_none=True, load_default=None)
    location = fields.Nested(Location, allow_none=True, load_default=None)


class StartPatrol(Strict):
    grid_code = Code(required=True)
    shift = fields.Str(required=True, validate=validate.OneOf(["day", "evening", "night"]))
    team = fields.List(Text(max_length=100), required=True, validate=validate.Length(min=1, max=20))
    route = fields.List(Text(max_length=100), required=True, validate=validate.Length(min=1, max=50))


class PatrolCheckin(Strict):
    patrol_id = Id("PAT", required=True)
    checkpoint = Text(required=True, max_length=100)
    note = Optional(LongText)
    finding = fields.Nested(Finding, allow_none=True, load_default=None)


class EndPatrol(Strict):
    patrol_id = Id("PAT", required=True)
    note = Optional(LongText)


class RegisterCamera(Strict):
    camera_id = Code(required=True)
    grid_code = Code(required=True)
    building = Optional(Code)
    location = fields.Nested(Location, allow_none=True, load_default=None)


class CctvAlarm(Strict):
    camera_id = Code(required=True)
    category = category_field(load_default="public_order")
    description = LongText(load_default="CCTV alarm")


# ---------------------------------------------------------------- views


class AddressView(View):
    building = fields.Str()
    unit = fields.Str()
    room = fields.Str()


class LocationView(View):
    lat = fields.Float()
    lng = fields.Float()


class HistoryView(View):
    action = fields.Str()
    from_ = fields.Str(data_key="from", attribute="from")
    to = fields.Str()
    at = Instant()
    by = fields.Str()
    role = fields.Str()
    note = fields.Str()


class EscalationView(View):
    level = fields.Int()
    rung = fields.Str()
    overdue = fields.Str()
    at = Instant()
    staff_ids = fields.List(fields.Str())


class ExtensionView(View):
    extension_id = fields.Str()
    minutes = fields.Int()
    reason = fields.Str()
    status = fields.Str()
    requested_at = Instant()
    requested_by = fields.Str()
    decided_at = Instant()
    decided_by = fields.Str()
    decision_reason = fields.Str()


class AlarmView(View):
    at = Instant()
    category = fields.Str()
    description = fields.Str()


class IncidentView(View):
    incident_id = fields.Str()
    grid_code = fields.Str()
    grid_name = fields.Str()
    category = fields.Str()
    priority = fields.Str()
    description = fields.Str()
    address = fields.Nested(AddressView)
    location = fields.Nested(LocationView)
    photos = fields.List(fields.Str())
    source = fields.Str()
    reporter_resident_id = fields.Str()
    status = fields.Str()
    assignee_staff_id = fields.Str()
    also_police = fields.Bool()
    police_staff_ids = fields.List(fields.Str())
    reported_at = Instant()
    state_since = Instant()
    state_deadline = Instant()
    respond_by = Instant()  # first acceptance due (the on-time response rate counts against it)
    due_at = Instant()
    accepted_at = Instant()
    resolved_at = Instant()
    closed_at = Instant()
    resolution = fields.Str()
    rejection_reason = fields.Str()
    rating = fields.Int()
    rating_comment = fields.Str()
    reopen_count = fields.Int()
    escalation_level = fields.Int()
    escalations = fields.List(fields.Nested(EscalationView))
    next_escalation_at = Instant()
    extensions = fields.List(fields.Nested(ExtensionView))
    possible_duplicate_of = fields.Str()
    duplicates = fields.List(fields.Str())
    merged_into = fields.Str()
    mediation_id = fields.Str()
    history = fields.List(fields.Nested(HistoryView))
    # where it came from, when not a resident's report
    patrol_id = fields.Str()
    camera_id = fields.Str()
    alarm_count = fields.Int()
    last_alarm_at = Instant()
    alarms = fields.List(fields.Nested(AlarmView))
    market_violation_id = fields.Str()


class CategoryView(View):
    code = fields.Str()
    label = fields.Str()
    priority = fields.Str()
    accept_minutes = fields.Int()
    start_minutes = fields.Int()
    overall_hours = fields.Int()
    handling_role = fields.Str()
    police = fields.Bool()


class RateView(View):
    count = fields.Int()
    of = fields.Int()
    rate = fields.Float()


class GridStatsView(View):
    grid_code = fields.Str()
    incidents = fields.Int()
    by_status = fields.Dict(keys=fields.Str(), values=fields.Int())
    response_minutes_avg = fields.Float()
    resolution_minutes_avg = fields.Float()
    response_on_time = fields.Nested(RateView)
    on_time = fields.Nested(RateView)
    satisfaction = fields.Nested(RateView)
    rating_avg = fields.Float()
    reopen = fields.Nested(RateView)
    escalation = fields.Nested(RateView)


class VisitLogView(View):
    task_id = fields.Str()
    resident_id = fields.Str()
    grid_code = fields.Str()
    kind = fields.Str()
    visited_on = fields.Str()
    staff_id = fields.Str()
    notes = fields.Str()
    recorded_at = Instant()


class VisitTaskView(View):
    optional = ("log",)
    task_id = fields.Str()
    kind = fields.Str()
    resident_id = fields.Str()
    grid_code = fields.Str()
    due_on = fields.Str()
    status = fields.Str()
    assignee_staff_id = fields.Str()
    reason = fields.Str()
    overdue = fields.Bool()
    created_at = Instant()
    overdue_at = Instant()
    visited_on = fields.Str()
    visited_by = fields.Str()
    done_at = Instant()
    cancelled_at = Instant()
    cancel_reason = fields.Str()
    log = fields.Nested(VisitLogView)


class CampaignView(View):
    campaign_id = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    grid_codes = fields.List(fields.Str())
    started_at = Instant()
    started_by = fields.Str()
    households = fields.Int()
    residents = fields.Int()
    remaining = fields.Int()
    completed_at = Instant()


class CountsView(View):
    total = fields.Int()
    visited = fields.Int()
    reached = fields.Int()
    missed = fields.Int()
    optional = ("visited", "reached")


class MissedHouseholdView(View):
    household_id = fields.Str()
    grid_code = fields.Str()
    building = fields.Str()
    unit = fields.Str()
    room = fields.Str()


class MissedResidentView(View):
    resident_id = fields.Str()
    household_id = fields.Str()


class CoverageView(View):
    campaign_id = fields.Str()
    name = fields.Str()
    grid_codes = fields.List(fields.Str())
    households = fields.Nested(CountsView)
    residents = fields.Nested(CountsView)
    missed_households = fields.List(fields.Nested(MissedHouseholdView))
    missed_residents = fields.List(fields.Nested(MissedResidentView))
    complete = fields.Bool()
    completed_at = Instant()


class WindowStepView(View):
    """A step of a request's history: received, transferred, escalated, handled or refused."""

    optional = ("window", "from_", "to", "reason", "note")
    action = fields.Str()
    window = fields.Str()
    from_ = fields.Str(data_key="from", attribute="from")
    to = fields.Str()
    reason = fields.Str()
    note = fields.Str()
    at = Instant()
    by = fields.Str()


class WindowTransferView(View):
    from_ = fields.Str(data_key="from", attribute="from")
    to = fields.Str()
    reason = fields.Str()
    at = Instant()
    by = fields.Str()


class WindowEscalationView(View):
    window = fields.Str()
    to = fields.Str()
    reason = fields.Str()
    at = Instant()
    by = fields.Str()


class WindowRequestView(View):
    request_id = fields.Str()
    window = fields.Str()
    subject = fields.Str()
    details = fields.Str()
    resident_id = fields.Str()
    grid_code = fields.Str()
    status = fields.Str()
    department = fields.Str()
    submitted_at = Instant()
    submitted_by = fields.Str()
    closed_at = Instant()
    outcome_note = fields.Str()
    transfers = fields.List(fields.Nested(WindowTransferView))
    escalations = fields.List(fields.Nested(WindowEscalationView))
    history = fields.List(fields.Nested(WindowStepView))


class PartyView(View):
    name = fields.Str()
    resident_id = fields.Str()


class MediatorView(View):
    name = fields.Str()
    staff_id = fields.Str()
    role = fields.Str()


class SessionView(View):
    number = fields.Int()
    held_at = Instant()
    notes = fields.Str()
    outcome = fields.Str()
    recorded_by = fields.Str()


class MediationView(View):
    mediation_id = fields.Str()
    subject = fields.Str()
    incident_id = fields.Str()
    grid_code = fields.Str()
    parties = fields.List(fields.Nested(PartyView))
    mediators = fields.List(fields.Nested(MediatorView))
    status = fields.Str()
    sessions = fields.List(fields.Nested(SessionView))
    agreement = fields.Str()
    opened_at = Instant()
    opened_by = fields.Str()
    closed_at = Instant()


class CheckinView(View):
    checkpoint = fields.Str()
    at = Instant()
    by = fields.Str()
    note = fields.Str()
    incident_id = fields.Str()


class PatrolView(View):
    patrol_id = fields.Str()
    grid_code = fields.Str()
    shift = fields.Str()
    team = fields.List(fields.Str())
    route = fields.List(fields.Str())
    status = fields.Str()
    started_at = Instant()
    started_by = fields.Str()
    checkins = fields.List(fields.Nested(CheckinView))
    incident_ids = fields.List(fields.Str())
    ended_at = Instant()
    note = fields.Str()
    missed_checkpoints = fields.List(fields.Str())


class CameraView(View):
    camera_id = fields.Str()
    grid_code = fields.Str()
    building = fields.Str()
    location = fields.Nested(LocationView)


class AlarmOutcomeView(View):
    incident_id = fields.Str()
    folded = fields.Bool()
    alarm_count = fields.Int()


class YearEndView(View):
    year = fields.Int()
    created = fields.Int()


incident_view = IncidentView()
incidents_view = IncidentView(many=True)
