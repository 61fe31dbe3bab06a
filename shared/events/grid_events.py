"""Events of grid work: incidents and their lifecycle, must-visits, campaigns, service windows."""

from marshmallow import Schema, fields, validate

from shared.events.catalogue import event

# Vocabularies that cross the service boundary: consumers import them, never guess them.
ESCALATION_LADDER = ("grid_worker", "branch_secretary", "community_office", "street_office")
LOW, NORMAL, HIGH, URGENT = "low", "normal", "high", "urgent"
PRIORITIES = (LOW, NORMAL, HIGH, URGENT)
CATEGORIES = {  # code -> label shown to people
    "dispute": "矛盾纠纷", "public_order": "治安", "sanitation": "环境卫生",
    "facilities": "设施/道路/排水", "fire_safety": "消防安全", "fraud_prevention": "反诈",
    "epidemic_prevention": "防疫", "illegal_parking": "违章停车", "noise": "噪音扰民",
    "market_disorder": "市场秩序", "other": "其他",
}
SOURCES = ("resident", "patrol", "cctv", "market", "hotline", "service_window")


class IncidentFact(Schema):
    incident_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    category = fields.Str(required=True, validate=validate.OneOf(CATEGORIES))


@event("grid_events.incident_reported", 1)
class IncidentReported(IncidentFact):
    """A problem was reported in a grid. `unassigned`: the grid has no one to handle it now (no
    current grid worker, or no holder of the handling post), so the community office must dispatch."""

    priority = fields.Str(required=True, validate=validate.OneOf(PRIORITIES))
    source = fields.Str(required=True, validate=validate.OneOf(SOURCES))
    reporter_resident_id = fields.Str(allow_none=True, load_default=None)
    possible_duplicate_of = fields.Str(allow_none=True, load_default=None)
    unassigned = fields.Bool(load_default=False)
    summary = fields.Str(load_default="")


@event("grid_events.incident_dispatched", 1)
class IncidentDispatched(IncidentFact):
    """An incident was sent to the staff member who must handle it."""

    priority = fields.Str(required=True, validate=validate.OneOf(PRIORITIES))
    assignee_staff_id = fields.Str(required=True)
    also_police = fields.Bool(load_default=False)
    accept_by = fields.AwareDateTime(required=True)
    summary = fields.Str(required=True)


@event("grid_events.incident_accepted", 1)
class IncidentAccepted(IncidentFact):
    """The assignee took the incident on."""

    staff_id = fields.Str(required=True)


@event("grid_events.incident_escalated", 1)
class IncidentEscalated(IncidentFact):
    """A deadline passed: the incident climbed one rung of the escalation ladder."""

    level = fields.Int(required=True, strict=True)
    rung = fields.Str(required=True, validate=validate.OneOf(ESCALATION_LADDER))
    overdue = fields.Str(required=True)  # which clock ran out: the state's or the overall one
    summary = fields.Str(required=True)
    staff_ids = fields.List(fields.Str(), load_default=list)  # who stands on that rung


@event("grid_events.incident_resolved", 1)
class IncidentResolved(IncidentFact):
    """The handler says the problem is solved; the reporter is asked for a rating."""

    resolved_by = fields.Str(allow_none=True, load_default=None)
    resolution = fields.Str(required=True)
    reporter_resident_id = fields.Str(allow_none=True, load_default=None)


@event("grid_events.incident_closed", 1)
class IncidentClosed(IncidentFact):
    """The incident is closed, after the reporter's rating or automatically."""

    rating = fields.Int(allow_none=True, load_default=None)
    automatic = fields.Bool(load_default=False)


@event("grid_events.incident_reopened", 1)
class IncidentReopened(IncidentFact):
    """The reporter found the problem not solved."""

    reason = fields.Str(required=True)


@event("grid_events.incident_rated", 1)
class IncidentRated(IncidentFact):
    """The reporter rated the handling, 1 to 5 (resident satisfaction)."""

    rating = fields.Int(required=True, strict=True, validate=validate.Range(1, 5))


class VisitFact(Schema):
    task_id = fields.Str(required=True)
    kind = fields.Str(required=True)
    resident_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    due_on = fields.Date(required=True)
    assignee_staff_id = fields.Str(allow_none=True, load_default=None)


@event("grid_events.visit_task_created", 1)
class VisitTaskCreated(VisitFact):
    """A must-visit (moved in, in difficulty, year end) was set for a grid's staff."""


@event("grid_events.visit_overdue", 1)
class VisitOverdue(VisitFact):
    """A must-visit passed its due date without a visit."""


@event("grid_events.campaign_completed", 1)
class CampaignCompleted(Schema):
    """A door-to-door campaign reached every household and every person of its grids."""

    campaign_id = fields.Str(required=True)
    name = fields.Str(required=True)
    grid_codes = fields.List(fields.Str(), required=True)
    households = fields.Int(required=True, strict=True)
    residents = fields.Int(required=True, strict=True)


@event("grid_events.window_request_transferred", 1)
class WindowRequestTransferred(Schema):
    """A service-window request went to another window or department (never simply refused)."""

    request_id = fields.Str(required=True)
    from_window = fields.Str(required=True)
    to = fields.Str(required=True)
    reason = fields.Str(required=True)
    resident_id = fields.Str(allow_none=True, load_default=None)
