"""Events of the night market (阳光夜市): vendors, stalls, the rule book, nights, violations, fees.

Every fact about a vendor names `vendor_id` and, when the vendor is a registry resident, their
`resident_id`: notifications reaches a vendor as that resident, or as the vendor id learned from
`market.vendor_registered` (the only event carrying a vendor's phone, and only an outside vendor's:
a resident's contact points are the registry's). Money is integer fen. ID numbers never travel.
"""

from marshmallow import Schema, fields, validate

from shared.events.catalogue import event

STALL_KINDS = ("food_fire", "food_no_fire", "goods", "services")
VIOLATION_TYPES = ("beyond_stall_line", "hygiene", "noise_after_hours", "open_flame_without_permit",
                   "prohibited_goods", "short_weight_or_price_fraud", "trading_outside_hours",
                   "no_valid_licence", "unsorted_waste", "blocked_fire_lane", "fighting")
ESCALATIONS = ("none", "warning", "suspension", "revocation")
LICENCE_DOCUMENTS = ("business_licence", "food_hygiene_certificate")
FEE_ITEMS = ("management", "sanitation", "power")
ALLOCATION_MODES = ("lottery", "renewal", "direct")
TRANSFER_RELATIONS = ("spouse", "parent", "child", "sibling")  # close family only: no private transfers
TRANSFER_REASONS = ("illness", "old_age", "death", "moving_away")

Fen = fields.Int  # integer fen, never float


class VendorFact(Schema):
    vendor_id = fields.Str(required=True)
    resident_id = fields.Str(allow_none=True, load_default=None)  # None: an outside vendor


@event("market.vendor_registered", 1)
class VendorRegistered(VendorFact):
    """A vendor (摊商) was registered: a registry resident or an outside vendor."""

    name = fields.Str(required=True)
    goods_category = fields.Str(required=True)
    phone = fields.Str(allow_none=True, load_default=None)  # outside vendors only
    language = fields.Str(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))


@event("market.stall_allocated", 1)
class StallAllocated(VendorFact):
    """A stall (摊位) was allocated to a vendor for a term: by lottery, renewal or directly."""

    stall_id = fields.Str(required=True)
    zone = fields.Str(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(STALL_KINDS))
    term_start = fields.Date(required=True)
    term_end = fields.Date(required=True)
    mode = fields.Str(required=True, validate=validate.OneOf(ALLOCATION_MODES))
    lottery_id = fields.Str(allow_none=True, load_default=None)


@event("market.stall_released", 1)
class StallReleased(VendorFact):
    """A vendor gave up a stall, or lost it (revocation, moving away): it is vacant again."""

    stall_id = fields.Str(required=True)
    reason = fields.Str(required=True)


@event("market.stall_transferred", 1)
class StallTransferred(Schema):
    """The office passed a stall, for the rest of its term, from its holder to a close relative
    who is an eligible vendor (转让, under the rule book's transfer rules)."""

    stall_id = fields.Str(required=True)
    from_vendor_id = fields.Str(required=True)
    from_resident_id = fields.Str(allow_none=True, load_default=None)
    to_vendor_id = fields.Str(required=True)
    to_resident_id = fields.Str(allow_none=True, load_default=None)
    relation = fields.Str(required=True, validate=validate.OneOf(TRANSFER_RELATIONS))
    reason = fields.Str(required=True, validate=validate.OneOf(TRANSFER_REASONS))
    term_end = fields.Date(required=True)


@event("market.rules_adopted", 1)
class RulesAdopted(Schema):
    """A rule-book version (规章制度) was adopted by the vendors' vote, or published as an
    emergency safety rule by the office alone; it applies from `effective_on`."""

    rule_book_id = fields.Str(required=True)
    version = fields.Int(required=True, strict=True)
    effective_on = fields.Date(required=True)
    emergency = fields.Bool(required=True)
    electorate = fields.Int(required=True, strict=True)
    votes_for = fields.Int(required=True, strict=True)
    votes_against = fields.Int(required=True, strict=True)
    violation_types = fields.List(fields.Str(), required=True)


@event("market.night_opened", 1)
class NightOpened(Schema):
    """A market night opened."""

    night_id = fields.Str(required=True)
    date = fields.Date(required=True)
    stalls_allocated = fields.Int(required=True, strict=True)


@event("market.night_closed", 1)
class NightClosed(Schema):
    """A market night closed, with its summary: attendance, footfall, takings, violations by type."""

    night_id = fields.Str(required=True)
    date = fields.Date(required=True)
    stalls_allocated = fields.Int(required=True, strict=True)
    present = fields.Int(required=True, strict=True)
    absent = fields.Int(required=True, strict=True)
    footfall = fields.Int(required=True, strict=True)
    takings_fen = Fen(required=True, strict=True)
    takings_reported = fields.Int(required=True, strict=True)
    violations_by_type = fields.Dict(keys=fields.Str(), values=fields.Int(strict=True), required=True)


@event("market.violation_recorded", 1)
class ViolationRecorded(VendorFact):
    """An inspection finding: points and a fine for the vendor; a public-order one is also a grid
    incident in `grid_code`, the grid containing the stall's zone."""

    violation_id = fields.Str(required=True)
    stall_id = fields.Str(required=True)
    zone = fields.Str(required=True)
    grid_code = fields.Str(required=True)
    violation_type = fields.Str(required=True, validate=validate.OneOf(VIOLATION_TYPES))
    description = fields.Str(required=True)
    rule_book_id = fields.Str(required=True)
    points = fields.Int(required=True, strict=True)
    fine_fen = Fen(required=True, strict=True)
    public_order = fields.Bool(required=True)
    points_total = fields.Int(required=True, strict=True)
    escalation = fields.Str(required=True, validate=validate.OneOf(ESCALATIONS))
    inspector_id = fields.Str(required=True)
    night_id = fields.Str(required=True)


@event("market.violation_reversed", 1)
class ViolationReversed(VendorFact):
    """An upheld appeal reversed a violation: its points and fine are taken back (a new fact)."""

    violation_id = fields.Str(required=True)
    points = fields.Int(required=True, strict=True)
    fine_fen = Fen(required=True, strict=True)
    points_total = fields.Int(required=True, strict=True)
    reason = fields.Str(required=True)


@event("market.vendor_suspended", 1)
class VendorSuspended(VendorFact):
    """A vendor's points passed the suspension threshold: no trading for `nights` nights."""

    points_total = fields.Int(required=True, strict=True)
    nights = fields.Int(required=True, strict=True)
    until = fields.Date(required=True)  # the first night they may trade again
    violation_id = fields.Str(required=True)


@event("market.vendor_reinstated", 1)
class VendorReinstated(VendorFact):
    """A suspension ended, or an appeal took the vendor back below the threshold."""

    reason = fields.Str(required=True)


@event("market.vendor_revoked", 1)
class VendorRevoked(VendorFact):
    """A vendor's points passed the revocation threshold: their licence to trade here ends."""

    points_total = fields.Int(required=True, strict=True)
    violation_id = fields.Str(required=True)


@event("market.fee_charged", 1)
class FeeCharged(VendorFact):
    """A stall's monthly fees (management, sanitation, power) were charged; finance keeps the
    receivable, `finance.payment_received` clears it here."""

    fee_id = fields.Str(required=True)
    stall_id = fields.Str(required=True)
    period = fields.Str(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    items = fields.Dict(keys=fields.Str(validate=validate.OneOf(FEE_ITEMS)),
                        values=fields.Int(strict=True), required=True)
    amount_fen = Fen(required=True, strict=True, validate=validate.Range(min=1))
    due_on = fields.Date(required=True)


@event("market.licence_expiring", 1)
class LicenceExpiring(VendorFact):
    """A vendor's business licence or food-hygiene certificate expires soon (or has expired)."""

    document = fields.Str(required=True, validate=validate.OneOf(LICENCE_DOCUMENTS))
    expires_on = fields.Date(required=True)
    days_left = fields.Int(required=True, strict=True)
