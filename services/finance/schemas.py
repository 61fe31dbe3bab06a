"""What finance's RPCs accept and return. Money is integer fen in and out (never a float); ids
have a declared shape, checked before any query; text is stripped, normalised and bounded."""

import re
import unicodedata

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.finance import domain
from shared.events.finance import PAYMENT_SOURCES, SUBSIDY_KINDS

MAX_FEN = 10**13  # 100 billion yuan: far above anything the cooperative books in one line
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class Text(fields.Str):
    """A string stripped and NFC-normalised; control, zero-width and bidi-override characters refused."""

    def __init__(self, max_length=200, min_length=1, **kwargs):
        super().__init__(validate=validate.Length(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs)).strip()
        if _FORBIDDEN_CHARS.search(text):
            raise ValidationError("contains control or invisible characters")
        return text


def Id(pattern, example, **kwargs):  # noqa: N802  (a field factory, read like a type)
    """An id of a declared shape: a string matching `pattern` (never a dict: no query operators)."""
    return fields.Str(
        validate=validate.Regexp(rf"\A(?:{pattern})\Z", error=f"expected an id like {example}"), **kwargs
    )


def Fen(minimum=0, **kwargs):  # noqa: N802
    return fields.Int(strict=True, validate=validate.Range(min=minimum, max=MAX_FEN), **kwargs)


KEY = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"  # a caller-chosen idempotency key
EntryId = lambda **kw: Id(KEY, "T-2026-0001", **kw)  # noqa: E731
PaymentId = lambda **kw: Id(KEY, "PAY-20261102-0001", **kw)  # noqa: E731
UnitId = lambda **kw: Id(r"U-[A-Z0-9-]{1,20}", "U-SHOP-012", **kw)  # noqa: E731
LeaseId = lambda **kw: Id(r"L-[A-Z0-9-]{1,20}", "L-2026-0001", **kw)  # noqa: E731
EnterpriseId = lambda **kw: Id(r"E-[A-Z0-9-]{1,12}", "E-01", **kw)  # noqa: E731
ShareholderId = lambda **kw: Id(r"SH-\d{5}", "SH-00012", **kw)  # noqa: E731
ResidentId = lambda **kw: Id(r"R-\d{6}", "R-000123", **kw)  # noqa: E731
RunId = lambda **kw: Id(r"DR-\d{4}", "DR-2026", **kw)  # noqa: E731
PayerId = lambda **kw: Id(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", "V-0012", **kw)  # noqa: E731
Reference = lambda **kw: Id(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", "INV-L-2026-0001-2026-11", **kw)  # noqa: E731
Group = lambda **kw: Text(max_length=40, **kw)  # noqa: E731
Month = lambda **kw: fields.Str(validate=validate.Regexp(r"\A\d{4}-(0[1-9]|1[0-2])\Z", error="YYYY-MM"), **kw)  # noqa: E731
Year = lambda **kw: fields.Int(strict=True, validate=validate.Range(min=2000, max=2100), **kw)  # noqa: E731


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Paged(Strict):
    page = fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Int(strict=True, load_default=100, validate=validate.Range(min=1, max=1000))


class AccountCode(fields.Str):
    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if len(code) > 80:
            raise ValidationError("too long")
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
    code = Id(r"[a-z][a-z0-9_]{0,39}", "adjustment", required=True)
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
    code = fields.Str(load_default=None, validate=validate.Length(max=40))


class RegisterUnit(Strict):
    unit_id = UnitId(required=True)
    kind = fields.Str(
        required=True, validate=validate.OneOf(("shop", "floor", "parking", "office", "warehouse"))
    )
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
    source = fields.Str(required=True, validate=validate.OneOf(PAYMENT_SOURCES))
    payer = PayerId(required=True)
    amount_fen = Fen(minimum=1, required=True)
    reference = Reference(load_default=None, allow_none=True)
    received_at = fields.AwareDateTime(load_default=None, allow_none=True)
    method = fields.Str(load_default="bank", validate=validate.OneOf(("bank", "cash", "wechat", "alipay")))


class AsOf(Strict):
    as_of = fields.Date(load_default=None, allow_none=True)


class PayerQuery(Strict):
    payer = PayerId(required=True)


class RegisterEnterprise(Strict):
    enterprise_id = EnterpriseId(required=True)
    name = Text(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(("self_run", "invested", "bank_shares")))
    group = Group(load_default=None, allow_none=True)  # None: a community-level enterprise


class RecordEnterpriseIncome(Strict):
    entry_id = EntryId(required=True)
    enterprise_id = EnterpriseId(required=True)
    period = fields.Str(
        required=True, validate=validate.Regexp(r"\A\d{4}(-(0[1-9]|1[0-2]))?\Z", error="YYYY or YYYY-MM")
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
    kind = fields.Str(required=True, validate=validate.OneOf(SUBSIDY_KINDS))
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
