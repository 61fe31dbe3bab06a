"""Events of finance: the cooperative's books (ledger, rents, payments, dividends, allowances).

Money is integer fen everywhere (1 yuan = 100 fen); no payload carries a float. Every event that
moves money names the journal entry that booked it (`entry_id`), so a consumer can cite it.
"""

from marshmallow import Schema, fields, validate

from shared.events.catalogue import event

# Where a payment comes from; the reference it clears depends on it (an invoice id for rent, the
# market's fee or violation id for market).
PAYMENT_SOURCES = ("rent", "market", "deposit", "other")
AGING_BUCKETS = ("1-30", "31-60", "61-90", "90+")
SUBSIDY_KINDS = ("school_entry", "insurance_premium")


def Fen(**kwargs):  # noqa: N802  (a field factory, read like a type)
    return fields.Int(strict=True, **kwargs)


class Line(Schema):
    account = fields.Str(required=True)
    amount_fen = Fen(required=True)  # debit positive, credit negative; an entry's lines sum to 0


@event("finance.transfer_posted", 1)
class TransferPosted(Schema):
    """A transfer was posted by hand (or reversed) in the ledger; domain postings have their own facts."""

    entry_id = fields.Str(required=True)
    code = fields.Str(required=True)
    reference = fields.Str(allow_none=True, load_default=None)
    lines = fields.List(fields.Nested(Line), required=True)
    booked_on = fields.Date(required=True)
    reverses = fields.Str(allow_none=True, load_default=None)


@event("finance.invoice_issued", 1)
class InvoiceIssued(Schema):
    """A tenant was invoiced a month's rent (or a lease deposit)."""

    invoice_id = fields.Str(required=True)
    lease_id = fields.Str(required=True)
    unit_id = fields.Str(required=True)
    tenant_id = fields.Str(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(("rent", "deposit")))
    period = fields.Str(allow_none=True, load_default=None)  # "YYYY-MM" for rent
    amount_fen = Fen(required=True)
    due_on = fields.Date(required=True)
    entry_id = fields.Str(required=True)


@event("finance.payment_received", 1)
class PaymentReceived(Schema):
    """Money came in and was matched: `reference` (an invoice id for rent, the market's fee or
    violation id for market) is cleared by `applied_fen`; anything left is held as the payer's credit."""

    payment_id = fields.Str(required=True)
    source = fields.Str(required=True, validate=validate.OneOf(PAYMENT_SOURCES))
    reference = fields.Str(allow_none=True, load_default=None)
    payer = fields.Str(required=True)  # vendor id, tenant id, ...
    amount_fen = Fen(required=True, validate=validate.Range(min=1))
    received_at = fields.AwareDateTime(required=True)
    applied_fen = Fen(load_default=0)  # cleared receivables
    unapplied_fen = Fen(load_default=0)  # over- or unmatched payment, held as credit
    settled = fields.Bool(load_default=False)  # `reference` is now fully paid
    entry_id = fields.Str(allow_none=True, load_default=None)


@event("finance.rent_overdue", 1)
class RentOverdue(Schema):
    """A rent invoice moved into an older arrears bucket (once per invoice and bucket)."""

    invoice_id = fields.Str(required=True)
    lease_id = fields.Str(required=True)
    unit_id = fields.Str(required=True)
    tenant_id = fields.Str(required=True)
    open_fen = Fen(required=True)
    due_on = fields.Date(required=True)
    days_overdue = fields.Int(strict=True, required=True)
    bucket = fields.Str(required=True, validate=validate.OneOf(AGING_BUCKETS))


@event("finance.dividend_run_previewed", 1)
class DividendRunPreviewed(Schema):
    """A yearly dividend run was computed and waits for a second person's approval."""

    run_id = fields.Str(required=True)
    year = fields.Int(strict=True, required=True)
    shareholders = fields.Int(strict=True, required=True)
    community_fen = Fen(required=True)
    groups_fen = fields.Dict(keys=fields.Str(), values=Fen(), required=True)
    total_fen = Fen(required=True)
    maker = fields.Str(required=True)


@event("finance.dividend_run_approved", 1)
class DividendRunApproved(Schema):
    """A dividend run was approved by someone other than its maker; it may now be paid."""

    run_id = fields.Str(required=True)
    year = fields.Int(strict=True, required=True)
    total_fen = Fen(required=True)
    maker = fields.Str(required=True)
    approver = fields.Str(required=True)


@event("finance.dividend_paid", 1)
class DividendPaid(Schema):
    """One shareholder's dividend of a run was paid (exactly once per run and shareholder)."""

    payment_id = fields.Str(required=True)
    run_id = fields.Str(required=True)
    year = fields.Int(strict=True, required=True)
    shareholder_id = fields.Str(required=True)
    resident_id = fields.Str(required=True)
    group = fields.Str(required=True)
    shares = fields.Int(strict=True, required=True)
    community_fen = Fen(required=True)
    group_fen = Fen(required=True)
    amount_fen = Fen(required=True)
    entry_id = fields.Str(required=True)


@event("finance.allowance_paid", 1)
class AllowancePaid(Schema):
    """A resident aged 60+ was paid the monthly elderly allowance (prorated in the first month)."""

    payment_id = fields.Str(required=True)
    month = fields.Str(required=True)  # "YYYY-MM"
    resident_id = fields.Str(required=True)
    amount_fen = Fen(required=True)
    first_month_fen = Fen(load_default=0)  # prorated part for the month of turning 60, if any
    entry_id = fields.Str(required=True)


@event("finance.subsidy_paid", 1)
class SubsidyPaid(Schema):
    """A school-entry subsidy (to a child's household) or a household insurance premium was paid."""

    payment_id = fields.Str(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(SUBSIDY_KINDS))
    period = fields.Str(required=True)  # the year
    beneficiary_id = fields.Str(required=True)  # the child (school entry) or the household
    household_id = fields.Str(allow_none=True, load_default=None)
    amount_fen = Fen(required=True)
    entry_id = fields.Str(required=True)
