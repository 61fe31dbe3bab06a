"""What finance's RPCs accept and return. Money is integer fen in and out (never a float); ids
have a declared shape, checked before any query; text is stripped, normalised and bounded."""

from functools import partial

from marshmallow import ValidationError, fields, validate, validates_schema

from services.finance import domain
from shared.events.finance import PAYMENT_SOURCES, SUBSIDY_KINDS
from shared.fields import Id, Strict, Text

MAX_FEN = 10**13  # 100 billion yuan: far above anything the cooperative books in one line
KEY_CHARSET = "A-Za-z0-9_.:-"  # caller-chosen idempotency keys: "PAY-20261102-0001", "T:2026:7"


def Fen(minimum=0, **kwargs):  # noqa: N802  (a field factory, read like a type)
    return fields.Int(strict=True, validate=validate.Range(min=minimum, max=MAX_FEN), **kwargs)


def Choice(values, **kwargs):  # noqa: N802
    return Id(validate=validate.OneOf(values), **kwargs)


def Key(**kwargs):  # noqa: N802
    return Id(charset=KEY_CHARSET, max_length=64, **kwargs)


EntryId = PaymentId = Reference = Key
UnitId = partial(Id, "U", max_length=24)
LeaseId = partial(Id, "L", max_length=24)
EnterpriseId = partial(Id, "E", max_length=16)
ShareholderId = partial(Id, "SH", max_length=12)
ResidentId = partial(Id, "R", max_length=12)
RunId = partial(Id, "DR", charset="0-9", max_length=7)
PayerId = partial(Id, max_length=40)  # a tenant's or a vendor's id
Group = partial(Text, max_length=40)
Month = partial(
    Id, charset="0-9-", max_length=7, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="YYYY-MM")
)
Year = partial(fields.Int, strict=True, validate=validate.Range(min=2000, max=2100))


class Paged(Strict):
    page = fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Int(strict=True, load_default=100, validate=validate.Range(min=1, max=1000))


class AccountCode(Text):
    """ "community/bank", "group:第3组/dividends": a code of the chart (domain.CHART)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=80, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        try:
            domain.parse_account(code)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return code


class Line(Strict):
    account = AccountCode(required=True)
    amount_fen = fields.Int(strict=True, required=True, validate=validate.Range(min=-MAX_FEN, max=MAX_FEN))


class PostTransfer(Strict):
    """Either `debit` + `credit` + `amount_fen`, or balanced `lines`."""

    entry_id = EntryId(required=True)
    code = Id(charset="a-z0-9_", required=True)  # what kind of entry: "adjustment", "transfer_to_group"
    debit = AccountCode()
    credit = AccountCode()
    amount_fen = Fen(minimum=1)
    lines = fields.List(fields.Nested(Line), validate=validate.Length(min=2, max=50))
    reference = Reference(load_default=None, allow_none=True)
    booked_on = fields.Date(load_default=None, allow_none=True)
    memo = Text(max_length=500, load_default=None, allow_none=True)

    @validates_schema
    def one_form(self, data, **kwargs):
        pair = [k for k in ("debit", "credit", "amount_fen") if k in data]
        if "lines" in data and pair:
            raise ValidationError("give lines, or debit/credit/amount_fen, not both", "lines")
        if "lines" not in data and len(pair) != 3:
            raise ValidationError(
                {k: ["required"] for k in ("debit", "credit", "amount_fen") if k not in data}
            )
        if data.get("debit") and data.get("debit") == data.get("credit"):
            raise ValidationError("must differ from debit", "credit")


class ReverseTransfer(Strict):
    entry_id = EntryId(required=True)
    reversal_id = EntryId(required=True)
    reason = Text(max_length=500, required=True)


class AccountQuery(Strict):
    account = AccountCode(required=True)


class JournalQuery(Paged):
    account = AccountCode(load_default=None)
    code = Id(load_default=None)


class RegisterUnit(Strict):
    unit_id = UnitId(required=True)
    kind = Choice(("shop", "floor", "parking", "office", "warehouse"), required=True)
    name = Text(required=True)
    area_m2 = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=100_000))


class SignLease(Strict):
    lease_id = LeaseId(required=True)
    unit_id = UnitId(required=True)
    tenant_id = PayerId(required=True)
    tenant_name = Text(required=True)
    monthly_rent_fen = Fen(minimum=1, required=True)
    start_month = Month(required=True)
    months = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=240))
    deposit_fen = Fen(load_default=0)
    escalation_bp = fields.Int(strict=True, load_default=0, validate=validate.Range(min=0, max=3000))


class RaiseInvoices(Strict):
    month = Month(required=True)


class RecordPayment(Strict):
    payment_id = PaymentId(required=True)
    source = Choice(PAYMENT_SOURCES, required=True)
    payer = PayerId(required=True)
    amount_fen = Fen(minimum=1, required=True)
    reference = Reference(load_default=None, allow_none=True)
    received_at = fields.AwareDateTime(load_default=None, allow_none=True)
    method = Choice(("bank", "cash", "wechat", "alipay"), load_default="bank")


class ImportPayments(Strict):
    payments = fields.List(fields.Nested(RecordPayment), required=True,
                           validate=validate.Length(min=1, max=5000))


class AsOf(Strict):
    as_of = fields.Date(load_default=None, allow_none=True)


class PayerQuery(Strict):
    payer = PayerId(required=True)


class RegisterEnterprise(Strict):
    enterprise_id = EnterpriseId(required=True)
    name = Text(required=True)
    kind = Choice(("self_run", "invested", "bank_shares"), required=True)
    group = Group(load_default=None, allow_none=True)  # None: a community-level enterprise


class RecordEnterpriseIncome(Strict):
    entry_id = EntryId(required=True)
    enterprise_id = EnterpriseId(required=True)
    period = Id(
        charset="0-9-",
        max_length=7,
        required=True,
        validate=validate.Regexp(r"^\d{4}(-(0[1-9]|1[0-2]))?$", error="YYYY or YYYY-MM"),
    )
    amount_fen = Fen(minimum=1, required=True)
    booked_on = fields.Date(load_default=None, allow_none=True)


class YearQuery(Strict):
    year = Year(required=True)


class PreviewDividends(Strict):
    year = Year(required=True)
    community_fen = Fen(required=True)
    groups_fen = fields.Dict(keys=Group(), values=Fen(), load_default=dict, validate=validate.Length(max=100))


class RunRef(Strict):
    run_id = RunId(required=True)


class DividendStatement(Strict):
    shareholder_id = ShareholderId(load_default=None)
    resident_id = ResidentId(load_default=None)

    @validates_schema
    def one_of(self, data, **kwargs):
        if bool(data.get("shareholder_id")) == bool(data.get("resident_id")):
            raise ValidationError("give shareholder_id or resident_id", "shareholder_id")


class RunAllowances(Strict):
    month = Month(required=True)


class RunSubsidies(Strict):
    kind = Choice(SUBSIDY_KINDS, required=True)
    year = Year(required=True)
    amount_fen = Fen(minimum=1, load_default=None, allow_none=True)  # default from the config


def load(schema, payload):
    """Load an RPC payload (one dict) with `schema`; anything but a dict is refused as a whole."""
    if not isinstance(payload, dict):
        raise ValidationError({"payload": ["an object is required"]})
    return schema().load(payload)


# --- views: fen in, fen out (`*_yuan` strings for display only) --------------------------------


def money(fen):
    return {"fen": fen, "yuan": domain.yuan(fen)}


def entry_view(doc):
    return {
        "entry_id": doc["_id"],
        "seq": doc.get("seq"),
        "code": doc["code"],
        "reference": doc.get("reference"),
        "lines": [{"account": line["account"], "amount_fen": line["amount_fen"]} for line in doc["lines"]],
        "booked_on": doc["booked_on"],
        "reverses": doc.get("reverses"),
        "fact_id": doc["fact_id"],
        "hash": doc.get("hash"),
    }


def run_view(run):
    return {
        "run_id": run["_id"],
        "year": run["year"],
        "status": run["status"],
        "maker": run["maker"],
        "approver": run.get("approver"),
        "shareholders": run["shareholders"],
        "community_fen": run["community_fen"],
        "groups_fen": run["groups_fen"],
        "total_fen": run["total_fen"],
        "total_yuan": domain.yuan(run["total_fen"]),
        "paid": run.get("paid", 0),
    }


def line_view(line):
    return {
        k: line[k]
        for k in (
            "run_id",
            "shareholder_id",
            "resident_id",
            "group",
            "shares",
            "community_fen",
            "group_fen",
            "amount_fen",
            "status",
        )
    } | {"amount_yuan": domain.yuan(line["amount_fen"])}


def invoice_view(doc, as_of=None):
    view = {
        k: doc[k]
        for k in (
            "lease_id",
            "unit_id",
            "tenant_id",
            "kind",
            "period",
            "amount_fen",
            "open_fen",
            "due_on",
            "status",
        )
    }
    view["invoice_id"] = doc["_id"]
    if as_of is not None:
        days = (as_of - domain.date.fromisoformat(doc["due_on"])).days
        view["days_overdue"] = max(days, 0)
        view["bucket"] = domain.aging_bucket(days)
    return view
