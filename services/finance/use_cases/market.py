"""The night market's money: fees and fines become receivables, a reversed violation takes its fine
back; `finance.payment_received` (source "market") tells the market what was paid. Each market
fact is one entry whose fact id is the market's event id (so `reconcile` pairs them)."""

from services.finance import domain, store
from services.finance.domain import account

OPEN, REVERSED = "open", "reversed"


def fee_charged(tx, event, now):
    p = event.payload
    _receivable(
        tx,
        event,
        p["fee_id"],
        "fee",
        "fees_receivable",
        "income_market_fees",
        p["amount_fen"],
        p["due_on"],
        now,
    )


def violation_recorded(tx, event, now):
    p = event.payload
    if p["fine_fen"] > 0:
        _receivable(
            tx,
            event,
            p["violation_id"],
            "fine",
            "fines_receivable",
            "income_market_fines",
            p["fine_fen"],
            domain.local_today(event.occurred_at),
            now,
        )


def _receivable(tx, event, reference, kind, receivable, income, amount_fen, due_on, now):
    p = event.payload
    doc = domain.entry(
        f"MKT-{reference}",
        f"market_{kind}",
        domain.transfer_lines(account(receivable), account(income), amount_fen),
        domain.local_today(event.occurred_at),
        reference=reference,
        fact={"id": event.event_id, "kind": event.type},
    )
    if store.post(tx, [doc], now):
        tx.receivables.insert_one(
            {
                "_id": reference,
                "kind": kind,
                "payer": p["vendor_id"],
                "account": receivable,
                "amount_fen": amount_fen,
                "open_fen": amount_fen,
                "due_on": due_on.isoformat(),
                "status": OPEN,
                "entry_id": doc["_id"],
            }
        )


def violation_reversed(tx, event, now):
    """Take the fine back: what is still open leaves the receivable; what was already paid becomes
    the vendor's credit (to be refunded or set against the next fee)."""
    p = event.payload
    fine = tx.receivables.find_one({"_id": p["violation_id"]})
    if fine is None or fine["status"] == REVERSED:
        return
    paid = fine["amount_fen"] - fine["open_fen"]
    lines = [{"account": account("income_market_fines"), "amount_fen": fine["amount_fen"]}]
    if fine["open_fen"]:
        lines.append({"account": account("fines_receivable"), "amount_fen": -fine["open_fen"]})
    if paid:
        lines.append({"account": account("unapplied_payments"), "amount_fen": -paid})
    doc = domain.entry(
        f"MKT-{p['violation_id']}-R",
        "market_fine_reversed",
        lines,
        domain.local_today(event.occurred_at),
        reference=p["violation_id"],
        fact={"id": event.event_id, "kind": event.type},
        reverses=fine["entry_id"],
    )
    if store.post(tx, [doc], now):
        tx.receivables.update_one(
            {"_id": fine["_id"]}, {"$set": {"status": REVERSED, "open_fen": 0, "refund_due_fen": paid}}
        )
