"""The collective enterprises (self-run and invested), the bank shares, and the income report."""

from services.finance import domain, store
from services.finance.domain import account
from services.finance.use_cases.property import _create_once


def register_enterprise(db, request):
    doc = {
        "_id": request["enterprise_id"],
        "name": request["name"],
        "kind": request["kind"],
        "group": request["group"],
    }
    return _create_once(db, "enterprises", doc, "enterprise", "enterprise_id")[0]


def record_enterprise_income(db, request, now):
    """A profit posting (or a bank-share dividend): money into the enterprise's level's bank."""
    enterprise = store.load(db, "enterprises", request["enterprise_id"], "enterprise", "enterprise_id")
    income = "income_bank_dividend" if enterprise["kind"] == "bank_shares" else "income_enterprise"
    group = enterprise.get("group")
    doc = domain.entry(
        request["entry_id"],
        "enterprise_income",
        domain.transfer_lines(account("bank", group), account(income, group), request["amount_fen"]),
        request["booked_on"] or domain.local_today(now),
        reference=f"{enterprise['_id']}:{request['period']}",
    )
    store.posting(db, lambda tx: store.post(tx, [doc], now))
    return store.load_entry(db, doc["_id"])


def income_report(db, year):
    """A year's income by source, over the community and every group: the yearly headline figure."""
    by_source = store.income_by_source(db, year)
    total = sum(by_source.values())
    return {"year": year, "by_source_fen": by_source, "total_fen": total, "total_yuan": domain.yuan(total)}
