"""Stalls (摊位): the market's layout, applications, the seeded lottery, renewals, direct
allocations and releases."""

import uuid

from pymongo import UpdateOne

from services.market import domain, store
from shared.errors import Conflict


def lay_out(db, stalls):
    """Create the stalls that do not exist yet (the demo's 350; later layouts add to it)."""
    existing = {d["_id"] for d in db.stalls.find({}, {"_id": 1})}
    new = [
        {
            **s,
            "_id": domain.stall_id(s["zone"], s["number"]),
            "status": domain.VACANT,
            "vendor_id": None,
            "term_start": None,
            "term_end": None,
        }
        for s in stalls
        if domain.stall_id(s["zone"], s["number"]) not in existing
    ]
    if new:
        db.run_transaction(lambda tx: tx.stalls.insert_many(new))
    return len(new)


def apply_for_stall(db, request, grant, now):
    grant.check(owners=request["vendor_id"], what="vendor_id", ref=request["vendor_id"])
    today = domain.local_date(now)

    def work(tx):
        vendor = store.load(tx, "vendors", request["vendor_id"])
        refusals = domain.application_refusals(
            vendor, request["kind"], today, vendor["arrears_fen"], store.holds_stall(tx, vendor["_id"])
        )
        if refusals:
            raise Conflict("not eligible for a stall", {"vendor_id": refusals})
        if tx.applications.find_one({"vendor_id": vendor["_id"], "status": "waiting"}):
            raise Conflict(
                "already on the waiting list", {"vendor_id": ["one waiting application at a time"]}
            )
        application = {
            "_id": f"APP-{uuid.uuid4().hex[:12].upper()}",
            "vendor_id": vendor["_id"],
            "kind": request["kind"],
            "zone": request.get("zone"),
            "status": "waiting",
            "applied_at": now,
        }
        tx.applications.insert_one(application)
        return {
            "application_id": application["_id"],
            "vendor_id": vendor["_id"],
            "kind": request["kind"],
            "zone": request.get("zone"),
            "status": "waiting",
        }

    return db.run_transaction(work)


def allocate_stall(db, request, settings, now):
    mode = request["mode"]
    work = {"lottery": _lottery, "renewal": _renewal, "direct": _direct}[mode]
    return db.run_transaction(lambda tx: work(tx, request, settings, now))


def _allocate(tx, stall, vendor_id, request, mode, lottery_id=None):
    return _allocate_many(tx, [(stall, vendor_id)], request, mode, lottery_id)[0]


def _allocate_many(tx, pairs, request, mode, lottery_id=None):
    """Give each stall of `pairs` [(stall, vendor_id)] to its vendor for the request's term: a few
    bulk writes and one outbox write, whatever the number (a lottery allocates a hundred)."""
    if not pairs:
        return []
    term = {"term_start": request["term_start"].isoformat(), "term_end": request["term_end"].isoformat()}
    tx.stalls.bulk_write([
        UpdateOne({"_id": stall["_id"]}, {"$set": {"status": domain.ALLOCATED, "vendor_id": vendor_id,
                                                    "transferred_in_term": False, **term}})
        for stall, vendor_id in pairs
    ], ordered=False)
    tx.vendors.bulk_write([
        UpdateOne({"_id": vendor_id}, {"$set": {"stall_id": stall["_id"]}}) for stall, vendor_id in pairs
    ], ordered=False)
    residents = {v["_id"]: v.get("resident_id")
                 for v in tx.vendors.find({"_id": {"$in": [v for _, v in pairs]}}, {"resident_id": 1})}
    tx.emit_many(
        "market.stall_allocated",
        [
            {
                "stall_id": stall["_id"],
                "zone": stall["zone"],
                "kind": stall["kind"],
                "vendor_id": vendor_id,
                "resident_id": residents.get(vendor_id),
                "term_start": request["term_start"],
                "term_end": request["term_end"],
                "mode": mode,
                "lottery_id": lottery_id,
            }
            for stall, vendor_id in pairs
        ],
    )
    return [
        {"stall_id": stall["_id"], "vendor_id": vendor_id, **term, "mode": mode} for stall, vendor_id in pairs
    ]


def _lottery(tx, request, settings, now):
    """Draw the vacant stalls of a kind among eligible waiting applicants. The record keeps the
    seed, every applicant considered, why anyone was excluded, and the outcome: anyone can rerun
    `domain.lottery(seed, stalls, eligible)` and get the same draw."""
    today = domain.local_date(now)
    kind, zone = request["kind"], request.get("zone")
    stalls = store.vacant_stalls(tx, kind, zone)
    applications = store.waiting_applications(tx, kind, zone)
    vendors = store.vendors_by_id(tx, {a["vendor_id"] for a in applications})
    eligible, excluded = [], {}
    for application in applications:
        vendor = vendors[application["vendor_id"]]
        reasons = domain.application_refusals(
            vendor, kind, today, vendor["arrears_fen"], bool(vendor.get("stall_id"))
        )
        if reasons:
            excluded[application["_id"]] = reasons
        else:
            eligible.append((application["_id"], vendor["_id"]))
    assignments, waiting = domain.lottery(request["seed"], stalls, eligible)
    lottery_id = f"LOT-{uuid.uuid4().hex[:12].upper()}"
    by_id = {s["_id"]: s for s in tx.stalls.find({"_id": {"$in": stalls}})}
    pairs = [(by_id[stall_id], vendor_id) for stall_id, _, vendor_id in assignments]
    allocated = _allocate_many(tx, pairs, request, "lottery", lottery_id)
    if assignments:
        tx.applications.bulk_write([
            UpdateOne({"_id": application_id}, {"$set": {"status": "allocated", "stall_id": stall_id}})
            for stall_id, application_id, _ in assignments
        ], ordered=False)
    if excluded:
        tx.applications.update_many({"_id": {"$in": list(excluded)}}, {"$set": {"status": "excluded"}})
    record = {
        "_id": lottery_id,
        "seed": request["seed"],
        "kind": kind,
        "zone": zone,
        "drawn_at": now,
        "stalls": sorted(stalls),
        "eligible": [list(e) for e in sorted(eligible)],
        "excluded": excluded,
        "assignments": [list(a) for a in assignments],
        "waiting": waiting,
    }
    tx.lotteries.insert_one(record)
    return {
        "lottery_id": lottery_id,
        "seed": request["seed"],
        "stalls": record["stalls"],
        "eligible": record["eligible"],
        "excluded": excluded,
        "allocated": allocated,
        "waiting": waiting,
    }


def _renewal(tx, request, settings, now):
    stall = store.load(tx, "stalls", request["stall_id"])
    if stall["status"] != domain.ALLOCATED:
        raise Conflict("a vacant stall is not renewed", {"stall_id": ["vacant"]})
    vendor = store.load(tx, "vendors", stall["vendor_id"])
    book = domain.rule_book_in_force(store.rule_books(tx), domain.local_date(now))
    if book is None:
        raise Conflict("no rule book in force", {"stall_id": ["adopt a rule book first"]})
    domain.check_renewal(
        vendor, stall, vendor["arrears_fen"], domain.thresholds_of(book), domain.local_date(now)
    )
    return _allocate(tx, stall, vendor["_id"], request, "renewal")


def _direct(tx, request, settings, now):
    stall = store.load(tx, "stalls", request["stall_id"])
    if stall["status"] != domain.VACANT:
        raise Conflict("the stall is taken", {"stall_id": [f"held by {stall['vendor_id']}"]})
    vendor = store.load(tx, "vendors", request["vendor_id"])
    refusals = domain.application_refusals(
        vendor,
        stall["kind"],
        domain.local_date(now),
        vendor["arrears_fen"],
        bool(vendor.get("stall_id")),
    )
    if refusals:
        raise Conflict("not eligible for a stall", {"vendor_id": refusals})
    return _allocate(tx, stall, vendor["_id"], request, "direct")


def release(tx, stall, reason):
    """Vacate `stall` (inside a transaction) and say so."""
    tx.stalls.update_one(
        {"_id": stall["_id"]},
        {"$set": {"status": domain.VACANT, "vendor_id": None, "term_start": None, "term_end": None,
                  "transferred_in_term": False}},
    )
    tx.vendors.update_one({"_id": stall["vendor_id"]}, {"$set": {"stall_id": None}})
    vendor = tx.vendors.find_one({"_id": stall["vendor_id"]}, {"resident_id": 1})
    tx.emit(
        "market.stall_released",
        {
            "stall_id": stall["_id"],
            "vendor_id": stall["vendor_id"],
            "resident_id": vendor.get("resident_id"),
            "reason": reason,
        },
    )


def release_stall(db, request, grant, now):
    def work(tx):
        stall = store.load(tx, "stalls", request["stall_id"])
        grant.check(owners=stall.get("vendor_id") or (), what="stall_id", ref=request["stall_id"])
        if stall["status"] != domain.ALLOCATED:
            raise Conflict("the stall is vacant", {"stall_id": ["vacant"]})
        release(tx, stall, request["reason"])
        return {"stall_id": stall["_id"], "vendor_id": stall["vendor_id"], "status": domain.VACANT}

    return db.run_transaction(work)


def transfer_stall(db, request, actor_id, now):
    """Pass a stall, for the rest of its term, to the holder's relative (domain.transfer_refusals)."""

    def work(tx):
        stall = store.load(tx, "stalls", request["stall_id"])
        holder = store.load(tx, "vendors", request["from_vendor_id"], "from_vendor_id")
        receiver = store.load(tx, "vendors", request["to_vendor_id"], "to_vendor_id")
        arrears = {v["_id"]: v["arrears_fen"] for v in (holder, receiver)}
        refusals = domain.transfer_refusals(
            stall, holder, receiver, arrears, bool(receiver.get("stall_id")), domain.local_date(now)
        )
        if refusals:
            raise Conflict("the stall may not be transferred", refusals)
        tx.stalls.update_one(
            {"_id": stall["_id"]}, {"$set": {"vendor_id": receiver["_id"], "transferred_in_term": True}}
        )
        tx.vendors.update_one({"_id": holder["_id"]}, {"$set": {"stall_id": None}})
        tx.vendors.update_one({"_id": receiver["_id"]}, {"$set": {"stall_id": stall["_id"]}})
        record = {
            "stall_id": stall["_id"],
            "from_vendor_id": holder["_id"],
            "to_vendor_id": receiver["_id"],
            "relation": request["relation"],
            "reason": request["reason"],
        }
        term = {"term_start": stall["term_start"].isoformat(), "term_end": stall["term_end"].isoformat()}
        tx.transfers.insert_one({**record, **term, "note": request["note"], "by": actor_id, "at": now})
        tx.emit(
            "market.stall_transferred",
            {**record, "term_end": stall["term_end"], "from_resident_id": holder.get("resident_id"),
             "to_resident_id": receiver.get("resident_id")},
        )
        return {**record, **term}

    return db.run_transaction(work)


def list_stalls(db, params):
    query = {k: params[k] for k in ("zone", "kind", "status") if params.get(k)}
    return store.page(db, "stalls", query, params, [("_id", 1)])
