"""Finance's pure rules: the chart of accounts, balanced entries and their hash chain, dividend
shares with largest-remainder rounding, the elderly allowance, rent escalation and arrears aging,
payment matching, and who may do what. No I/O here.

Money is integer fen (1 yuan = 100 fen). An entry's lines are signed: a debit is positive, a
credit negative; a balanced entry's lines sum to zero, so the sum of all balances is always zero.
"""

import calendar
import hashlib
import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from shared.access import (
    ALL,
    ANYONE,
    COMMUNITY_ADMIN,
    FINANCE_APPROVER,
    FINANCE_OFFICER,
    OPERATOR,
    OWN,
    RESIDENT,
    SYSTEM,
    VENDOR,
    Policy,
)
from shared.errors import Conflict, Forbidden, InvalidInput, invalid

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
GENESIS = "0" * 64

# --- chart of accounts ------------------------------------------------------------------------
# The same chart at community level ("community") and for each share group ("group:第3组").
ASSET, LIABILITY, EQUITY, INCOME, EXPENSE = "asset", "liability", "equity", "income", "expense"
CHART = {
    "bank": ASSET,
    "cash": ASSET,
    "rent_receivable": ASSET,
    "fees_receivable": ASSET,
    "fines_receivable": ASSET,
    "deposits_held": LIABILITY,  # lease deposits, owed back to tenants
    "unapplied_payments": LIABILITY,  # over- and unmatched payments, the payer's credit
    "retained_earnings": EQUITY,
    "dividends": EQUITY,
    "income_rent": INCOME,
    "income_enterprise": INCOME,
    "income_bank_dividend": INCOME,
    "income_market_fees": INCOME,
    "income_market_fines": INCOME,
    "income_other": INCOME,
    "allowance_expense": EXPENSE,
    "subsidy_expense": EXPENSE,
    "insurance_expense": EXPENSE,
    "operating_expense": EXPENSE,
}
COMMUNITY = "community"
# Income accounts by the source `income_report` names them after.
INCOME_SOURCES = {
    "income_rent": "rent",
    "income_enterprise": "enterprises",
    "income_bank_dividend": "bank_shares",
    "income_market_fees": "market_fees",
    "income_market_fines": "market_fines",
    "income_other": "other",
}


def account(name, group=None):
    """The account code: "community/bank", "group:第3组/dividends"."""
    return f"{COMMUNITY if group is None else 'group:' + group}/{name}"


def parse_account(code):
    """(scope, name), or ValueError for a code outside the chart."""
    if not isinstance(code, str) or "/" not in code:
        raise ValueError("not an account code")
    scope, name = code.rsplit("/", 1)
    if name not in CHART:
        raise ValueError(f"no account {name!r} in the chart")
    if scope != COMMUNITY and not (scope.startswith("group:") and 0 < len(scope) - 6 <= 40):
        raise ValueError("scope must be 'community' or 'group:<name>'")
    return scope, name


def check_lines(lines, field="lines"):
    """Refuse an entry that is not balanced double entry over known accounts."""
    errors = {}
    if len(lines) < 2:
        errors[field] = ["an entry has at least two lines"]
    for index, line in enumerate(lines):
        try:
            parse_account(line["account"])
        except ValueError as exc:
            errors[f"{field}.{index}.account"] = [str(exc)]
        if (
            not isinstance(line["amount_fen"], int)
            or isinstance(line["amount_fen"], bool)
            or line["amount_fen"] == 0
        ):
            errors[f"{field}.{index}.amount_fen"] = ["a non-zero whole number of fen"]
    if not errors and sum(line["amount_fen"] for line in lines) != 0:
        errors[field] = ["debits and credits differ: the lines must sum to 0"]
    if errors:
        raise InvalidInput("unbalanced or unknown entry", errors)


def transfer_lines(debit, credit, amount_fen):
    return [{"account": debit, "amount_fen": amount_fen}, {"account": credit, "amount_fen": -amount_fen}]


def entry(entry_id, code, lines, booked_on, reference=None, fact=None, reverses=None):
    """A journal entry before posting (no sequence number or hash yet).

    `fact` is what moved the money: {"id", "kind"}; an event id for facts received from another
    service, our own payment id for facts we record. Reconciliation pairs them one to one."""
    check_lines(lines)
    return {
        "_id": entry_id,
        "code": code,
        "reference": reference,
        "lines": lines,
        "booked_on": booked_on.isoformat(),
        "reverses": reverses,
        "fact_id": (fact or {}).get("id", entry_id),
        "fact_kind": (fact or {}).get("kind", code),
    }


BODY_FIELDS = ("code", "reference", "lines", "booked_on", "reverses", "fact_id", "fact_kind")


def body(doc):
    """What makes two posts of one id "the same": everything but sequence, hash and timestamps."""
    return {k: doc.get(k) for k in BODY_FIELDS}


def same_body(stored, new):
    return body(stored) == body(new)


def amount_of(doc):
    """An entry's size: the sum of its debits."""
    return sum(line["amount_fen"] for line in doc["lines"] if line["amount_fen"] > 0)


def reversal(original, entry_id, booked_on, reason_code="reversal"):
    lines = [{"account": line["account"], "amount_fen": -line["amount_fen"]} for line in original["lines"]]
    return entry(
        entry_id,
        reason_code,
        lines,
        booked_on,
        reference=original["_id"],
        fact={"id": entry_id, "kind": reason_code},
        reverses=original["_id"],
    )


# --- tamper evidence: each entry carries the hash of the one before ---------------------------


def chain_hash(doc, seq, prev_hash):
    canonical = json.dumps(
        {"id": doc["_id"], "seq": seq, "prev": prev_hash, **body(doc)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain(docs, head):
    """Number and hash `docs` after `head` = {"seq", "hash"}; returns the new head."""
    seq, prev = head["seq"], head["hash"]
    for doc in docs:
        seq += 1
        doc["seq"], doc["prev_hash"] = seq, prev
        doc["hash"] = prev = chain_hash(doc, seq, prev)
    return {"seq": seq, "hash": prev}


def first_broken(entries):
    """The first entry (in sequence order) whose hash, link or number does not match, else None."""
    seq, prev = 0, GENESIS
    for doc in entries:
        seq += 1
        if (
            doc.get("seq") != seq
            or doc.get("prev_hash") != prev
            or chain_hash(doc, seq, prev) != doc.get("hash")
        ):
            return {"entry_id": doc["_id"], "seq": doc.get("seq"), "expected_seq": seq}
        prev = doc["hash"]
    return None


# --- dividends --------------------------------------------------------------------------------


def largest_remainder(pool_fen, weights):
    """Split `pool_fen` by integer `weights` ({key: weight}) into whole fen summing to the pool.

    Each gets floor(pool * w / W); the fen left over go one each to the largest remainders (ties to
    the smaller key, so the split is reproducible)."""
    total = sum(weights.values())
    if pool_fen == 0 or total == 0:
        return dict.fromkeys(weights, 0)
    shares, remainders = {}, []
    for key, weight in weights.items():
        quotient, remainder = divmod(pool_fen * weight, total)
        shares[key] = quotient
        remainders.append((-remainder, key))
    for _, key in sorted(remainders)[: pool_fen - sum(shares.values())]:
        shares[key] += 1
    return shares


def dividend_lines(shareholders, community_fen, groups_fen):
    """Each shareholder's two-level dividend: the community pool over all shares, plus the pool of
    the shareholder's group over that group's shares. Refuses a pool nobody could receive."""
    eligible = [s for s in shareholders if s["shares"] > 0 and s.get("status", "active") == "active"]
    by_group = {}
    for s in eligible:
        by_group.setdefault(s["group"], {})[s["shareholder_id"]] = s["shares"]
    empty = {
        f"groups_fen.{g}": ["no shareholder with shares in this group"]
        for g, pool in groups_fen.items()
        if pool and g not in by_group
    }
    if community_fen and not eligible:
        empty["community_fen"] = ["no shareholder with shares"]
    if empty:
        raise InvalidInput("a pool has nobody to pay", empty)
    community = largest_remainder(community_fen, {s["shareholder_id"]: s["shares"] for s in eligible})
    group = {}
    for name, weights in by_group.items():
        group.update(largest_remainder(groups_fen.get(name, 0), weights))
    lines = []
    for s in sorted(eligible, key=lambda s: s["shareholder_id"]):
        sid = s["shareholder_id"]
        lines.append(
            {
                "shareholder_id": sid,
                "resident_id": s["resident_id"],
                "group": s["group"],
                "shares": s["shares"],
                "community_fen": community[sid],
                "group_fen": group[sid],
                "amount_fen": community[sid] + group[sid],
            }
        )
    return lines


def dividend_entry(run_id, line, booked_on):
    lines = [
        {"account": account("dividends"), "amount_fen": line["community_fen"]},
        {"account": account("dividends", line["group"]), "amount_fen": line["group_fen"]},
        {"account": account("bank"), "amount_fen": -line["community_fen"]},
        {"account": account("bank", line["group"]), "amount_fen": -line["group_fen"]},
    ]
    payment_id = dividend_payment_id(run_id, line["shareholder_id"])
    return entry(
        payment_id,
        "dividend",
        [x for x in lines if x["amount_fen"]],
        booked_on,
        reference=run_id,
        fact={"id": payment_id, "kind": "dividend_paid"},
    )


def dividend_payment_id(run_id, shareholder_id):
    return f"{run_id}:{shareholder_id}"


def run_id_for(year):
    return f"DR-{year}"


PREVIEWED, APPROVED, PAYING, PAID = "previewed", "approved", "paying", "paid"


def check_can_preview(run):
    if run is not None and run["status"] != PREVIEWED:
        raise Conflict(f"the run of {run['year']} is already {run['status']}", {"year": [run["status"]]})


def check_can_approve(run, approver_id):
    """Maker-checker: the approver is never the maker of the run."""
    if run["status"] != PREVIEWED:
        raise Conflict(f"run is {run['status']}", {"run_id": [f"status {run['status']}"]})
    if approver_id == run["maker"]:
        raise Forbidden("the maker of a run may not approve it", {"actor": ["maker may not approve"]})


def check_can_pay(run):
    if run["status"] not in (APPROVED, PAYING, PAID):
        raise Conflict("a run is paid only after approval", {"run_id": [f"status {run['status']}"]})


# --- elderly allowance ------------------------------------------------------------------------
ALLOWANCE_FEN = 60_000  # 600 yuan a month


def age_on(birth_date, day):
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def sixtieth_birthday(birth_date):
    try:
        return birth_date.replace(year=birth_date.year + 60)
    except ValueError:  # born 29 February: 60 on 1 March of a common year
        return date(birth_date.year + 60, 3, 1)


def month_start(month):
    year, mon = (int(x) for x in month.split("-"))
    return date(year, mon, 1)


def previous_month(first):
    last = first - timedelta(days=1)
    return last.replace(day=1)


def allowance(resident, month, monthly_fen=ALLOWANCE_FEN):
    """What a resident is paid on the first of `month` ("YYYY-MM"), as (amount, first_month_part),
    or None.

    The rule: the allowance for a month is paid on its first day to residents aged 60 or more that
    day, alive and registered (户籍) in the community. Someone whose 60th birthday falls after the
    first of a month is not 60 on that day; their first payment, on the first of the next month,
    adds the month of turning 60 prorated by days: the birthday and the rest of that month, of the
    days in it (rounded down to the fen). Born on the first: the whole month, in that month."""
    if resident.get("status", "active") != "active" or resident.get("residence_type") != "registered":
        return None
    first = month_start(month)
    birthday = sixtieth_birthday(resident["birth_date"])
    if birthday > first:
        return None
    part = 0
    previous = previous_month(first)
    if previous < birthday < first:  # turned 60 during the previous month, after its first day
        days = calendar.monthrange(previous.year, previous.month)[1]
        part = monthly_fen * (days - birthday.day + 1) // days
    return monthly_fen + part, part


def allowance_entry(month, resident_id, amount_fen, booked_on):
    payment_id = f"AL-{month}:{resident_id}"
    return entry(
        payment_id,
        "allowance",
        transfer_lines(account("allowance_expense"), account("bank"), amount_fen),
        booked_on,
        reference=month,
        fact={"id": payment_id, "kind": "allowance_paid"},
    )


# --- subsidies --------------------------------------------------------------------------------
SCHOOL_ENTRY_AGE = 6
SCHOOL_YEAR_CUTOFF = (8, 31)  # 6 by 31 August: enters primary school that September


def enters_school(birth_date, year):
    """Born between 1 September (year-7) and 31 August (year-6): enters primary school in `year`."""
    return (
        date(year - SCHOOL_ENTRY_AGE - 1, 9, 1)
        <= birth_date
        <= date(year - SCHOOL_ENTRY_AGE, *SCHOOL_YEAR_CUTOFF)
    )


def subsidy_entry(kind, year, beneficiary_id, amount_fen, booked_on):
    payment_id = f"SU-{kind}-{year}:{beneficiary_id}"
    expense = "insurance_expense" if kind == "insurance_premium" else "subsidy_expense"
    return entry(
        payment_id,
        kind,
        transfer_lines(account(expense), account("bank"), amount_fen),
        booked_on,
        reference=str(year),
        fact={"id": payment_id, "kind": "subsidy_paid"},
    )


# --- rents ------------------------------------------------------------------------------------


def months_between(start, first):
    return (first.year - start.year) * 12 + first.month - start.month


def rent_for(lease, first):
    """The month's rent: the base rent raised by `escalation_bp` (basis points) at each full year of
    the lease, rounded to the fen each year (as the contract's yearly schedule would print it)."""
    rent = lease["monthly_rent_fen"]
    for _ in range(months_between(month_start(lease["start_month"]), first) // 12):
        rent = (rent * (10_000 + lease["escalation_bp"]) + 5_000) // 10_000
    return rent


def add_months(first, months):
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def lease_covers(lease, first):
    offset = months_between(month_start(lease["start_month"]), first)
    return 0 <= offset < lease["months"]


def due_on(first, due_days):
    return first + timedelta(days=due_days)


def aging_bucket(days_overdue):
    """Arrears buckets: 1–30, 31–60, 61–90 and over 90 days past the due date (None: not overdue)."""
    if days_overdue <= 0:
        return None
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def match_payment(amount_fen, open_items):
    """Apply a payment to open items (oldest first, as given): [(item_id, applied)], leftover."""
    applied, left = [], amount_fen
    for item in open_items:
        if left == 0:
            break
        part = min(left, item["open_fen"])
        if part > 0:
            applied.append((item["_id"], part))
            left -= part
    return applied, left


def yuan(fen):
    """For display only: "1,234.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def month_of(day):
    return f"{day.year:04d}-{day.month:02d}"


def local_today(now):
    return now.astimezone(LOCAL_TZ).date()


def require(condition, field, reason):
    if not condition:
        raise invalid(field, reason)


# --- who may do what --------------------------------------------------------------------------
BOOKS = {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL, COMMUNITY_ADMIN: ALL}
INTEGRITY = {**BOOKS, OPERATOR: ALL}
MAKER = {FINANCE_OFFICER: ALL}

POLICY = Policy(
    {
        # ledger
        "post_transfer": MAKER,
        "reverse_transfer": MAKER,
        "account_balance": BOOKS,
        "trial_balance": BOOKS,
        "journal": BOOKS,
        "verify_journal": INTEGRITY,
        "reconcile": INTEGRITY,
        # property
        "register_unit": MAKER,
        "sign_lease": MAKER,
        "raise_invoices": {FINANCE_OFFICER: ALL, SYSTEM: ALL},
        "record_payment": {FINANCE_OFFICER: ALL, SYSTEM: ALL},
    "import_payments": {FINANCE_OFFICER: ALL, SYSTEM: ALL},
        "arrears_report": BOOKS,
        "payer_statement": {**BOOKS, RESIDENT: OWN, VENDOR: OWN},
        # enterprises and reports
        "register_enterprise": MAKER,
        "record_enterprise_income": MAKER,
        "income_report": BOOKS,
    "stats": INTEGRITY,
        # distribution
        "preview_dividends": MAKER,
        "approve_dividends": {FINANCE_APPROVER: ALL},
        "run_dividends": {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL, SYSTEM: ALL},
        "dividend_run": BOOKS,
        "dividend_statement": {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL, RESIDENT: OWN},
        "run_allowances": {FINANCE_OFFICER: ALL, SYSTEM: ALL},
        "run_subsidies": {FINANCE_OFFICER: ALL, SYSTEM: ALL},
        "health": ANYONE,
    }
)
