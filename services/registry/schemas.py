"""What the registry's RPCs accept. Field names are the contract other services code against."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.registry.domain import (
    HOUSEHOLD_KINDS,
    ORGANISATION_KINDS,
    PARTY_LEVELS,
    RESIDENT_STATUSES,
    SHAREHOLDER_STATUSES,
)
from shared.events.registry import RESIDENCE_TYPES, STAFF_ROLES

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


class ListHouseholds(Strict):
    grid_codes = fields.List(Code(), load_default=None, allow_none=True)
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Int(load_default=500, validate=validate.Range(min=1, max=1000))


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


class FindResidents(Strict):
    grid_code = Code(allow_none=True, load_default=None)
    household_id = fields.Str(allow_none=True, load_default=None)
    tag = fields.Str(allow_none=True, load_default=None)
    age_min = fields.Int(allow_none=True, load_default=None, validate=validate.Range(min=0, max=150))
    age_max = fields.Int(allow_none=True, load_default=None, validate=validate.Range(min=0, max=150))
    name_prefix = fields.Str(allow_none=True, load_default=None, validate=validate.Length(min=1, max=50))
    residence_type = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(RESIDENCE_TYPES))
    status = fields.Str(load_default="active", validate=validate.OneOf(RESIDENT_STATUSES + ("any",)))
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))

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


class ListShareholders(Strict):
    group = Code(allow_none=True, load_default=None)
    status = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(SHAREHOLDER_STATUSES))
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class RegisterOrganisation(Strict):
    kind = fields.Str(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    name = Text(required=True)
    category = fields.Str(allow_none=True, load_default=None)  # hospital, nanyin, women, ...
    agreement_on = fields.Date(allow_none=True, load_default=None)  # co-building units
    contact_name = fields.Str(allow_none=True, load_default=None)
    members = fields.List(fields.Str(), load_default=list)  # resident ids


class ListFullReads(Strict):
    resident_id = fields.Str(allow_none=True, load_default=None)
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


def load_batch(schema_cls, items, max_items=1000):
    """Load a bulk-import batch; field errors come back keyed by the item's index."""
    if not isinstance(items, list) or not items or len(items) > max_items:
        raise ValidationError(f"a list of 1 to {max_items} items", "items")
    return schema_cls(many=True).load(items)
