"""Vendors (摊商): registration, licences, expiry warnings; the residents the registry tells us of."""

import logging
from datetime import timedelta

from pymongo import UpdateOne

from services.market import domain, store
from shared import personal
from shared.errors import Conflict, NotFound, invalid

log = logging.getLogger(__name__)


def register_vendor(db, request, role, now):
    today = domain.local_date(now)
    licence = {**request["business_licence"], "expires_on": request["business_licence"]["expires_on"]}
    hygiene = request.get("food_hygiene_certificate")
    domain.check_licences(request["goods_category"], licence, hygiene, today)
    identity = {"resident_id": None, "id_number": None, "phone": None, "name": request.get("name")}
    if request.get("resident_id"):
        resident = db.residents.find_one({"_id": request["resident_id"]})
        if resident is None:
            raise NotFound(
                "unknown resident", {"resident_id": ["the registry has not told us of this resident"]}
            )
        if resident.get("status", "active") != "active":
            raise Conflict(
                "the resident has left", {"resident_id": [f"resident is {resident['status']}"]}
            )
        identity.update(resident_id=resident["_id"], name=resident["name"])
    else:
        identity.update(
            id_number=personal.parse_id_number(request["id_number"], today)[0],
            phone=personal.normalise_phone(request["phone"]),
        )

    def work(tx):
        vendor_id = f"V-{store.next_number(tx, 'vendor'):06d}"
        doc = {
            "_id": vendor_id,
            **identity,
            "goods_category": request["goods_category"],
            "language": request["language"],
            "status": domain.ACTIVE,
            "points": 0,
            "arrears_fen": 0,
            "business_licence": _stored(licence),
            "food_hygiene_certificate": _stored(hygiene),
            "suspended_until": None,
            "stall_id": None,
            "resident_status": None,
            "registered_at": now,
        }
        tx.vendors.insert_one(doc)
        tx.emit(
            "market.vendor_registered",
            {
                "vendor_id": vendor_id,
                "resident_id": identity["resident_id"],
                "name": identity["name"],
                "goods_category": request["goods_category"],
                "language": request["language"],
                "phone": identity["phone"],
            },
        )  # an outside vendor's only: residents' are the registry's
        return domain.vendor_view(store.with_dates("vendors", doc), role)

    return db.run_transaction(work)


def _stored(licence):
    if not licence:
        return None
    return {"number": licence["number"], "expires_on": licence["expires_on"].isoformat()}


def renew_licence(db, request, grant, now):
    grant.check(owners=request["vendor_id"], what="vendor_id", ref=request["vendor_id"])
    if request["expires_on"] <= domain.local_date(now):
        raise invalid("expires_on", "already expired")

    def work(tx):
        vendor = store.load(tx, "vendors", request["vendor_id"])
        if (
            request["document"] == "food_hygiene_certificate"
            and vendor["goods_category"] not in domain.FOOD_CATEGORIES
        ):
            raise Conflict(
                "only food vendors hold a hygiene certificate", {"document": ["not a food vendor"]}
            )
        licence = {"number": request["number"], "expires_on": request["expires_on"].isoformat()}
        tx.vendors.update_one({"_id": vendor["_id"]}, {"$set": {request["document"]: licence}})
        return {"vendor_id": vendor["_id"], "document": request["document"], **licence}

    return db.run_transaction(work)


def vendor_record(db, vendor_id, grant):
    grant.check(owners=vendor_id, what="vendor_id", ref=vendor_id)
    vendor = store.load(db, "vendors", vendor_id)
    view = domain.vendor_view(vendor, grant.role, own=grant.actor_id == vendor_id)
    history = store.find(
        db, "violations", {"vendor_id": vendor_id}, sort=[("recorded_at", -1)], limit=100
    )
    ledger = list(db.points_ledger.find({"vendor_id": vendor_id}, {"_id": 0}, sort=[("at", 1)]))
    fees = list(db.fees.find({"vendor_id": vendor_id}, sort=[("period", -1)], limit=24))
    return view, history, ledger, fees


def list_vendors(db, params, role):
    query = {"status": params["status"]} if params.get("status") else {}
    found = store.page(db, "vendors", query, params, [("_id", 1)])
    found["items"] = [domain.vendor_view(v, role) for v in found["items"]]
    return found


def warn_expiring_licences(db, settings, now):
    """Emit `licence_expiring` once per vendor, document, expiry date and stage (soon / expired)."""
    today = domain.local_date(now)
    until = (today + timedelta(days=settings.licence_warning_days)).isoformat()
    warned = 0
    for vendor in store.expiring_vendors(db, until):
        for document, expires_on, days_left in domain.expiring_documents(
            vendor, today, settings.licence_warning_days
        ):
            stage = "expired" if days_left <= 0 else "soon"
            key = f"{vendor['_id']}:{document}:{expires_on.isoformat()}:{stage}"
            if db.licence_warnings.find_one({"_id": key}):
                continue

            def work(
                tx, vendor=vendor, document=document, expires_on=expires_on, days_left=days_left, key=key
            ):
                if tx.licence_warnings.find_one({"_id": key}):
                    return 0
                tx.licence_warnings.insert_one({"_id": key, "at": now})
                tx.emit(
                    "market.licence_expiring",
                    {
                        "vendor_id": vendor["_id"],
                        "resident_id": vendor.get("resident_id"),
                        "document": document,
                        "expires_on": expires_on,
                        "days_left": days_left,
                    },
                )
                return 1

            warned += db.run_transaction(work)
    return warned


# --- what the registry tells us ---------------------------------------------------------------


def residents_registered(db, payloads):
    def work(tx):
        tx.residents.bulk_write(
            [
                UpdateOne(
                    {"_id": p["resident_id"]},
                    {"$set": {"name": p["name"], "grid_code": p["grid_code"], "status": "active"}},
                    upsert=True,
                )
                for p in payloads
            ],
            ordered=False,
        )

    db.run_transaction(work)


def resident_left(db, payload, status):
    """A resident moved out or died: the read model says so, and a vendor who was that resident
    keeps their stall to the end of its term but may not renew it or win another."""

    def work(tx):
        tx.residents.update_one(
            {"_id": payload["resident_id"]}, {"$set": {"status": status}}, upsert=True
        )
        tx.vendors.update_one(
            {"resident_id": payload["resident_id"]}, {"$set": {"resident_status": status}}
        )

    db.run_transaction(work)
