"""What the market's RPCs accept, and the views they answer with.

Every id is a string of a declared shape (prefix, length, charset), checked before any query, so
no dict or operator ever reaches a filter; every string is stripped, NFC-normalised, free of
control and bidi-override characters and length-limited; money is integer fen (`strict`: no
floats, no numeric strings); unknown fields are refused.
"""


from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from shared import fields as fields_kit
from shared.events.market import (
    LICENCE_DOCUMENTS,
    STALL_KINDS,
    TRANSFER_REASONS,
    TRANSFER_RELATIONS,
    VIOLATION_TYPES,
)
from shared.fields import Strict, Text

# --- field shapes ---------------------------------------------------------------------------

ID_SHAPES = {
    "vendor_id": r"V-\d{6}",
    "resident_id": r"R-\d{6}",
    "stall_id": r"S-[A-Z]\d{3}",
    "rule_book_id": r"RB-\d{4}",
    "night_id": r"N-\d{8}",
    "inspection_id": r"INS-[0-9A-F]{12}",
    "violation_id": r"VIO-[0-9A-F]{12}",
    "application_id": r"APP-[0-9A-F]{12}",
    "fee_id": r"FEE-\d{6}-[A-Z]\d{3}",
    "zone": r"[A-Z]",
    "grid_code": r"G\d{1,2}",
}


def Id(shape, **kwargs):  # noqa: N802 (reads as a field)
    """The kit's id of the exact shape `ID_SHAPES[shape]`."""
    return fields_kit.ShapedId(shape, ID_SHAPES[shape], **kwargs)


def Fen(**kwargs):  # noqa: N802 (reads as a type)
    """Integer fen: `strict` refuses floats and numeric strings."""
    kwargs.setdefault("validate", validate.Range(min=0, max=10**12))
    return fields.Int(strict=True, **kwargs)


def Count(**kwargs):  # noqa: N802
    return fields.Int(strict=True, validate=validate.Range(min=0, max=10**7), **kwargs)


class Command(Strict):
    """A command. A caller retrying one sends the same `request_id` in the context: the kit
    (shared/idempotency.py) answers a repeat with the first result."""


# --- vendors --------------------------------------------------------------------------------


class Licence(Strict):
    number = Text(40, required=True)
    expires_on = fields.Date(required=True)


class RegisterVendor(Command):
    """A registry resident (by `resident_id`) or an outside vendor (name, ID number, phone)."""

    resident_id = Id("resident_id", load_default=None)
    name = Text(60, load_default=None)
    id_number = Text(20, load_default=None)
    phone = Text(20, load_default=None)
    goods_category = fields.Str(required=True, validate=validate.OneOf(STALL_KINDS))
    business_licence = fields.Nested(Licence, required=True)
    food_hygiene_certificate = fields.Nested(Licence, load_default=None)
    language = fields.Str(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))

    @validates_schema
    def resident_or_outsider(self, data, **kwargs):
        if data.get("resident_id"):
            extra = [f for f in ("name", "id_number", "phone") if data.get(f)]
            if extra:
                raise ValidationError(
                    {f: ["a resident's details come from the registry"] for f in extra}
                )
        else:
            missing = [f for f in ("name", "id_number", "phone") if not data.get(f)]
            if missing:
                raise ValidationError({f: ["required for an outside vendor"] for f in missing})


class RenewLicence(Command):
    vendor_id = Id("vendor_id", required=True)
    document = fields.Str(required=True, validate=validate.OneOf(LICENCE_DOCUMENTS))
    number = Text(40, required=True)
    expires_on = fields.Date(required=True)


class VendorRef(Strict):
    vendor_id = Id("vendor_id", required=True)


class ListVendors(Strict):
    status = fields.Str(
        load_default=None, validate=validate.OneOf(["applicant", "active", "suspended", "revoked"])
    )
    page = fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=10**6))
    page_size = fields.Int(strict=True, load_default=100, validate=validate.Range(min=1, max=500))


# --- stalls ---------------------------------------------------------------------------------


class StallIn(Strict):
    zone = Id("zone", required=True)
    number = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=999))
    kind = fields.Str(required=True, validate=validate.OneOf(STALL_KINDS))
    size_m2 = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=100))
    power = fields.Bool(required=True)
    water = fields.Bool(required=True)


class LayOutStalls(Strict):
    stalls = fields.List(
        fields.Nested(StallIn), required=True, validate=validate.Length(min=1, max=2000)
    )


class ApplyForStall(Command):
    vendor_id = Id("vendor_id", required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(STALL_KINDS))
    zone = Id("zone", load_default=None)


class AllocateStall(Command):
    """`lottery`: draw the vacant stalls of `kind` (in `zone`, if given) among eligible waiting
    applicants; `renewal`: renew the holder of `stall_id`; `direct`: give `stall_id` to `vendor_id`."""

    mode = fields.Str(required=True, validate=validate.OneOf(["lottery", "renewal", "direct"]))
    kind = fields.Str(load_default=None, validate=validate.OneOf(STALL_KINDS))
    zone = Id("zone", load_default=None)
    seed = Text(64, load_default=None)
    stall_id = Id("stall_id", load_default=None)
    vendor_id = Id("vendor_id", load_default=None)
    term_start = fields.Date(required=True)
    term_end = fields.Date(required=True)

    @validates_schema
    def by_mode(self, data, **kwargs):
        needs = {
            "lottery": ("kind", "seed"),
            "renewal": ("stall_id",),
            "direct": ("stall_id", "vendor_id"),
        }
        missing = [f for f in needs[data["mode"]] if not data.get(f)]
        if missing:
            raise ValidationError({f: [f"required for a {data['mode']}"] for f in missing})
        if data["term_end"] <= data["term_start"]:
            raise ValidationError({"term_end": ["must be after term_start"]})


class ReleaseStall(Command):
    stall_id = Id("stall_id", required=True)
    reason = Text(200, load_default="given up")


class TransferStall(Command):
    stall_id = Id("stall_id", required=True)
    from_vendor_id = Id("vendor_id", required=True)
    to_vendor_id = Id("vendor_id", required=True)
    relation = fields.Str(required=True, validate=validate.OneOf(TRANSFER_RELATIONS))
    reason = fields.Str(required=True, validate=validate.OneOf(TRANSFER_REASONS))
    note = Text(200, load_default=None)


class ListStalls(Strict):
    zone = Id("zone", load_default=None)
    kind = fields.Str(load_default=None, validate=validate.OneOf(STALL_KINDS))
    status = fields.Str(load_default=None, validate=validate.OneOf(["vacant", "allocated"]))
    page = fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=10**6))
    page_size = fields.Int(strict=True, load_default=100, validate=validate.Range(min=1, max=500))


# --- the rule book --------------------------------------------------------------------------


class ViolationRule(Strict):
    name = Text(60, required=True)
    points = fields.Int(strict=True, required=True, validate=validate.Range(min=0, max=100))
    fine_fen = Fen(required=True, validate=validate.Range(min=0, max=10**8))
    public_order = fields.Bool(required=True)


class ThresholdsIn(Strict):
    warning = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=1000))
    suspension = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=1000))
    suspension_nights = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=365))
    revocation = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=1000))


class ProposeRules(Command):
    title = Text(100, required=True)
    effective_on = fields.Date(required=True)
    violation_types = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(VIOLATION_TYPES)),
        values=fields.Nested(ViolationRule),
        required=True,
        validate=validate.Length(min=1),
    )
    thresholds = fields.Nested(ThresholdsIn, required=True)
    emergency = fields.Bool(load_default=False)


class VoteOnRules(Command):
    rule_book_id = Id("rule_book_id", required=True)
    vendor_id = Id("vendor_id", required=True)
    ballot = fields.Str(required=True, validate=validate.OneOf(["for", "against", "abstain"]))


class RuleBookRef(Command):
    rule_book_id = Id("rule_book_id", required=True)


class GetRules(Strict):
    rule_book_id = Id("rule_book_id", load_default=None)
    on = fields.Date(load_default=None)  # the book in force on this date (default: today)


# --- nights ---------------------------------------------------------------------------------


class OpenNight(Command):
    date = fields.Date(required=True)


class NightRef(Command):
    night_id = Id("night_id", required=True)


class CheckIn(Command):
    night_id = Id("night_id", required=True)
    stall_id = Id("stall_id", required=True)


class RecordFootfall(Command):
    night_id = Id("night_id", required=True)
    gate = Text(20, required=True)
    count = Count(required=True)


class ReportTakings(Command):
    night_id = Id("night_id", required=True)
    vendor_id = Id("vendor_id", required=True)
    takings_fen = Fen(required=True)


# --- inspections and violations -------------------------------------------------------------


class StartInspection(Command):
    night_id = Id("night_id", required=True)
    zone = Id("zone", load_default=None)


class RecordViolation(Command):
    inspection_id = Id("inspection_id", required=True)
    stall_id = Id("stall_id", required=True)
    violation_type = fields.Str(required=True, validate=validate.OneOf(VIOLATION_TYPES))
    description = Text(500, required=True)
    evidence = fields.List(Text(200), load_default=list, validate=validate.Length(max=10))


class AppealViolation(Command):
    violation_id = Id("violation_id", required=True)
    grounds = Text(1000, multiline=True, required=True)


class DecideAppeal(Command):
    violation_id = Id("violation_id", required=True)
    upheld = fields.Bool(required=True)
    reason = Text(500, required=True)


class ListViolations(Strict):
    vendor_id = Id("vendor_id", load_default=None)
    night_id = Id("night_id", load_default=None)
    violation_type = fields.Str(load_default=None, validate=validate.OneOf(VIOLATION_TYPES))
    public_order = fields.Bool(load_default=None)
    page = fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=10**6))
    page_size = fields.Int(strict=True, load_default=100, validate=validate.Range(min=1, max=500))


# --- figures --------------------------------------------------------------------------------


class MarketStats(Strict):
    period = fields.Str(required=True, validate=validate.OneOf(["night", "month", "year"]))
    key = fields.Str(required=True, validate=validate.Regexp(r"^\d{4}(-\d{2}(-\d{2})?)?$"))

    @validates_schema
    def key_matches_period(self, data, **kwargs):
        lengths = {"night": 10, "month": 7, "year": 4}
        if len(data["key"]) != lengths[data["period"]]:
            example = "2026-11-02"[: lengths[data["period"]]]
            raise ValidationError({"key": [f"a {data['period']} key looks like {example}"]})


# --- views ----------------------------------------------------------------------------------


class View(Schema):
    @post_dump
    def no_internal_keys(self, data, **kwargs):
        return {k: v for k, v in data.items() if not k.startswith("_")}


class StallView(View):
    stall_id = fields.Str(attribute="_id")
    zone = fields.Str()
    number = fields.Int()
    kind = fields.Str()
    size_m2 = fields.Int()
    power = fields.Bool()
    water = fields.Bool()
    status = fields.Str()
    vendor_id = fields.Str(allow_none=True)
    term_end = fields.Str(allow_none=True)


class ViolationView(View):
    violation_id = fields.Str(attribute="_id")
    vendor_id = fields.Str()
    stall_id = fields.Str()
    zone = fields.Str()
    grid_code = fields.Str()
    night_id = fields.Str()
    night_date = fields.Str()
    violation_type = fields.Str()
    description = fields.Str()
    evidence = fields.List(fields.Str())
    rule_book_id = fields.Str()
    points = fields.Int()
    fine_fen = fields.Int()
    public_order = fields.Bool()
    escalation = fields.Str()
    inspector_id = fields.Str()
    recorded_at = fields.DateTime()
    appeal = fields.Dict(allow_none=True)
    reversed = fields.Bool()


class RuleBookView(View):
    rule_book_id = fields.Str(attribute="_id")
    version = fields.Int()
    title = fields.Str()
    status = fields.Str()
    effective_on = fields.Str()
    emergency = fields.Bool()
    violation_types = fields.Dict()
    thresholds = fields.Dict()
    electorate_size = fields.Function(lambda b: len(b.get("electorate") or ()))
    result = fields.Dict(allow_none=True)


class LedgerView(View):
    delta = fields.Int()
    kind = fields.Str()
    violation_id = fields.Str()
    at = fields.DateTime()


class FeeView(View):
    fee_id = fields.Str(attribute="_id")
    stall_id = fields.Str()
    period = fields.Str()
    items = fields.Dict()
    amount_fen = fields.Int()
    paid_fen = fields.Int()
    status = fields.Str()
    due_on = fields.Str()
