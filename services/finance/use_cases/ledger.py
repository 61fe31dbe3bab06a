"""The ledger's commands and checks: post, reverse, balances, the hash chain, reconciliation."""

from services.finance import domain, store
from shared.errors import Conflict


def today(now):
    return domain.local_today(now)


def post_transfer(db, request, now):
    """Post one balanced entry; the same id again is a no-op, with another body a Conflict."""
    lines = request.get("lines") or domain.transfer_lines(
        request["debit"], request["credit"], request["amount_fen"]
    )
    doc = domain.entry(
        request["entry_id"],
        request["code"],
        lines,
        request["booked_on"] or today(now),
        reference=request.get("reference"),
    )

    def write(tx):
        new = store.post(tx, [doc], now)
        if new:
            tx.emit("finance.transfer_posted", _posted(doc))
        return new

    store.posting(db, write)
    return store.load_entry(db, doc["_id"])


def reverse_transfer(db, request, now):
    """Undo an entry by posting its mirror image (never by editing it); an entry is reversed once."""
    original = store.load_entry(db, request["entry_id"])
    doc = domain.reversal(original, request["reversal_id"], today(now))

    def write(tx):
        earlier = tx.journal.find_one({"reverses": original["_id"]}, {"_id": 1})
        if earlier is not None and earlier["_id"] != doc["_id"]:
            raise Conflict(
                f"entry {original['_id']} was already reversed by {earlier['_id']}",
                {"entry_id": ["already reversed"]},
            )
        new = store.post(tx, [doc], now)
        if new:
            tx.emit("finance.transfer_posted", _posted(doc))

    store.posting(db, write)
    return store.load_entry(db, doc["_id"])


def _posted(doc):
    return {
        "entry_id": doc["_id"],
        "code": doc["code"],
        "reference": doc["reference"],
        "lines": doc["lines"],
        "booked_on": domain.date.fromisoformat(doc["booked_on"]),
        "reverses": doc["reverses"],
    }


def trial_balance(db):
    balances = store.balances(db)
    by_kind = {}
    for code, fen in balances.items():
        kind = domain.CHART[domain.parse_account(code)[1]]
        by_kind[kind] = by_kind.get(kind, 0) + fen
    return {
        "accounts": [{"account": code, "balance_fen": fen} for code, fen in balances.items()],
        "by_kind_fen": by_kind,
        "sum_fen": sum(balances.values()),
        "balanced": sum(balances.values()) == 0,
        "entries": db.journal.estimated_document_count(),
    }


def verify_journal(db):
    broken = domain.first_broken(store.journal_in_order(db))
    head = db.chain.find_one({"_id": "head"}) or {"seq": 0}
    return {"ok": broken is None, "first_bad_entry": broken, "entries": head["seq"]}


def reconcile(db):
    report = store.unreconciled(db)
    return {**report, "ok": not any(report.values())}
