"""Finance's own read model of registry facts: residents (birth date, status, residence type),
households and shareholders. Kept from events; a resident finance never heard of is fetched once
from the registry over RPC (the bootstrap), so the allowance never depends on one event alone."""

from pymongo import UpdateOne

from services.finance import domain

RESIDENT_FIELDS = ("household_id", "grid_code", "residence_type", "status")


def residents_registered(tx, payloads):
    """A batch of registrations in one bulk write (a round trip per document costs the server
    three times as much: measured on SecantusDB, 0.70 against 0.22 ms a document)."""
    tx.residents.bulk_write([
        UpdateOne({"_id": p["resident_id"]}, {"$set": {
            "household_id": p["household_id"],
            "grid_code": p["grid_code"],
            "birth_date": p["birth_date"].isoformat(),
            "residence_type": p["residence_type"],
            "status": "active",
        }}, upsert=True)
        for p in payloads
    ], ordered=False)


def resident_updated(tx, payload):
    changes = {k: v for k, v in payload["changes"].items() if k in RESIDENT_FIELDS}
    if changes:
        tx.residents.update_one({"_id": payload["resident_id"]}, {"$set": changes})


def resident_left(tx, resident_id, status, on):
    tx.residents.update_one({"_id": resident_id}, {"$set": {"status": status, "left_on": on.isoformat()}})


def households_registered(tx, payloads):
    tx.households.bulk_write([
        UpdateOne({"_id": p["household_id"]}, {"$set": {"grid_code": p["grid_code"]}}, upsert=True)
        for p in payloads
    ], ordered=False)


def shareholders_enrolled(tx, payloads):
    tx.shareholders.bulk_write([
        UpdateOne({"_id": p["shareholder_id"]}, {"$set": {
            "shareholder_id": p["shareholder_id"],
            "resident_id": p["resident_id"],
            "group": p["group"],
            "shares": p["shares"],
            "status": "active",
        }}, upsert=True)
        for p in payloads
    ], ordered=False)


def shareholder_changed(tx, payload):
    after = {k: v for k, v in (payload["after"] or {}).items() if k in ("shares", "group", "status")}
    if after:
        tx.shareholders.update_one({"_id": payload["shareholder_id"]}, {"$set": after})


def is_known(db, resident_id):
    return db.residents.find_one({"_id": resident_id}, {"_id": 1}) is not None


def bootstrap(tx, view):
    """Store a resident as the registry's RPC describes it (`get_resident`, masked view)."""
    tx.residents.update_one(
        {"_id": view["resident_id"]},
        {
            "$setOnInsert": {
                "household_id": view["household_id"],
                "grid_code": view["grid_code"],
                "birth_date": domain.date.fromisoformat(view["birth_date"]).isoformat(),
                "residence_type": view["residence_type"],
                "status": view["status"],
                "bootstrapped": True,
            }
        },
        upsert=True,
    )
