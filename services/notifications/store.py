"""Collections of the notifications service and the queries over them.

- people:         residents and staff as learned from registry events, with `preferences`
- posts:          who holds which post in which grid (one current grid_worker per grid)
- notifications:  the delivery log; one record per (event, recipient, channel), with attempts
- inbox:          in-app messages (the in_app channel writes here)
- sms_sent, push_sent: what the local SMS / push gateways would have sent
- work:           open incidents and visit tasks per staff member, for the morning digest
"""

import uuid

from pymongo import ASCENDING, DESCENDING, IndexModel

from services.notifications.domain import QUEUED, Person, Post

INDEXES = {
    "people": [IndexModel([("kind", ASCENDING), ("grid_code", ASCENDING)], name="kind_grid"),
               IndexModel("household_id", name="household")],
    "posts": [IndexModel([("grid_code", ASCENDING), ("role", ASCENDING), ("staff_id", ASCENDING)],
                         unique=True, name="post")],
    "notifications": [
        # dedupe: one event -> at most one notification per recipient per channel
        IndexModel([("event_id", ASCENDING), ("recipient", ASCENDING), ("channel", ASCENDING)],
                   unique=True, name="once_per_event_recipient_channel"),
        IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="due"),
        IndexModel([("recipient", ASCENDING), ("created_at", DESCENDING)], name="by_recipient"),
        IndexModel([("_id", ASCENDING), ("lease", ASCENDING)], name="claim"),
    ],
    "inbox": [IndexModel([("recipient", ASCENDING), ("created_at", DESCENDING)], name="by_recipient"),
              IndexModel([("recipient", ASCENDING), ("read_at", ASCENDING)], name="unread")],
    "work": [IndexModel("assignee", name="assignee")],
}


def resolve(db, selectors, known=None):
    """[(recipient_id, person or None)] for the selectors; `known` overrides by id."""
    known = known or {}
    ids = []
    for selector in selectors:
        if isinstance(selector, Person):
            ids.append(selector.id)
        elif isinstance(selector, Post):
            ids += [p["staff_id"] for p in db.posts.find({"grid_code": selector.grid_code,
                                                          "role": selector.role})]
    ids = list(dict.fromkeys(ids))  # once each, order kept
    missing = [i for i in ids if i not in known]
    found = {p["_id"]: p for p in db.people.find({"_id": {"$in": missing}})} if missing else {}
    return [(i, known.get(i) or found.get(i)) for i in ids]


def assign_post(tx, staff_id, role, grid_code):
    """Record a post; a grid has one current grid worker, so a new one replaces the previous."""
    if role == "grid_worker":
        tx.posts.delete_many({"role": role, "grid_code": grid_code, "staff_id": {"$ne": staff_id}})
    tx.posts.update_one({"grid_code": grid_code, "role": role, "staff_id": staff_id},
                        {"$set": {"grid_code": grid_code, "role": role, "staff_id": staff_id}},
                        upsert=True)


def save(tx, record):
    """Insert a notification unless (event, recipient, channel) already has one. True if new."""
    key = {k: record[k] for k in ("event_id", "recipient", "channel")}
    result = tx.notifications.update_one(key, {"$setOnInsert": record}, upsert=True)
    return result.upserted_id is not None


def new_lease():
    return uuid.uuid4().hex


def claim(db, notification_id, now, lease):
    """Take a due, queued notification for one delivery attempt (no other worker will).

    Read by id, decide here, then compare-and-set the lease token: of two claimers only one
    still matches it. (Two steps, and no find_one_and_update, because SecantusDB uses an index
    only when it covers every predicate, and its findAndModify scans the whole collection.)"""
    record = db.notifications.find_one({"_id": notification_id})
    if record is None or record["status"] != QUEUED or record["due_at"] > now:
        return None
    if record.get("lease_until") is not None and record["lease_until"] > now:
        return None  # another worker is on it
    taken = {"lease": new_lease(), "lease_until": now + lease}
    result = db.notifications.update_one({"_id": notification_id, "lease": record.get("lease")},
                                         {"$set": taken})
    return {**record, **taken} if result.modified_count == 1 else None


def due_ids(db, now, limit):
    return [d["_id"] for d in db.notifications.find({"status": QUEUED, "due_at": {"$lte": now}},
                                                    projection={"_id": 1}).sort("due_at", 1).limit(limit)]


def grid_workers(db):
    return {p["grid_code"]: p["staff_id"] for p in db.posts.find({"role": "grid_worker"})}


LOG_FIELDS = ("event_id", "recipient", "status", "channel", "topic", "grid_code", "household_id")


def log_query(filters, grid_code=None):
    query = {k: filters[k] for k in LOG_FIELDS if filters.get(k) is not None}
    if grid_code is not None:
        query["grid_code"] = grid_code
    return query


def open_work(tx, work_id, work):
    """Open work a staff member holds (for the morning digest), keyed by incident or task id."""
    tx.work.update_one({"_id": work_id}, {"$set": work}, upsert=True)


def close_work(tx, event):
    """An incident resolved or closed: no longer open work (kept, so a late dispatch can tell)."""
    tx.work.update_one({"_id": event.payload["incident_id"]},
                       {"$max": {"closed_at": event.occurred_at},
                        "$setOnInsert": {"kind": "incident", "grid_code": event.payload["grid_code"]}},
                       upsert=True)


def mark_read(tx, person_id, message_ids, now):
    """Mark `person_id`'s unread messages among `message_ids` read; how many were."""
    mine = [m["_id"] for m in tx.inbox.find({"_id": {"$in": message_ids}}, {"recipient": 1, "read_at": 1})
            if m["recipient"] == person_id and m.get("read_at") is None]
    if mine:
        tx.inbox.update_many({"_id": {"$in": mine}}, {"$set": {"read_at": now}})
    return len(mine)
