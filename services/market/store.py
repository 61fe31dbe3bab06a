"""The market's collections, their indexes, and every query the use cases make.

Dates are stored as ISO strings ("2026-11-02": they sort and compare as dates do) and turned back
into `date` objects when a document is loaded for the domain; instants are BSON dates.
"""

from datetime import date

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.errors import NotFound

INDEXES = {
    "vendors": [
        IndexModel(
            "resident_id",
            unique=True,
            name="resident",
            partialFilterExpression={"resident_id": {"$type": "string"}},
        ),
        IndexModel(
            "id_number",
            unique=True,
            name="id_number",
            partialFilterExpression={"id_number": {"$type": "string"}},
        ),
        IndexModel("status", name="status"),
        IndexModel("business_licence.expires_on", name="licence_expiry"),
        IndexModel("food_hygiene_certificate.expires_on", name="hygiene_expiry"),
    ],
    "stalls": [
        IndexModel([("kind", ASCENDING), ("status", ASCENDING)], name="kind_status"),
        IndexModel("vendor_id", name="vendor"),
    ],
    "applications": [
        IndexModel([("kind", ASCENDING), ("status", ASCENDING)], name="kind_status"),
        IndexModel("vendor_id", name="vendor"),
    ],
    "votes": [IndexModel("rule_book_id", name="rule_book")],
    "attendance": [IndexModel("night_id", name="night")],
    "footfall": [IndexModel("night_id", name="night")],
    "takings": [IndexModel("night_id", name="night")],
    "violations": [
        IndexModel([("vendor_id", ASCENDING), ("recorded_at", DESCENDING)], name="vendor"),
        IndexModel("night_id", name="night"),
        IndexModel([("grid_code", ASCENDING), ("recorded_at", DESCENDING)], name="grid"),
    ],
    "points_ledger": [IndexModel("vendor_id", name="vendor")],
    "fees": [IndexModel([("vendor_id", ASCENDING), ("status", ASCENDING)], name="vendor_status")],
}

DATE_PATHS = {
    "vendors": ("business_licence.expires_on", "food_hygiene_certificate.expires_on", "suspended_until"),
    "rule_books": ("effective_on",),
    "violations": ("night_date",),
    "nights": ("date",),
    "stalls": ("term_start", "term_end"),
}


def day(value):
    """A stored ISO date string back to a `date` (None stays None)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def with_dates(collection, doc):
    """`doc` with its date fields as `date` objects, for the domain."""
    if doc is None:
        return None
    for path in DATE_PATHS.get(collection, ()):
        head, _, tail = path.partition(".")
        if tail:
            if isinstance(doc.get(head), dict):
                doc[head] = {**doc[head], tail: day(doc[head].get(tail))}
        elif head in doc:
            doc[head] = day(doc[head])
    return doc


def insert_once(tx, collection, doc, refusal):
    """Insert `doc` unless its `_id` is taken, else raise `refusal` (a Conflict): the unique `_id`
    decides in one round trip, a race included, where a look-up first would cost two."""
    try:
        getattr(tx, collection).insert_one(doc)
    except DuplicateKeyError:
        raise refusal from None


def load(db, collection, key, what=None):
    """The document `key` of `collection` (dates as dates), or NotFound naming the id field."""
    doc = getattr(db, collection).find_one({"_id": key})
    if doc is None:
        field = what or f"{collection.rstrip('s')}_id"
        raise NotFound(f"no {field.removesuffix('_id').replace('_', ' ')} {key}", {field: ["not found"]})
    return with_dates(collection, doc)


def find(db, collection, query, sort=None, limit=0, projection=None):
    cursor = getattr(db, collection).find(query, projection, sort=sort, limit=limit)
    return [with_dates(collection, d) for d in cursor]


def page(db, collection, query, params, sort):
    """One page of `collection`: {"items", "total", "page", "page_size"}."""
    coll = getattr(db, collection)
    skip = (params["page"] - 1) * params["page_size"]
    items = [
        with_dates(collection, d)
        for d in coll.find(query, sort=sort, skip=skip, limit=params["page_size"])
    ]
    return {
        "items": items,
        "total": coll.count_documents(query),
        "page": params["page"],
        "page_size": params["page_size"],
    }


def next_number(tx, name):
    """The next number of the sequence `name` (vendor ids, rule-book versions), in the transaction."""
    counter = tx.counters.find_one_and_update(
        {"_id": name}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    return counter["n"]


# --- queries the use cases repeat -----------------------------------------------------------


def rule_books(db):
    return find(db, "rule_books", {"status": "adopted"})


def active_vendor_ids(db):
    return sorted(d["_id"] for d in db.vendors.find({"status": "active"}, {"_id": 1}))


def holds_stall(db, vendor_id):
    return db.stalls.count_documents({"vendor_id": vendor_id}, limit=1) > 0


def waiting_applications(db, kind, zone):
    query = {"kind": kind, "status": "waiting"}
    if zone:
        query["zone"] = {"$in": [zone, None]}
    return list(db.applications.find(query))


def vacant_stalls(db, kind, zone):
    query = {"kind": kind, "status": "vacant"}
    if zone:
        query["zone"] = zone
    return [d["_id"] for d in db.stalls.find(query, {"_id": 1})]


def vendors_by_id(db, ids):
    return {d["_id"]: with_dates("vendors", d) for d in db.vendors.find({"_id": {"$in": list(ids)}})}


def expiring_vendors(db, until):
    """Active or suspended vendors with a licence expiring on or before `until` (ISO string)."""
    return find(
        db,
        "vendors",
        {
            "status": {"$in": ["active", "suspended"]},
            "$or": [
                {"business_licence.expires_on": {"$lte": until}},
                {"food_hygiene_certificate.expires_on": {"$lte": until}},
            ],
        },
    )


def suspensions_ended(db, on):
    return find(db, "vendors", {"status": "suspended", "suspended_until": {"$lte": on}})


def night_figures(db, night_id):
    present = db.attendance.count_documents({"night_id": night_id})
    footfall = sum(d["count"] for d in db.footfall.find({"night_id": night_id}, {"count": 1}))
    takings = [d["takings_fen"] for d in db.takings.find({"night_id": night_id}, {"takings_fen": 1})]
    violations = [
        d["violation_type"] for d in db.violations.find({"night_id": night_id}, {"violation_type": 1})
    ]
    return present, footfall, takings, violations


def present_stalls(db, night_id):
    """The stalls checked in on a night, in order."""
    return sorted(d["stall_id"] for d in db.attendance.find({"night_id": night_id}, {"stall_id": 1}))


def closed_nights(db, prefix):
    """Closed nights whose date starts with `prefix` ("2026", "2026-11", "2026-11-02")."""
    return list(
        db.nights.find({"status": "closed", "date": {"$regex": f"^{prefix}"}}, sort=[("date", 1)])
    )
