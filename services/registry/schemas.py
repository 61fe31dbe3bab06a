"""What the registry's RPCs accept, and the views they answer with. Field names are the contract
other services code against.

Every id is a string of a declared shape checked before any query (`R-000123`, `HH-G3-00001`,
`SH-00001`; grid, building, staff and party unit codes in the id charset), so no dict or operator
ever reaches a filter; every text is stripped, NFC-normalised, free of control and bidi-override
characters and length-limited (shared/fields.py); unknown fields are refused.
"""


from marshmallow import ValidationError, fields, pre_dump, validate, validates_schema

from services.registry import domain
from services.registry.domain import (
    HOUSEHOLD_KINDS,
    ORGANISATION_KINDS,
    PARTY_LEVELS,
    RESIDENT_STATUSES,
    SHAREHOLDER_STATUSES,
)
from shared import fields as kit
from shared.events.registry import RESIDENCE_TYPES, STAFF_ROLES
from shared.fields import Code, Strict, Text
from shared.queries import Paged
from shared.views import Day, Instant, View

LANGUAGES = ("zh-CN", "en")

# --- field shapes ---------------------------------------------------------------------------

ID_SHAPES = {
    "resident_id": r"R-\d{6,9}",
    "household_id": r"HH-[A-Za-z0-9_-]{1,40}-\d{5,9}",
    "shareholder_id": r"SH-\d{5,9}",
}


def Id(shape, **kwargs):  # noqa: N802 (reads as a field)
    """The kit's id of the exact shape `ID_SHAPES[shape]`."""
    return kit.ShapedId(shape, ID_SHAPES[shape], max_length=60, **kwargs)


def Choice(values, **kwargs):  # noqa: N802 - a field factory reads like a field class
    return fields.Str(validate=validate.OneOf(values), **kwargs)


def Email(**kwargs):  # noqa: N802
    return Text(max_length=254, validate=validate.Email(), **kwargs)


def Phone(**kwargs):  # noqa: N802 - the digits are checked by shared.personal.normalise_phone
    return Text(max_length=30, **kwargs)


Room = lambda **kw: Text(max_length=20, **kw)  # noqa: E731 - unit and room of an address


# Bare RPC arguments (`get_resident("R-000001")`), loaded with shared.fields.argument.
RESIDENT_ID = Id("resident_id", required=True)
HOUSEHOLD_ID = Id("household_id", required=True)
SHAREHOLDER_ID = Id("shareholder_id", required=True)
GRID_CODE = Code(required=True)
BRANCH_CODE = Code(allow_none=True, load_default=None)
PARTY_LEVEL = Choice(PARTY_LEVELS, allow_none=True, load_default=None)
ORGANISATION_KIND = Choice(ORGANISATION_KINDS, allow_none=True, load_default=None)


# --- grids and staff --------------------------------------------------------------------------

class DefineGrid(Strict):
    code = Code(required=True)
    name = Text(required=True)
    buildings = fields.List(Code(), required=True, validate=validate.Length(min=1, max=500))


class Address(Strict):
    building = Code(required=True)
    unit = Room(allow_none=True, load_default=None)
    room = Room(load_default=None, allow_none=True)


class AssignGridStaff(Strict):
    grid_code = Code(allow_none=True, load_default=None)
    role = Choice(STAFF_ROLES, required=True)
    name = Text(required=True)
    phone = Phone(required=True)
    email = Email(allow_none=True, load_default=None)
    language = Choice(LANGUAGES, load_default="zh-CN")
    resident_id = Id("resident_id", allow_none=True, load_default=None)
    staff_id = Code(allow_none=True, load_default=None)


class ListStaff(Strict):
    role = Choice(STAFF_ROLES, allow_none=True, load_default=None)
    grid_code = Code(allow_none=True, load_default=None)


# --- households and residents -----------------------------------------------------------------

class RegisterHousehold(Strict):
    building = Code(required=True)
    unit = Room(allow_none=True, load_default=None)
    room = Room(required=True)
    kind = Choice(HOUSEHOLD_KINDS, required=True)
    landlord_household_id = Id("household_id", allow_none=True, load_default=None)


class ListHouseholds(Paged(default=500, maximum=1000), Strict):
    grid_codes = fields.List(Code(), load_default=None, allow_none=True, validate=validate.Length(max=100))


Tags = lambda **kw: fields.List(Text(max_length=32), validate=validate.Length(max=50), **kw)  # noqa: E731


class RegisterResident(Strict):
    name = Text(required=True)
    id_number = Text(max_length=30, required=True)  # checked by shared.personal.parse_id_number
    phone = Phone(allow_none=True, load_default=None)
    email = Email(allow_none=True, load_default=None)
    language = Choice(LANGUAGES, load_default="zh-CN")
    household_id = Id("household_id", required=True)
    residence_type = Choice(RESIDENCE_TYPES, required=True)
    registered_on = fields.Date(allow_none=True, load_default=None)
    expires_on = fields.Date(allow_none=True, load_default=None)
    tags = Tags(load_default=list)
    head_of_household = fields.Bool(load_default=False)


class ReadResident(Strict):
    """`get_resident(resident_id, full=False, reason=None)`'s arguments."""

    resident_id = Id("resident_id", required=True)
    full = fields.Bool(strict=True, load_default=False)
    reason = Text(allow_none=True, load_default=None)


class UpdateResident(Strict):
    """The facts that may change; the ID number (and so birth date and sex) never does."""

    resident_id = Id("resident_id", required=True)
    name = Text()
    phone = Phone(allow_none=True)
    email = Email(allow_none=True)
    language = Choice(LANGUAGES)
    household_id = Id("household_id")
    residence_type = Choice(RESIDENCE_TYPES)
    registered_on = fields.Date()
    expires_on = fields.Date(allow_none=True)
    tags = Tags()
    head_of_household = fields.Bool()


class MoveOut(Strict):
    resident_id = Id("resident_id", required=True)
    moved_out_on = fields.Date(required=True)


class RecordDeath(Strict):
    resident_id = Id("resident_id", required=True)
    died_on = fields.Date(required=True)


class FindResidents(Paged(default=50, maximum=500), Strict):
    grid_code = Code(allow_none=True, load_default=None)
    household_id = Id("household_id", allow_none=True, load_default=None)
    tag = Text(max_length=32, allow_none=True, load_default=None)
    age_min = fields.Int(allow_none=True, load_default=None, validate=validate.Range(min=0, max=150))
    age_max = fields.Int(allow_none=True, load_default=None, validate=validate.Range(min=0, max=150))
    name_prefix = Text(max_length=50, allow_none=True, load_default=None)
    residence_type = Choice(RESIDENCE_TYPES, allow_none=True, load_default=None)
    status = Choice(RESIDENT_STATUSES + ("any",), load_default="active")

    @validates_schema
    def _age_range(self, data, **kwargs):
        if data.get("age_min") is not None and data.get("age_max") is not None \
                and data["age_min"] > data["age_max"]:
            raise ValidationError("must not exceed age_max", "age_min")


class FlagDifficulty(Strict):
    resident_id = Id("resident_id", required=True)
    reason = Text(required=True)


class ListFullReads(Paged(default=100, maximum=1000), Strict):
    resident_id = Id("resident_id", allow_none=True, load_default=None)


# --- party organisation -----------------------------------------------------------------------

class DefinePartyUnit(Strict):
    code = Code(required=True)
    name = Text(required=True)
    level = Choice(PARTY_LEVELS, required=True)
    parent_code = Code(allow_none=True, load_default=None)
    grid_code = Code(allow_none=True, load_default=None)


class RegisterPartyMember(Strict):
    resident_id = Id("resident_id", required=True)
    branch_code = Code(required=True)
    joined_on = fields.Date(required=True)
    transferred_in_on = fields.Date(allow_none=True, load_default=None)
    posts = fields.List(Text(max_length=40), load_default=list, validate=validate.Length(max=10))


# --- shareholders -----------------------------------------------------------------------------

SHARES = validate.Range(min=1, max=1_000_000,
                        error="from 1 to 1,000,000 (a shareholding ends by status withdrawn, not 0 shares)")


class EnrollShareholder(Strict):
    resident_id = Id("resident_id", required=True)
    group = Text(max_length=40, required=True)  # the cooperative's group, e.g. 第3组
    shares = fields.Int(required=True, strict=True, validate=SHARES)


class ChangeShares(Strict):
    shareholder_id = Id("shareholder_id", required=True)
    shares = fields.Int(strict=True, validate=SHARES)
    group = Text(max_length=40)
    status = Choice(SHAREHOLDER_STATUSES)
    reason = Text(required=True)


class ListShareholders(Paged(default=100, maximum=1000), Strict):
    group = Text(max_length=40, allow_none=True, load_default=None)
    status = Choice(SHAREHOLDER_STATUSES, allow_none=True, load_default=None)


# --- organisations ----------------------------------------------------------------------------

class RegisterOrganisation(Strict):
    kind = Choice(ORGANISATION_KINDS, required=True)
    name = Text(required=True)
    category = Text(max_length=40, allow_none=True, load_default=None)  # hospital, nanyin, women, ...
    agreement_on = fields.Date(allow_none=True, load_default=None)  # co-building units
    contact_name = Text(max_length=60, allow_none=True, load_default=None)
    members = fields.List(Id("resident_id"), load_default=list, validate=validate.Length(max=1000))


def load_batch(schema_cls, items, max_items=1000):
    """Load a bulk-import batch; field errors come back as `items.<index>.<field>`."""
    if not isinstance(items, list) or not items or len(items) > max_items:
        raise ValidationError(f"a list of 1 to {max_items} items", "items")
    try:
        return schema_cls(many=True).load(items)
    except ValidationError as exc:
        raise ValidationError(_items(exc.normalized_messages())) from None


def _items(messages):
    """{0: {"name": [...]}} → {"items.0.name": [...]} (a non-object item: `items.<index>`)."""
    flat = {}
    for index, errors in messages.items():
        if isinstance(errors, dict):
            for field, reasons in errors.items():
                flat[f"items.{index}.{field}"] = reasons
        else:
            flat[f"items.{index}"] = errors
    return flat


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
