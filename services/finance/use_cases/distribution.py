"""Paying out: the yearly dividend run (preview → approval by another person → payment), the
monthly elderly allowance, school-entry subsidies and household insurance premiums.

Every payment is one journal entry whose id is the payment id, posted in the same transaction
that emits its event; payments go in batches, so a run killed part-way has paid each committed
batch exactly once, and running it again pays only the rest. A dividend line is paid when its
entry is in the journal: the run keeps its place (`paid_through`, the last shareholder paid, in
shareholder order) in the same transaction as each batch, so lines are never rewritten one by one
(on SecantusDB every document written costs more than a round trip)."""

import logging

import eventlet

from services.finance import domain, store
from shared.errors import NotFound

log = logging.getLogger(__name__)


# --- dividends --------------------------------------------------------------------------------


def preview_dividends(db, request, maker, now):
    run_id = domain.run_id_for(request["year"])
    existing = db.dividend_runs.find_one({"_id": run_id})
    domain.check_can_preview(existing)
    lines = [
        line
        for line in domain.dividend_lines(
            store.shareholders(db, {"status": "active"}), request["community_fen"], request["groups_fen"]
        )
        if line["amount_fen"] > 0
    ]
    run = {
        "_id": run_id,
        "year": request["year"],
        "status": domain.PREVIEWED,
        "maker": maker,
        "community_fen": request["community_fen"],
        "groups_fen": request["groups_fen"],
        "shareholders": len(lines),
        "total_fen": sum(line["amount_fen"] for line in lines),
        "previewed_at": now,
        "paid": 0,  # lines paid so far, and the last of them (the run's place)
        "paid_through": "",
    }
    if existing and all(
        existing.get(k) == run[k]
        for k in ("maker", "community_fen", "groups_fen", "shareholders", "total_fen")
    ):
        return existing  # the same preview asked again

    def write(tx):
        domain.check_can_preview(tx.dividend_runs.find_one({"_id": run_id}))
        tx.dividend_lines.delete_many({"run_id": run_id})
        tx.dividend_runs.replace_one({"_id": run_id}, run, upsert=True)
        if lines:
            tx.dividend_lines.insert_many(
                [
                    {
                        "_id": domain.dividend_payment_id(run_id, line["shareholder_id"]),
                        "run_id": run_id,
                        **line,
                    }
                    for line in lines
                ]
            )
        tx.emit(
            "finance.dividend_run_previewed",
            {
                "run_id": run_id,
                "year": run["year"],
                "shareholders": run["shareholders"],
                "community_fen": run["community_fen"],
                "groups_fen": run["groups_fen"],
                "total_fen": run["total_fen"],
                "maker": maker,
            },
        )

    db.run_transaction(write)
    return run


def load_run(db, run_id):
    return store.load(db, "dividend_runs", run_id, "dividend run", "run_id")


def approve_dividends(db, run_id, approver, now):
    run = load_run(db, run_id)
    if run["status"] != domain.PREVIEWED and run.get("approver") == approver:
        return run  # a retried approval

    def write(tx):
        current = tx.dividend_runs.find_one({"_id": run_id})
        domain.check_can_approve(current, approver)
        tx.dividend_runs.update_one(
            {"_id": run_id}, {"$set": {"status": domain.APPROVED, "approver": approver, "approved_at": now}}
        )
        tx.emit(
            "finance.dividend_run_approved",
            {
                "run_id": run_id,
                "year": current["year"],
                "total_fen": current["total_fen"],
                "maker": current["maker"],
                "approver": approver,
            },
        )

    db.run_transaction(write)
    return load_run(db, run_id)


def run_dividends(db, run_id, now, batch_size=500, pause_seconds=0.0):
    """Pay every unpaid line of an approved run; safe to call again at any point (it resumes)."""
    run = load_run(db, run_id)
    domain.check_can_pay(run)
    if run["status"] == domain.APPROVED:
        db.run_transaction(
            lambda tx: tx.dividend_runs.update_one(
                {"_id": run_id, "status": domain.APPROVED},
                {"$set": {"status": domain.PAYING, "started_at": now}},
            )
        )
    booked_on = domain.local_today(now)
    # The lines of an approved run never change: read the unpaid ones once (SecantusDB reads every
    # line after a `$gt` before it sorts and limits, so a query per batch would read n²/2 lines).
    lines = list(
        db.dividend_lines.find({"run_id": run_id, "shareholder_id": {"$gt": run.get("paid_through") or ""}})
        .sort("shareholder_id", 1)
    )
    for start in range(0, len(lines), batch_size):
        batch = lines[start : start + batch_size]
        store.posting(db, lambda tx, batch=batch: _pay_dividend_batch(tx, run_id, batch, booked_on, now))
        if pause_seconds:
            eventlet.sleep(pause_seconds)
    db.run_transaction(
        lambda tx: tx.dividend_runs.update_one(
            {"_id": run_id, "status": {"$in": [domain.PAYING, domain.PAID]}},
            {"$set": {"status": domain.PAID}},
        )
    )
    return load_run(db, run_id)


def _pay_dividend_batch(tx, run_id, batch, booked_on, now):
    """Pay the lines of `batch` past the run's place (read again here: another instance may have
    paid some since), move the place and emit the events, in one transaction. A line already in the
    journal is neither paid nor announced again."""
    run = tx.dividend_runs.find_one({"_id": run_id})
    lines = [line for line in batch if line["shareholder_id"] > (run.get("paid_through") or "")]
    if not lines:
        return 0
    entries = [domain.dividend_entry(run_id, line, booked_on) for line in lines]
    new = {doc["_id"] for doc in store.post(tx, entries, now)}
    tx.dividend_runs.update_one(
        {"_id": run_id},
        {"$set": {"paid_through": lines[-1]["shareholder_id"]}, "$inc": {"paid": len(lines)}},
    )
    tx.emit_many(
        "finance.dividend_paid",
        [
            {
                "payment_id": line["_id"],
                "run_id": run_id,
                "year": run["year"],
                "entry_id": line["_id"],
                **{
                    k: line[k]
                    for k in (
                        "shareholder_id",
                        "resident_id",
                        "group",
                        "shares",
                        "community_fen",
                        "group_fen",
                        "amount_fen",
                    )
                },
            }
            for line in lines
            if line["_id"] in new
        ],
    )
    return len(lines)


def resume_dividend_runs(db, now, **options):
    """Finish any run left part-paid (its process was stopped or killed while paying)."""
    for run in db.dividend_runs.find({"status": domain.PAYING}, {"_id": 1}):
        log.info("resuming dividend run %s", run["_id"])
        run_dividends(db, run["_id"], now, **options)


def line_status(line, paid):
    """A line is paid once its entry (same id) is in the journal; `paid`: ids found there."""
    return "paid" if line["_id"] in paid else "pending"


def first_lines(db, run_id, limit=50):
    """The first lines of a run (by shareholder), each with its status."""
    lines = list(db.dividend_lines.find({"run_id": run_id}).sort("shareholder_id", 1).limit(limit))
    paid = store.posted(db, [line["_id"] for line in lines])
    return [{**line, "status": line_status(line, paid)} for line in lines]


def dividend_statement(db, query, grant):
    key = (
        {"_id": query["shareholder_id"]}
        if query.get("shareholder_id")
        else {"resident_id": query["resident_id"]}
    )
    shareholder = db.shareholders.find_one(key)
    ref = query.get("shareholder_id") or query.get("resident_id")
    if shareholder is None:
        raise NotFound("shareholder not found", {"shareholder": [f"no shareholder {ref}"]})
    grant.check(owners=shareholder["resident_id"], what="shareholder", ref=ref)
    lines = list(db.dividend_lines.find({"shareholder_id": shareholder["_id"]}).sort("run_id", 1))
    paid = store.posted(db, [line["_id"] for line in lines])
    return {
        "shareholder_id": shareholder["_id"],
        "resident_id": shareholder["resident_id"],
        "group": shareholder["group"],
        "shares": shareholder["shares"],
        "runs": [
            {
                **{k: line[k] for k in ("run_id", "community_fen", "group_fen", "amount_fen")},
                "status": line_status(line, paid),
            }
            for line in lines
        ],
        "paid_fen": sum(line["amount_fen"] for line in lines if line["_id"] in paid),
    }


# --- allowances and subsidies -----------------------------------------------------------------


def run_allowances(db, month, now, monthly_fen=domain.ALLOWANCE_FEN, batch_size=500):
    """Pay the month's elderly allowance to everyone eligible and not yet paid for that month."""
    first = domain.month_start(month)
    due = {}
    for resident in store.residents_60_plus(db, first):
        resident["birth_date"] = domain.date.fromisoformat(resident["birth_date"])
        amount = domain.allowance(resident, month, monthly_fen)
        if amount:
            due[resident["_id"]] = amount
    entries = [domain.allowance_entry(month, rid, amount, first) for rid, (amount, _) in sorted(due.items())]
    paid_now = _pay_batches(
        db,
        entries,
        now,
        batch_size,
        lambda doc: {
            "payment_id": doc["_id"],
            "month": month,
            "resident_id": doc["_id"].split(":", 1)[1],
            "amount_fen": domain.amount_of(doc),
            "first_month_fen": due[doc["_id"].split(":", 1)[1]][1],
            "entry_id": doc["_id"],
        },
        "finance.allowance_paid",
    )
    return {
        "month": month,
        "eligible": len(entries),
        "paid_now": paid_now,
        "total_fen": sum(amount for amount, _ in due.values()),
    }


def run_subsidies(db, kind, year, amount_fen, now, batch_size=500):
    """School-entry subsidies (each child entering primary school in `year`, to the household) or
    insurance premiums (each household with a registered resident), once per beneficiary and year."""
    booked_on = domain.local_today(now)
    registered = {"status": "active", "residence_type": "registered"}
    if kind == "school_entry":
        low, high = domain.date(year - 7, 9, 1).isoformat(), domain.date(year - 6, 8, 31).isoformat()
        beneficiaries = [
            (r["_id"], r.get("household_id"))
            for r in db.residents.find(
                {**registered, "birth_date": {"$gte": low, "$lte": high}}, {"household_id": 1}
            )
        ]
    else:
        beneficiaries = [(h, h) for h in sorted(db.residents.distinct("household_id", registered))]
    households = dict(beneficiaries)
    entries = [
        domain.subsidy_entry(kind, year, bid, amount_fen, booked_on) for bid, _ in sorted(beneficiaries)
    ]
    paid_now = _pay_batches(
        db,
        entries,
        now,
        batch_size,
        lambda doc: {
            "payment_id": doc["_id"],
            "kind": kind,
            "period": str(year),
            "beneficiary_id": doc["_id"].split(":", 1)[1],
            "household_id": households[doc["_id"].split(":", 1)[1]],
            "amount_fen": domain.amount_of(doc),
            "entry_id": doc["_id"],
        },
        "finance.subsidy_paid",
    )
    return {
        "kind": kind,
        "year": year,
        "beneficiaries": len(entries),
        "paid_now": paid_now,
        "total_fen": amount_fen * len(entries),
    }


def _pay_batches(db, entries, now, batch_size, event_of, event_type):
    """Post payment entries in batches, each with its events; ids already posted are skipped."""
    done = store.posted(db, [e["_id"] for e in entries])
    todo = [e for e in entries if e["_id"] not in done]
    paid = 0

    def write(tx, batch):
        new = store.post(tx, batch, now)
        tx.emit_many(event_type, [event_of(doc) for doc in new])
        return len(new)

    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        paid += store.posting(db, lambda tx, batch=batch: write(tx, batch))
    return paid
