"""What the registry's RPCs accept. Field names are the contract other services code against."""

from marshmallow import RAISE, Schema, ValidationError, fields, pre_dump, validate, validates_schema

from services.registry import domain
from services.registry.domain import (
    HOUSEHOLD_KINDS,
    ORGANISATION_KINDS,
    PARTY_LEVELS,
    RESIDENT_STATUSES,
    SHAREHOLDER_STATUSES,
)
from shared.events.registry import RESIDENCE_TYPES, STAFF_ROLES
from shared.queries import Paged
from shared.views import Day, Instant, View

Text = lambda **kw: fields.Str(validate=validate.Length(min=1, max=200), **kw)  # noqa: E731
Code = lambda **kw: fields.Str(validate=validate.Length(min=1, max=40), **kw)  # noqa: E731
LANGUAGES = ("zh-CN", "en")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class DefineGrid(Strict):
    code = Code(required=True)
    name = Text(required=True)
    buildings = fields.List(Code(), required=True, validate=validate.Length(min=1))


class Address(Strict):
    building = Code(required=True)
    unit = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=20))
    room = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=20))


class RegisterHousehold(Strict):
    building = Code(required=True)
    unit = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=20))
    room = fields.Str(required=True, validate=validate.Length(min=1, max=20))
    kind = fields.Str(required=True, validate=validate.OneOf(HOUSEHOLD_KINDS))
    landlord_household_id = fields.Str(allow_none=True, load_default=None)


class ListHouseholds(Paged(default=500, maximum=1000), Strict):
    grid_codes = fields.List(Code(), load_default=None, allow_none=True)


class RegisterResident(Strict):
    name = Text(required=True)
    id_number = fields.Str(required=True)
    phone = fields.Str(allow_none=True, load_default=None)
    email = fields.Email(allow_none=True, load_default=None)
    language = fields.Str(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))
    household_id = fields.Str(required=True)
    residence_type = fields.Str(required=True, validate=validate.OneOf(RESIDENCE_TYPES))
    registered_on = fields.Date(allow_none=True, load_default=None)
    expires_on = fields.Date(allow_none=True, load_default=None)
    tags = fields.List(fields.Str(), load_default=list)
    head_of_household = fields.Bool(load_default=False)


class UpdateResident(Strict):
    """The facts that may change; the ID number (and so birth date and sex) never does."""

    resident_id = fields.Str(required=True)
    name = Text()
    phone = fields.Str(allow_none=True)
    email = fields.Email(allow_none=True)
    language = fields.Str(validate=validate.OneOf(LANGUAGES))
    household_id = fields.Str()
    residence_type = fields.Str(validate=validate.OneOf(RESIDENCE_TYPES))
    registered_on = fields.Date()
    expires_on = fields.Date(allow_none=True)
    tags = fields.List(fields.Str())
    head_of_household = fields.Bool()


class MoveOut(Strict):
    resident_id = fields.Str(required=True)
    moved_out_on = fields.Date(required=True)


class RecordDeath(Strict):
    resident_id = fields.Str(required=True)
    died_on = fields.Date(required=True)


class FindResidents(Paged(default=50, maximum=500), Strict):
    grid_code = Code(allow_none=True, load_default=None)
    household_id = fields.Str(allow_none=True, load_default=None)
    tag = fields.Str(allow_none=True, load_default=None)
    age_min = fields.Int(allow_none=True, load_default=None, validate=validate.Range(min=0, max=150))
    age_max = fields.Int(allow_none=True, load_default=None, validate=validate.Range(min=0, max=150))
    name_prefix = fields.Str(allow_none=True, load_default=None, validate=validate.Length(min=1, max=50))
    residence_type = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(RESIDENCE_TYPES))
    status = fields.Str(load_default="active", validate=validate.OneOf(RESIDENT_STATUSES + ("any",)))

    @validates_schema
    def _age_range(self, data, **kwargs):
        if data.get("age_min") is not None and data.get("age_max") is not None \
                and data["age_min"] > data["age_max"]:
            raise ValidationError("must not exceed age_max", "age_min")


class AssignGridStaff(Strict):
    grid_code = Code(allow_none=True, load_default=None)
    role = fields.Str(required=True, validate=validate.OneOf(STAFF_ROLES))
    name = Text(required=True)
    phone = fields.Str(required=True)
    email = fields.Email(allow_none=True, load_default=None)
    language = fields.Str(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))
    resident_id = fields.Str(allow_none=True, load_default=None)
    staff_id = fields.Str(allow_none=True, load_default=None, validate=validate.Length(min=1, max=40))


class ListStaff(Strict):
    role = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(STAFF_ROLES))
    grid_code = Code(allow_none=True, load_default=None)


class DefinePartyUnit(Strict):
    code = Code(required=True)
    name = Text(required=True)
    level = fields.Str(required=True, validate=validate.OneOf(PARTY_LEVELS))
    parent_code = Code(allow_none=True, load_default=None)
    grid_code = Code(allow_none=True, load_default=None)


class RegisterPartyMember(Strict):
    resident_id = fields.Str(required=True)
    branch_code = Code(required=True)
    joined_on = fields.Date(required=True)
    transferred_in_on = fields.Date(allow_none=True, load_default=None)
    posts = fields.List(Text(), load_default=list)


class FlagDifficulty(Strict):
    resident_id = fields.Str(required=True)
    reason = Text(required=True)


class EnrollShareholder(Strict):
    resident_id = fields.Str(required=True)
    group = Code(required=True)
    shares = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class ChangeShares(Strict):
    shareholder_id = fields.Str(required=True)
    shares = fields.Int(strict=True, validate=validate.Range(min=0))
    group = Code()
    status = fields.Str(validate=validate.OneOf(SHAREHOLDER_STATUSES))
    reason = Text(required=True)


class ListShareholders(Paged(default=100, maximum=1000), Strict):
    group = Code(allow_none=True, load_default=None)
    status = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(SHAREHOLDER_STATUSES))


class RegisterOrganisation(Strict):
    kind = fields.Str(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    name = Text(required=True)
    category = fields.Str(allow_none=True, load_default=None)  # hospital, nanyin, women, ...
    agreement_on = fields.Date(allow_none=True, load_default=None)  # co-building units
    contact_name = fields.Str(allow_none=True, load_default=None)
    members = fields.List(fields.Str(), load_default=list)  # resident ids


class ListFullReads(Paged(default=100, maximum=1000), Strict):
    resident_id = fields.Str(allow_none=True, load_default=None)


def load_batch(schema_cls, items, max_items=1000):
    """Load a bulk-import batch; field errors come back keyed by the item's index."""
    if not isinstance(items, list) or not items or len(items) > max_items:
        raise ValidationError(f"a list of 1 to {max_items} items", "items")
    return schema_cls(many=True).load(items)


# --- views: what the RPCs answer ------------------------------------------------------------

class StaffView(View):
    staff_id = fields.Str()
    name = fields.Str()
    role = fields.Str()
    grid_code = fields.Str()
    phone = fields.Str()
    email = fields.Str()
    resident_id = fields.Str()
    active = fields.Bool(dump_default=True)


class GridView(View):
    optional = ("staff",)
    code = fields.Str()
    name = fields.Str()
    buildings = fields.List(fields.Str())
    grid_worker = fields.Dict()  # {staff_id, name} of the current grid worker, or None
    staff = fields.List(fields.Nested(StaffView))


class HouseholdView(View):
    optional = ("members",)
    household_id = fields.Str()
    grid_code = fields.Str()
    building = fields.Str()
    unit = fields.Str()
    room = fields.Str()
    kind = fields.Str()
    landlord_household_id = fields.Str()
    head_resident_id = fields.Str()
    members = fields.List(fields.Str())


class ResidentView(View):
    """A resident as a caller sees them: personal data masked unless `full` (domain.masked)."""

    optional = ("difficulty_reason", "changed", "flagged", "party_member")
    resident_id = fields.Str()
    name = fields.Str()
    id_number = fields.Str()
    phone = fields.Str()
    email = fields.Str()
    language = fields.Str(dump_default="zh-CN")
    household_id = fields.Str()
    grid_code = fields.Str()
    head_of_household = fields.Bool(dump_default=False)
    birth_date = Day()
    sex = fields.Str()
    age = fields.Int()
    age_group = fields.Str()
    residence_type = fields.Str()
    registered_on = Day()
    expires_on = Day()
    status = fields.Str()
    moved_out_on = Day()
    died_on = Day()
    tags = fields.List(fields.Str(), dump_default=list)
    masked = fields.Bool()
    difficulty_reason = fields.Str()
    changed = fields.List(fields.Str())   # update_resident: the fields it changed
    flagged = fields.Bool()               # flag_difficulty: whether this call flagged them
    party_member = fields.Bool()

    def __init__(self, today, full=False, **kwargs):
        super().__init__(**kwargs)
        self.today, self.full = today, full

    @pre_dump
    def _present(self, doc, **kwargs):
        return domain.present_resident(doc, self.today, self.full)


class PartyMemberView(View):
    resident_id = fields.Str()
    grid_code = fields.Str()
    branch_code = fields.Str()
    joined_on = Day()
    transferred_in_on = Day()
    posts = fields.List(fields.Str(), dump_default=list)


class ShareholderView(View):
    optional = ("name", "before", "after")
    shareholder_id = fields.Str()
    resident_id = fields.Str()
    group = fields.Str()
    shares = fields.Int()
    status = fields.Str()
    name = fields.Str()
    before = fields.Dict()
    after = fields.Dict()


class ShareholderChangeView(View):
    shareholder_id = fields.Str()
    at = Instant()
    by = fields.Str()
    reason = fields.Str()
    before = fields.Dict()
    after = fields.Dict()


class OrganisationView(View):
    org_id = fields.Str()
    kind = fields.Str()
    name = fields.Str()
    category = fields.Str()
    contact_name = fields.Str()
    members = fields.List(fields.Str())
    agreement_on = Day()


class FullReadView(View):
    resident_id = fields.Str()
    grid_code = fields.Str()
    actor = fields.Dict()
    reason = fields.Str()
    at = Instant()
    correlation_id = fields.Str()
