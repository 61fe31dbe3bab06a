"""Monthly fees (管理费, 卫生费, 电费) per stall kind, raised by a timer; payments clear arrears."""

import logging

from services.market import domain

log = logging.getLogger(__name__)

BATCH = 50


def charge_fees(db, settings, now):
    """Charge this month's fees of every allocated stall not yet charged for it. Fee ids are
    (month, stall), so a second run, a second instance or a rerun after a crash charges nothing twice."""
    period = domain.month_of(domain.local_date(now))
    due_on = domain.fee_due_on(period, settings.fee_due_day)
    stalls = list(
        db.stalls.find({"status": domain.ALLOCATED}, {"kind": 1, "vendor_id": 1}, sort=[("_id", 1)])
    )
    charged = {d["_id"] for d in db.fees.find({"period": period}, {"_id": 1})}
    todo = [s for s in stalls if domain.fee_id(period, s["_id"]) not in charged]
    count = 0
    for start in range(0, len(todo), BATCH):
        count += db.run_transaction(
            lambda tx, batch=todo[start : start + BATCH]: _charge(
                tx, batch, period, due_on, settings, now
            )
        )
    return count


def _charge(tx, batch, period, due_on, settings, now):
    ids = [domain.fee_id(period, s["_id"]) for s in batch]
    already = {d["_id"] for d in tx.fees.find({"_id": {"$in": ids}}, {"_id": 1})}
    residents = {
        v["_id"]: v.get("resident_id")
        for v in tx.vendors.find({"_id": {"$in": [s["vendor_id"] for s in batch]}}, {"resident_id": 1})
    }
    fees = []
    for stall, fee_id in zip(batch, ids, strict=True):
        if fee_id in already:
            continue
        items, amount = domain.fee_items(stall["kind"], settings.fees_fen)
        fees.append(
            {
                "_id": fee_id,
                "vendor_id": stall["vendor_id"],
                "stall_id": stall["_id"],
                "period": period,
                "items": items,
                "amount_fen": amount,
                "paid_fen": 0,
                "status": "due",
                "due_on": due_on.isoformat(),
                "charged_at": now,
            }
        )
    if not fees:
        return 0
    tx.fees.insert_many(fees)
    for fee in fees:
        tx.vendors.update_one({"_id": fee["vendor_id"]}, {"$inc": {"arrears_fen": fee["amount_fen"]}})
    tx.emit_many(
        "market.fee_charged",
        [
            {
                "fee_id": f["_id"],
                "vendor_id": f["vendor_id"],
                "resident_id": residents.get(f["vendor_id"]),
                "stall_id": f["stall_id"],
                "period": period,
                "items": f["items"],
                "amount_fen": f["amount_fen"],
                "due_on": due_on,
            }
            for f in fees
        ],
    )
    return len(fees)


def payment_received(db, payload):
    """Finance matched a payment to a market receivable (`reference`: a fee or a violation's fine):
    the vendor's arrears fall by what was applied; the payment is kept."""
    if payload["source"] != "market" or payload["applied_fen"] <= 0:
        return
    applied, reference = payload["applied_fen"], payload.get("reference") or ""

    def work(tx):
        if tx.vendors.find_one({"_id": payload["payer"]}, {"_id": 1}) is None:
            log.warning(
                "payment %s names no vendor of ours (%s): recorded, not applied",
                payload["payment_id"],
                payload["payer"],
            )
        else:
            tx.vendors.update_one({"_id": payload["payer"]}, {"$inc": {"arrears_fen": -applied}})
            if reference.startswith("FEE-"):
                tx.fees.update_one(
                    {"_id": reference},
                    {
                        "$inc": {"paid_fen": applied},
                        "$set": {"status": "paid" if payload["settled"] else "part_paid"},
                    },
                )
            elif reference.startswith("VIO-"):
                tx.violations.update_one({"_id": reference}, {"$inc": {"fine_paid_fen": applied}})
        tx.payments.insert_one(
            {
                "_id": payload["payment_id"],
                "vendor_id": payload["payer"],
                "reference": reference,
                "amount_fen": payload["amount_fen"],
                "applied_fen": applied,
                "received_at": payload["received_at"],
            }
        )

    db.run_transaction(work)
