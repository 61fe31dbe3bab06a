"""Market nights: open, vendors check in, gate counters, self-reported takings, close with the
night's figures; and the figures per night, month and year."""

from services.market import domain, store
from services.market.use_cases.violations import reinstate
from shared.errors import Conflict


def open_night(db, request, now):
    day = request["date"]

    def work(tx):
        night_id = domain.night_id(day)
        if tx.nights.find_one({"_id": night_id}):
            raise Conflict("the night is already open", {"date": [f"night {night_id} exists"]})
        # suspensions that have run their course end as the night opens
        for vendor in store.suspensions_ended(tx, day.isoformat()):
            reinstate(tx, vendor, "suspension served")
        allocated = tx.stalls.count_documents({"status": domain.ALLOCATED})
        tx.nights.insert_one(
            {
                "_id": night_id,
                "date": day.isoformat(),
                "status": "open",
                "opened_at": now,
                "stalls_allocated": allocated,
                "summary": None,
            }
        )
        tx.emit(
            "market.night_opened", {"night_id": night_id, "date": day, "stalls_allocated": allocated}
        )
        return {
            "night_id": night_id,
            "date": day.isoformat(),
            "status": "open",
            "stalls_allocated": allocated,
        }

    return db.run_transaction(work)


def check_in(db, request, grant, now):
    def work(tx):
        night = store.load(tx, "nights", request["night_id"])
        stall = store.load(tx, "stalls", request["stall_id"])
        grant.check(owners=stall.get("vendor_id") or (), what="stall_id", ref=stall["_id"])
        domain.check_night_open(night)
        if stall["status"] != domain.ALLOCATED:
            raise Conflict("nobody holds this stall", {"stall_id": ["vacant"]})
        vendor = store.load(tx, "vendors", stall["vendor_id"])
        domain.check_may_trade(vendor, night["date"])
        key = f"{night['_id']}:{stall['_id']}"
        store.insert_once(
            tx,
            "attendance",
            {
                "_id": key,
                "night_id": night["_id"],
                "stall_id": stall["_id"],
                "vendor_id": vendor["_id"],
                "at": now,
            },
            Conflict("already checked in", {"stall_id": ["checked in tonight"]}),
        )
        return {"night_id": night["_id"], "stall_id": stall["_id"], "vendor_id": vendor["_id"]}

    return db.run_transaction(work)


def record_footfall(db, request, now):
    def work(tx):
        night = store.load(tx, "nights", request["night_id"])
        domain.check_night_open(night)
        tx.footfall.insert_one(
            {"night_id": night["_id"], "gate": request["gate"], "count": request["count"], "at": now}
        )
        return {"night_id": night["_id"], "gate": request["gate"], "count": request["count"]}

    return db.run_transaction(work)


def report_takings(db, request, grant, now):
    grant.check(owners=request["vendor_id"], what="vendor_id", ref=request["vendor_id"])

    def work(tx):
        night = store.load(tx, "nights", request["night_id"])
        domain.check_night_open(night)
        store.load(tx, "vendors", request["vendor_id"])
        key = f"{night['_id']}:{request['vendor_id']}"
        store.insert_once(
            tx,
            "takings",
            {
                "_id": key,
                "night_id": night["_id"],
                "vendor_id": request["vendor_id"],
                "takings_fen": request["takings_fen"],
                "at": now,
            },
            Conflict("takings already reported", {"vendor_id": ["reported tonight"]}),
        )
        return {
            "night_id": night["_id"],
            "vendor_id": request["vendor_id"],
            "takings_fen": request["takings_fen"],
        }

    return db.run_transaction(work)


def close_night(db, request, now):
    def work(tx):
        night = store.load(tx, "nights", request["night_id"])
        domain.check_night_open(night)
        summary = domain.night_summary(
            night, night["stalls_allocated"], *store.night_figures(tx, night["_id"])
        )
        stored = {**summary, "date": night["date"].isoformat()}
        tx.nights.update_one(
            {"_id": night["_id"]}, {"$set": {"status": "closed", "closed_at": now, "summary": stored}}
        )
        tx.emit("market.night_closed", summary)
        return stored

    return db.run_transaction(work)


def market_stats(db, params):
    """Figures of one night (live while it is open), or summed over the closed nights of a month or
    year: nights, attendance, footfall, takings (fen), violations by type. A night's figures also
    name the stalls checked in (`present_stalls`), for the night view of the console."""
    if params["period"] == "night":
        night = store.load(db, "nights", domain.night_id(store.day(params["key"])), what="key")
        if night["summary"]:
            return {
                "period": "night",
                "key": params["key"],
                "status": night["status"],
                **night["summary"],
                "present_stalls": store.present_stalls(db, night["_id"]),
            }
        live = domain.night_summary(
            night, night["stalls_allocated"], *store.night_figures(db, night["_id"])
        )
        return {
            "period": "night",
            "key": params["key"],
            "status": night["status"],
            **live,
            "date": night["date"].isoformat(),
            "present_stalls": store.present_stalls(db, night["_id"]),
        }
    nights = [n["summary"] for n in store.closed_nights(db, params["key"])]
    by_type = {}
    for summary in nights:
        for violation_type, n in summary["violations_by_type"].items():
            by_type[violation_type] = by_type.get(violation_type, 0) + n
    return {
        "period": params["period"],
        "key": params["key"],
        "nights": len(nights),
        "present": sum(s["present"] for s in nights),
        "absent": sum(s["absent"] for s in nights),
        "footfall": sum(s["footfall"] for s in nights),
        "takings_fen": sum(s["takings_fen"] for s in nights),
        "violations_by_type": dict(sorted(by_type.items())),
    }
