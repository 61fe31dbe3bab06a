"""Events of the registry: who lives here, in which household and grid, and who is responsible.

Payloads carry ids and the facts consumers need. Contact points (phone, email) travel only in
the events the notifications service needs them from; ID numbers never travel.
"""

from marshmallow import Schema, fields, validate

from shared.events.catalogue import event

RESIDENCE_TYPES = ("registered", "floating")
STAFF_ROLES = ("grid_worker", "liaison", "branch_secretary", "community_office", "street_office",
               "police_desk", "mediator")


class Contact(Schema):
    phone = fields.Str(allow_none=True, load_default=None)
    email = fields.Email(allow_none=True, load_default=None)
    language = fields.Str(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))


@event("registry.resident_registered", 1)
class ResidentRegistered(Contact):
    """A resident was entered in the register."""

    resident_id = fields.Str(required=True)
    household_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    name = fields.Str(required=True)
    sex = fields.Str(required=True, validate=validate.OneOf(["M", "F"]))
    birth_date = fields.Date(required=True)
    residence_type = fields.Str(required=True, validate=validate.OneOf(RESIDENCE_TYPES))
    tags = fields.List(fields.Str(), load_default=list)


@event("registry.resident_updated", 1)
class ResidentUpdated(Schema):
    """Some of a resident's facts changed; `changes` holds the new values of the changed fields."""

    resident_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    changes = fields.Dict(keys=fields.Str(), required=True)


@event("registry.resident_moved_out", 1)
class ResidentMovedOut(Schema):
    """A resident left the community; the record stays."""

    resident_id = fields.Str(required=True)
    household_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    moved_out_on = fields.Date(required=True)


@event("registry.resident_died", 1)
class ResidentDied(Schema):
    """A resident's death was recorded; the record stays."""

    resident_id = fields.Str(required=True)
    household_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    died_on = fields.Date(required=True)


@event("registry.resident_turned_60", 1)
class ResidentTurned60(Schema):
    """A resident reached 60: elderly allowance and care begin. Emitted once per person."""

    resident_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    birth_date = fields.Date(required=True)


@event("registry.household_registered", 1)
class HouseholdRegistered(Schema):
    """A household (户) was registered at an address, which fixes its grid."""

    household_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    building = fields.Str(required=True)
    unit = fields.Str(allow_none=True, load_default=None)
    room = fields.Str(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(["owner", "rented_out", "tenant"]))
    landlord_household_id = fields.Str(allow_none=True, load_default=None)


@event("registry.party_member_registered", 1)
class PartyMemberRegistered(Schema):
    """A party member's registration card was entered (on moving in: a must-visit)."""

    resident_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    branch_code = fields.Str(required=True)
    joined_on = fields.Date(required=True)
    transferred_in_on = fields.Date(allow_none=True, load_default=None)


@event("registry.party_member_in_difficulty", 1)
class PartyMemberInDifficulty(Schema):
    """A party member was flagged as in difficulty (a must-visit)."""

    resident_id = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    reason = fields.Str(required=True)


@event("registry.shareholder_enrolled", 1)
class ShareholderEnrolled(Schema):
    """A resident became a shareholder of the community cooperative."""

    shareholder_id = fields.Str(required=True)
    resident_id = fields.Str(required=True)
    group = fields.Str(required=True)
    shares = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


@event("registry.shareholder_changed", 1)
class ShareholderChanged(Schema):
    """A shareholder's shares, group or status changed (before and after)."""

    shareholder_id = fields.Str(required=True)
    resident_id = fields.Str(required=True)
    before = fields.Dict(required=True)
    after = fields.Dict(required=True)
    reason = fields.Str(required=True)


@event("registry.grid_defined", 1)
class GridDefined(Schema):
    """A grid (网格) was created, or its name or buildings changed."""

    code = fields.Str(required=True)
    name = fields.Str(required=True)
    buildings = fields.List(fields.Str(), required=True)


@event("registry.grid_staff_assigned", 1)
class GridStaffAssigned(Contact):
    """A person took a post in a grid (grid worker, liaison, branch secretary, ...)."""

    staff_id = fields.Str(required=True)
    grid_code = fields.Str(allow_none=True, load_default=None)  # None: community-wide posts
    role = fields.Str(required=True, validate=validate.OneOf(STAFF_ROLES))
    name = fields.Str(required=True)
    resident_id = fields.Str(allow_none=True, load_default=None)
