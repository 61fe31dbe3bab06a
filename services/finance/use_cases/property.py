"""Collectively owned property: units, leases, monthly invoices, payments and arrears."""

from pymongo import UpdateOne

from services.finance import domain, store
from services.finance.domain import account
from shared.errors import Conflict, NotFound

OPEN, PAID = "open", "paid"


def _create_once(db, collection, doc, what, field):
    """Insert `doc`; the same document again returns it (a retried command), another body is refused."""

    def write(tx):
        existing = getattr(tx, collection).find_one({"_id": doc["_id"]})
        if existing is None:
            getattr(tx, collection).insert_one(doc)
            return doc, True
        if {k: existing.get(k) for k in doc} != doc:
            raise Conflict(f"{what} {doc['_id']} exists with other details", {field: ["already exists"]})
        return existing, False

    return db.run_transaction(write)


def register_unit(db, request):
    doc = {
        "_id": request["unit_id"],
        "kind": request["kind"],
        "name": request["name"],
        "area_m2": request["area_m2"],
    }
    return _create_once(db, "units", doc, "unit", "unit_id")[0]


def sign_lease(db, request, now):
    unit = store.load(db, "units", request["unit_id"], "unit", "unit_id")
    lease = {
        "_id": request["lease_id"],
        **{
            k: request[k]
            for k in (
                "unit_id",
                "tenant_id",
                "tenant_name",
                "monthly_rent_fen",
                "start_month",
                "months",
                "deposit_fen",
                "escalation_bp",
            )
        },
        "area_m2": unit["area_m2"],
    }
    start = domain.month_start(lease["start_month"])
    end = domain.add_months(start, lease["months"])

    def write(tx):
        existing = tx.leases.find_one({"_id": lease["_id"]})
        if existing is not None:
            if {k: existing.get(k) for k in lease} != lease:
                raise Conflict(
                    f"lease {lease['_id']} exists with other terms", {"lease_id": ["already exists"]}
                )
            return existing
        for other in tx.leases.find({"unit_id": lease["unit_id"]}):
            if _overlaps(other, start, end):
                raise Conflict(
                    "the unit is let for part of that term", {"unit_id": [f"let under {other['_id']}"]}
                )
        tx.leases.insert_one(lease)
        if lease["deposit_fen"]:
            deposit = (f"DEP-{lease['_id']}", "deposit", None, lease["deposit_fen"], start)
            _invoices(tx, [(lease, *deposit, account("deposits_held"))], now)
        return lease

    return store.posting(db, write)


def _overlaps(other, start, end):
    other_start = domain.month_start(other["start_month"])
    other_end = domain.add_months(other_start, other["months"])
    return other_start < end and start < other_end


def _invoices(tx, wanted, now):
    """Issue invoices `wanted` [(lease, invoice_id, kind, period, amount_fen, due, credit)] in one
    posting, one insert and one outbox write; those already issued are skipped. Returns the new."""
    docs = [
        domain.entry(
            invoice_id,
            f"invoice_{kind}",
            domain.transfer_lines(account("rent_receivable"), credit, amount_fen),
            due,
            reference=lease["_id"],
            fact={"id": invoice_id, "kind": "invoice_issued"},
        )
        for lease, invoice_id, kind, period, amount_fen, due, credit in wanted
    ]
    posted = {doc["_id"] for doc in store.post(tx, docs, now)}
    dues = {invoice_id: due for _, invoice_id, _, _, _, due, _ in wanted}
    invoices = [
        {
            "_id": invoice_id,
            "lease_id": lease["_id"],
            "unit_id": lease["unit_id"],
            "tenant_id": lease["tenant_id"],
            "kind": kind,
            "period": period,
            "amount_fen": amount_fen,
            "open_fen": amount_fen,
            "due_on": due.isoformat(),
            "status": OPEN,
        }
        for lease, invoice_id, kind, period, amount_fen, due, credit in wanted
        if invoice_id in posted
    ]
    if invoices:
        tx.invoices.insert_many(invoices)
        fields = ("lease_id", "unit_id", "tenant_id", "kind", "period", "amount_fen")
        tx.emit_many(
            "finance.invoice_issued",
            [
                {
                    **{k: invoice[k] for k in fields},
                    "due_on": dues[invoice["_id"]],
                    "invoice_id": invoice["_id"],
                    "entry_id": invoice["_id"],
                }
                for invoice in invoices
            ],
        )
    return invoices


def raise_invoices(db, month, now, due_days=10):
    """Invoice every lease running in `month` for that month's rent (once per lease and month)."""
    first = domain.month_start(month)
    leases = [lease for lease in db.leases.find({}) if domain.lease_covers(lease, first)]
    due, credit = domain.due_on(first, due_days), account("income_rent")

    def write(tx, chunk):
        wanted = [
            (lease, f"INV-{lease['_id']}-{month}", "rent", month, domain.rent_for(lease, first), due, credit)
            for lease in chunk
        ]
        return len(_invoices(tx, wanted, now))

    issued = sum(
        store.posting(db, lambda tx, chunk=chunk: write(tx, chunk)) for chunk in _chunks(leases, 200)
    )
    return {"month": month, "leases": len(leases), "issued": issued}


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def record_payment(db, request, now):
    """Book money received and match it: the named reference first, then the payer's oldest open
    items (rent and deposit invoices for tenants; fees and fines for market vendors). What is left
    (an over- or unmatched payment) is held as the payer's credit in `unapplied_payments`."""
    return store.posting(db, lambda tx: _record_payments(tx, [request], now))[0]


def import_payments(db, requests, now, chunk=200):
    """A bank statement's payments, each as `record_payment` would book it, a chunk per transaction."""
    recorded = []
    for start in range(0, len(requests), chunk):
        part = requests[start : start + chunk]
        recorded += store.posting(db, lambda tx, part=part: _record_payments(tx, part, now))
    return recorded


def _record_payments(tx, requests, now):
    """Book `requests` in order, as many reads and writes as one payment would take: the payers'
    open items are read once and matched in memory (an earlier payment of the statement may have
    paid what a later one would), then posted, stored and announced in bulk."""
    payments = [_payment(request) for request in requests]
    known = {d["_id"]: d for d in tx.payments.find({"_id": {"$in": [p["_id"] for p in payments]}})}
    open_items = _open_items_by_payer(tx, payments)
    touched, entries, stored_all, results = {}, [], [], []
    for request, payment in zip(requests, payments, strict=True):
        existing = known.get(payment["_id"])
        if existing is not None:  # a repeat (of an earlier statement, or within this one)
            if {k: existing.get(k) for k in payment} != payment:
                raise Conflict(
                    f"payment {payment['_id']} was recorded with other details",
                    {"payment_id": ["already used for another payment"]},
                )
            results.append(existing)
            continue
        collection, receivable = _receivables(payment["source"])
        items = _candidates(open_items.get((collection, payment["payer"]), []), payment)
        applied, left = domain.match_payment(payment["amount_fen"], items)
        parts = dict(applied)
        settled = bool(payment["reference"]) and any(
            i["_id"] == payment["reference"] and i["open_fen"] == parts.get(i["_id"]) for i in items
        )
        by_account = {}
        for item in items:
            if item["_id"] in parts:
                debit = receivable(item)
                by_account[debit] = by_account.get(debit, 0) + parts[item["_id"]]
                item["open_fen"] -= parts[item["_id"]]
                touched[item["_id"]] = (collection, item)
        lines = [{"account": account("bank"), "amount_fen": payment["amount_fen"]}]
        lines += [{"account": code, "amount_fen": -fen} for code, fen in sorted(by_account.items())]
        if left:
            lines.append({"account": account("unapplied_payments"), "amount_fen": -left})
        received_at = request["received_at"] or now
        entries.append(
            domain.entry(
                payment["_id"],
                "payment",
                lines,
                domain.local_today(received_at),
                reference=payment["reference"],
                fact={"id": payment["_id"], "kind": "payment_received"},
            )
        )
        stored = {
            **payment,
            "received_at": received_at,
            "applied": [{"reference": r, "amount_fen": f} for r, f in applied],
            "applied_fen": payment["amount_fen"] - left,
            "unapplied_fen": left,
            "settled": settled,
        }
        known[payment["_id"]] = stored
        stored_all.append(stored)
        results.append(stored)
    _write_matches(tx, touched)
    store.post(tx, entries, now)
    if stored_all:
        tx.payments.insert_many([dict(s) for s in stored_all])
        tx.emit_many("finance.payment_received", [_payment_received(s) for s in stored_all])
    return results


def _payment(request):
    return {"_id": request["payment_id"], **{k: request[k] for k in PAYMENT_FIELDS}}


PAYMENT_FIELDS = ("source", "payer", "amount_fen", "reference", "method")


def _payment_received(stored):
    return {
        "payment_id": stored["_id"],
        **{k: stored[k] for k in ("source", "reference", "payer", "amount_fen", "received_at")},
        **{k: stored[k] for k in ("applied_fen", "unapplied_fen", "settled")},
        "entry_id": stored["_id"],
    }


def _write_matches(tx, touched):
    by_collection = {}
    for item_id, (collection, item) in touched.items():
        status = PAID if item["open_fen"] == 0 else OPEN
        by_collection.setdefault(collection, []).append(
            UpdateOne({"_id": item_id}, {"$set": {"open_fen": item["open_fen"], "status": status}})
        )
    for collection, updates in by_collection.items():
        getattr(tx, collection).bulk_write(updates, ordered=False)


def _receivables(source):
    if source == "market":
        return "receivables", lambda item: account(item["account"])
    return "invoices", lambda item: account("rent_receivable")


def _open_items_by_payer(tx, payments):
    """{(collection, payer): open items, oldest first} for every payer of `payments`, one read per
    collection."""
    found = {}
    for collection, payer_field in (("invoices", "tenant_id"), ("receivables", "payer")):
        payers = sorted({p["payer"] for p in payments if _receivables(p["source"])[0] == collection})
        if not payers:
            continue
        query = {payer_field: {"$in": payers}, "status": OPEN}
        for item in getattr(tx, collection).find(query).sort([("due_on", 1), ("_id", 1)]):
            found.setdefault((collection, item[payer_field]), []).append(item)
    return found


def _candidates(items, payment):
    """The open items `payment` may pay, in the order it pays them: the one it names first (a
    market payment clears only the fee or fine it names), then the oldest."""
    items = [i for i in items if i["open_fen"] > 0]
    if payment["reference"]:
        named = [i for i in items if i["_id"] == payment["reference"]]
        if payment["source"] == "market":
            return named
        items = named + [i for i in items if i["_id"] != payment["reference"]]
    return items


def arrears_report(db, as_of):
    """Open invoices past their due date, in 1–30 / 31–60 / 61–90 / 90+ day buckets."""
    buckets = dict.fromkeys(("1-30", "31-60", "61-90", "90+"), 0)
    tenants, items = {}, []
    for invoice in db.invoices.find({"status": OPEN, "due_on": {"$lt": as_of.isoformat()}}).sort("due_on", 1):
        days = (as_of - domain.date.fromisoformat(invoice["due_on"])).days
        bucket = domain.aging_bucket(days)
        buckets[bucket] += invoice["open_fen"]
        tenant = tenants.setdefault(invoice["tenant_id"], {"tenant_id": invoice["tenant_id"], "open_fen": 0})
        tenant["open_fen"] += invoice["open_fen"]
        items.append(
            {
                "invoice_id": invoice["_id"],
                "kind": invoice["kind"],
                "tenant_id": invoice["tenant_id"],
                "open_fen": invoice["open_fen"],
                "due_on": invoice["due_on"],
                "days_overdue": days,
                "bucket": bucket,
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "buckets_fen": buckets,
        "total_fen": sum(buckets.values()),
        "tenants": sorted(tenants.values(), key=lambda t: -t["open_fen"]),
        "invoices": items,
    }


def notify_overdue(db, as_of):
    """Emit `finance.rent_overdue` once per open invoice and bucket it has reached."""
    report = arrears_report(db, as_of)
    fresh = [i for i in report["invoices"] if i["kind"] == "rent"]

    def write(tx):
        known = {
            d["_id"]
            for d in tx.overdue_notices.find(
                {"_id": {"$in": [f"{i['invoice_id']}:{i['bucket']}" for i in fresh]}}
            )
        }
        new = [i for i in fresh if f"{i['invoice_id']}:{i['bucket']}" not in known]
        if not new:
            return 0
        invoices = {d["_id"]: d for d in tx.invoices.find({"_id": {"$in": [i["invoice_id"] for i in new]}})}
        tx.overdue_notices.insert_many(
            [{"_id": f"{i['invoice_id']}:{i['bucket']}", "at": as_of.isoformat()} for i in new]
        )
        tx.emit_many(
            "finance.rent_overdue",
            [
                {
                    "invoice_id": i["invoice_id"],
                    "lease_id": invoices[i["invoice_id"]]["lease_id"],
                    "unit_id": invoices[i["invoice_id"]]["unit_id"],
                    "tenant_id": i["tenant_id"],
                    "open_fen": i["open_fen"],
                    "due_on": domain.date.fromisoformat(i["due_on"]),
                    "days_overdue": i["days_overdue"],
                    "bucket": i["bucket"],
                }
                for i in new
            ],
        )
        return len(new)

    return {"as_of": as_of.isoformat(), "notified": db.run_transaction(write)}


def payer_statement(db, payer):
    invoices = list(db.invoices.find({"tenant_id": payer}).sort("due_on", 1))
    receivables = list(db.receivables.find({"payer": payer}).sort("due_on", 1))
    payments = list(db.payments.find({"payer": payer}).sort("received_at", 1))
    if not (invoices or receivables or payments or db.leases.find_one({"tenant_id": payer}, {"_id": 1})):
        raise NotFound(f"no payer {payer}", {"payer": ["unknown payer"]})
    return {
        "payer": payer,
        "invoices": [
            {
                "invoice_id": i["_id"],
                "period": i["period"],
                "kind": i["kind"],
                "amount_fen": i["amount_fen"],
                "open_fen": i["open_fen"],
                "due_on": i["due_on"],
                "status": i["status"],
            }
            for i in invoices
        ],
        "receivables": [
            {
                "reference": r["_id"],
                "kind": r["kind"],
                "amount_fen": r["amount_fen"],
                "open_fen": r["open_fen"],
                "status": r["status"],
            }
            for r in receivables
        ],
        "payments": [
            {
                "payment_id": p["_id"],
                "source": p["source"],
                "amount_fen": p["amount_fen"],
                "applied_fen": p["applied_fen"],
                "unapplied_fen": p["unapplied_fen"],
                "received_at": p["received_at"].isoformat(),
            }
            for p in payments
        ],
        "open_fen": sum(i["open_fen"] for i in invoices) + sum(r["open_fen"] for r in receivables),
        "credit_fen": sum(p["unapplied_fen"] for p in payments),
    }
