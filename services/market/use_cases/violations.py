"""Inspections and violations: a finding adds points and a fine under the rule book in force that
night, and past a threshold suspends or revokes; an upheld appeal takes them back as new facts
(a reversal in the points ledger and `violation_reversed`), never by editing the finding."""

import uuid

from services.market import domain, schemas, store
from services.market.use_cases import stalls
from shared.errors import Conflict, invalid

# what `violation_recorded` repeats of the violation document
RECORDED_FIELDS = (
    "stall_id",
    "zone",
    "grid_code",
    "violation_type",
    "description",
    "rule_book_id",
    "points",
    "fine_fen",
    "public_order",
    "escalation",
    "inspector_id",
    "night_id",
)


def start_inspection(db, request, actor_id, now):
    def work(tx):
        night = store.load(tx, "nights", request["night_id"])
        domain.check_night_open(night)
        inspection = {
            "_id": f"INS-{uuid.uuid4().hex[:12].upper()}",
            "night_id": night["_id"],
            "zone": request.get("zone"),
            "inspector_id": actor_id,
            "started_at": now,
        }
        tx.inspections.insert_one(inspection)
        return {
            "inspection_id": inspection["_id"],
            "night_id": night["_id"],
            "zone": request.get("zone"),
            "checklists": {kind: list(checks) for kind, checks in domain.CHECKLISTS.items()},
        }

    return db.run_transaction(work)


def record_violation(db, request, settings, actor_id, now):
    def work(tx):
        inspection = store.load(tx, "inspections", request["inspection_id"])
        night = store.load(tx, "nights", inspection["night_id"])
        domain.check_night_open(night)
        stall = store.load(tx, "stalls", request["stall_id"])
        if inspection.get("zone") and stall["zone"] != inspection["zone"]:
            raise invalid("stall_id", f"not in zone {inspection['zone']} of this round")
        if stall["status"] != domain.ALLOCATED:
            raise Conflict("nobody holds this stall", {"stall_id": ["vacant"]})
        domain.check_on_checklist(stall["kind"], request["violation_type"])
        book = domain.rule_book_in_force(store.rule_books(tx), night["date"])
        if book is None:
            raise Conflict("no rule book in force that night", {"stall_id": ["no adopted rule book"]})
        rule = book["violation_types"].get(request["violation_type"])
        if rule is None:
            raise invalid("violation_type", f"not in rule book {book['_id']}")
        vendor = store.load(tx, "vendors", stall["vendor_id"])
        thresholds = domain.thresholds_of(book)
        points_total = vendor["points"] + rule["points"]
        step = domain.escalation(vendor["points"], points_total, thresholds)
        violation_id = f"VIO-{uuid.uuid4().hex[:12].upper()}"
        violation = {
            "_id": violation_id,
            "vendor_id": vendor["_id"],
            "stall_id": stall["_id"],
            "zone": stall["zone"],
            "grid_code": settings.grid_of_zone(stall["zone"]),
            "night_id": night["_id"],
            "night_date": night["date"].isoformat(),
            "inspection_id": inspection["_id"],
            "violation_type": request["violation_type"],
            "description": request["description"],
            "evidence": request["evidence"],
            "rule_book_id": book["_id"],
            "points": rule["points"],
            "fine_fen": rule["fine_fen"],
            "public_order": rule["public_order"],
            "escalation": step,
            "inspector_id": actor_id,
            "recorded_at": now,
            "appeal": None,
            "reversed": False,
        }
        tx.violations.insert_one(violation)
        tx.points_ledger.insert_one(
            {
                "vendor_id": vendor["_id"],
                "delta": rule["points"],
                "kind": "violation",
                "violation_id": violation_id,
                "at": now,
            }
        )
        changes = {"points": points_total}
        tx.vendors.update_one(
            {"_id": vendor["_id"]}, {"$set": changes, "$inc": {"arrears_fen": rule["fine_fen"]}}
        )
        fact = {"vendor_id": vendor["_id"], "resident_id": vendor.get("resident_id")}
        tx.emit(
            "market.violation_recorded",
            {
                **fact,
                **{k: violation[k] for k in RECORDED_FIELDS},
                "violation_id": violation_id,
                "points_total": points_total,
            },
        )
        if step == "suspension" and vendor["status"] == domain.ACTIVE:
            until = domain.suspension_end(night["date"], thresholds.suspension_nights)
            tx.vendors.update_one(
                {"_id": vendor["_id"]},
                {"$set": {"status": domain.SUSPENDED, "suspended_until": until.isoformat()}},
            )
            tx.emit(
                "market.vendor_suspended",
                {
                    **fact,
                    "points_total": points_total,
                    "until": until,
                    "nights": thresholds.suspension_nights,
                    "violation_id": violation_id,
                },
            )
        elif step == "revocation":
            tx.vendors.update_one({"_id": vendor["_id"]}, {"$set": {"status": domain.REVOKED}})
            tx.emit(
                "market.vendor_revoked",
                {**fact, "points_total": points_total, "violation_id": violation_id},
            )
            stalls.release(tx, stall, "licence to trade revoked")
        return schemas.ViolationView().dump(violation)

    return db.run_transaction(work)


def appeal_violation(db, request, grant, settings, now):
    def work(tx):
        violation = store.load(tx, "violations", request["violation_id"])
        grant.check(owners=violation["vendor_id"], what="violation_id", ref=violation["_id"])
        domain.check_appeal(
            violation, violation["vendor_id"], settings.appeal_days, domain.local_date(now)
        )
        appeal = {"status": "pending", "grounds": request["grounds"], "filed_at": now.isoformat()}
        tx.violations.update_one({"_id": violation["_id"]}, {"$set": {"appeal": appeal}})
        return {"violation_id": violation["_id"], "appeal": appeal}

    return db.run_transaction(work)


def decide_appeal(db, request, actor_id, now):
    def work(tx):
        violation = store.load(tx, "violations", request["violation_id"])
        domain.check_decision(violation)
        appeal = {
            **violation["appeal"],
            "status": "upheld" if request["upheld"] else "dismissed",
            "reason": request["reason"],
            "decided_by": actor_id,
            "decided_at": now.isoformat(),
        }
        tx.violations.update_one(
            {"_id": violation["_id"]}, {"$set": {"appeal": appeal, "reversed": request["upheld"]}}
        )
        if request["upheld"]:
            _reverse(tx, violation, request["reason"], now)
        return {"violation_id": violation["_id"], "appeal": appeal, "reversed": request["upheld"]}

    return db.run_transaction(work)


def _reverse(tx, violation, reason, now):
    vendor = store.load(tx, "vendors", violation["vendor_id"])
    points_total = vendor["points"] - violation["points"]
    tx.points_ledger.insert_one(
        {
            "vendor_id": vendor["_id"],
            "delta": -violation["points"],
            "kind": "reversal",
            "violation_id": violation["_id"],
            "at": now,
        }
    )
    tx.vendors.update_one(
        {"_id": vendor["_id"]},
        {"$set": {"points": points_total}, "$inc": {"arrears_fen": -violation["fine_fen"]}},
    )
    tx.emit(
        "market.violation_reversed",
        {
            "vendor_id": vendor["_id"],
            "resident_id": vendor.get("resident_id"),
            "violation_id": violation["_id"],
            "points": violation["points"],
            "fine_fen": violation["fine_fen"],
            "points_total": points_total,
            "reason": reason,
        },
    )
    book = store.load(tx, "rule_books", violation["rule_book_id"])
    if domain.after_reversal(vendor, points_total, domain.thresholds_of(book)):
        reinstate(tx, vendor, "appeal upheld")


def reinstate(tx, vendor, reason):
    tx.vendors.update_one(
        {"_id": vendor["_id"]}, {"$set": {"status": domain.ACTIVE, "suspended_until": None}}
    )
    tx.emit(
        "market.vendor_reinstated",
        {"vendor_id": vendor["_id"], "resident_id": vendor.get("resident_id"), "reason": reason},
    )


def list_violations(db, params, grant):
    query = {k: params[k] for k in ("vendor_id", "night_id", "violation_type") if params.get(k)}
    if params.get("public_order") is not None:
        query["public_order"] = params["public_order"]
    query.update(grant.query(grid_field="grid_code", owner_field="vendor_id"))
    if grant.rule != "all" and params.get("vendor_id") and query.get("vendor_id") != params["vendor_id"]:
        query["vendor_id"] = {"$in": []}  # another vendor's: nothing to see
    found = store.page(db, "violations", query, params, [("recorded_at", -1)])
    found["items"] = schemas.ViolationView(many=True).dump(found["items"])
    return found
