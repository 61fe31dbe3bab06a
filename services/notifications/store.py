"""Collections of the notifications service and the queries over them.

- people:         residents and staff as learned from registry events, with `preferences`
- posts:          who holds which post in which grid (one current grid_worker per grid)
- notifications:  the delivery log; one record per (event, recipient, channel), with attempts
- inbox:          in-app messages (the in_app channel writes here)
- sms_sent, push_sent: what the local SMS / push gateways would have sent
- work:           open incidents and visit tasks per staff member, for the morning digest
"""

import uuid

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from services.notifications.domain import QUEUED, STATUSES, Person, Post
from shared.mongo import IN_CHUNK, find_in

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
    return resolve_many(db, [selectors], known)[0]


def resolve_many(db, audiences, known=None):
    """`resolve` for the selectors of many events at once (a batch): each post read once, and
    every person not `known` in one `$in` (by chunks), not one read per event."""
    known = known or {}
    posts = {s for selectors in audiences for s in selectors if isinstance(s, Post)}
    holders = {post: [p["staff_id"] for p in db.posts.find({"grid_code": post.grid_code, "role": post.role})]
               for post in posts}
    id_lists = []
    for selectors in audiences:
        ids = []
        for selector in selectors:
            if isinstance(selector, Person):
                ids.append(selector.id)
            elif isinstance(selector, Post):
                ids += holders[selector]
        id_lists.append(list(dict.fromkeys(ids)))  # once each, order kept
    missing = {i for ids in id_lists for i in ids if i not in known}
    found = {p["_id"]: p for p in find_in(db.people, "_id", missing)} if missing else {}
    return [[(i, known.get(i) or found.get(i)) for i in ids] for ids in id_lists]


# ---------------------------------------------------------------- people and posts


def person(db, person_id):
    return db.people.find_one({"_id": person_id})


def people_by_id(db, ids):
    return {p["_id"]: p for p in find_in(db.people, "_id", ids)}


def staff(db):
    return list(db.people.find({"kind": "staff"}))


def residents_of_grid(db, grid_code):
    return list(db.people.find({"kind": "resident", "grid_code": grid_code}))


def roles_in_grid(db, grid_code):
    """The posts held in a grid (grid_worker, branch_secretary, ...), sorted."""
    return sorted(db.posts.distinct("role", {"grid_code": grid_code}))


def post_grids(db, staff_id):
    """The grids where a staff member holds a post (community-wide posts have none)."""
    return sorted(g for g in db.posts.distinct("grid_code", {"staff_id": staff_id}) if g)


def update_person(tx, person_id, changes, upsert=False):
    tx.people.update_one({"_id": person_id}, {"$set": changes}, upsert=upsert)


def set_preferences(tx, person_id, preferences):
    """Set some of a known person's preferences (never creates a person); whether they were known."""
    if not preferences:
        return tx.people.find_one({"_id": person_id}, {"_id": 1}) is not None
    result = tx.people.update_one({"_id": person_id},
                                  {"$set": {f"preferences.{k}": v for k, v in preferences.items()}})
    return result.matched_count == 1


def learn_people(tx, people, stored):
    """Record people as a registry event describes them, in bulk: those not `stored` (ids read
    before) in one insert, newer facts of the others by one update each. (Someone stored since
    that read makes the insert fail: the batch runs again and finds them.)"""
    new = [p for p in people if p["_id"] not in stored]
    if new:
        tx.people.insert_many(new)
    changed = [UpdateOne({"_id": p["_id"]}, {"$set": p}, upsert=True) for p in people if p["_id"] in stored]
    if changed:
        tx.people.bulk_write(changed, ordered=False)


def assign_post(tx, staff_id, role, grid_code):
    """Record a post; a grid has one current grid worker, so a new one replaces the previous."""
    if role == "grid_worker":
        tx.posts.delete_many({"role": role, "grid_code": grid_code, "staff_id": {"$ne": staff_id}})
    tx.posts.update_one({"grid_code": grid_code, "role": role, "staff_id": staff_id},
                        {"$set": {"grid_code": grid_code, "role": role, "staff_id": staff_id}},
                        upsert=True)


def save_many(tx, records):
    """Insert notifications unless (event, recipient, channel) already has one, in one bulk write;
    the indexes (into `records`) of those that were new."""
    if not records:
        return []
    result = tx.notifications.bulk_write([
        UpdateOne({k: r[k] for k in ("event_id", "recipient", "channel")}, {"$setOnInsert": r}, upsert=True)
        for r in records], ordered=True)
    return sorted(result.upserted_ids)


def insert_new(tx, records):
    """Insert the notifications of events this very transaction claims: nothing of theirs can be
    recorded yet, so no look-up for each (one insert for the lot, not one upsert a record)."""
    if records:
        tx.notifications.insert_many(records)


def update_by_ids(tx, ids, update):
    """One update for many notifications (the same outcome recorded for a whole batch), by
    `$in` chunks of 100: the server's cost is per statement more than per document."""
    for start in range(0, len(ids), IN_CHUNK):
        tx.notifications.update_many({"_id": {"$in": ids[start:start + IN_CHUNK]}}, update)


def new_lease():
    return uuid.uuid4().hex


def claim_many(db, ids, now, lease):
    """Take due, queued notifications for one delivery attempt each (no other worker will);
    the records won.

    One read by id, decide here, then one bulk compare-and-set of the lease token: of two
    claimers only one still matches it. (No find_one_and_update: SecantusDB uses an index only
    when it covers every predicate, and its findAndModify scans the whole collection.)"""
    records = db.notifications.find({"_id": {"$in": list(ids)}})
    claimable = [r for r in records if r["status"] == QUEUED and r["due_at"] <= now
                 and not (r.get("lease_until") is not None and r["lease_until"] > now)]
    if not claimable:
        return []
    taken = {"lease": new_lease(), "lease_until": now + lease}
    result = db.notifications.bulk_write(
        [UpdateOne({"_id": r["_id"], "lease": r.get("lease")}, {"$set": taken}) for r in claimable],
        ordered=False)
    if result.modified_count < len(claimable):  # another worker won some: keep those still ours
        ours = {d["_id"] for d in db.notifications.find({"_id": {"$in": [r["_id"] for r in claimable]},
                                                         "lease": taken["lease"]}, {"_id": 1})}
        claimable = [r for r in claimable if r["_id"] in ours]
    return [{**r, **taken} for r in claimable]


def progress(db, event_id, scope=None):
    """How far the notifications of one announcement (or event) have gone: counts by status,
    within `scope` (a grant's filter: a grid worker counts their grid's)."""
    query = {**(scope or {}), "event_id": event_id}
    counts = {status: 0 for status in STATUSES}
    for record in db.notifications.find(query, {"status": 1}):
        counts[record["status"]] += 1
    return {"announcement_id": event_id, "total": sum(counts.values()), **counts,
            "done": counts[QUEUED] == 0}


def due_ids(db, now, limit):
    return [d["_id"] for d in db.notifications.find({"status": QUEUED, "due_at": {"$lte": now}},
                                                    projection={"_id": 1}).sort("due_at", 1).limit(limit)]


def grid_workers(db):
    return {p["grid_code"]: p["staff_id"] for p in db.posts.find({"role": "grid_worker"})}


def log(db, query, limit):
    """The newest `limit` records of the delivery log matching `query`."""
    return list(db.notifications.find(query).sort("created_at", -1).limit(limit))


# ---------------------------------------------------------------- open work, for the digest


def open_work_items(db):
    return list(db.work.find({}))


def open_work(tx, work_id, work):
    """Open work a staff member holds (for the morning digest), keyed by incident or task id."""
    tx.work.update_one({"_id": work_id}, {"$set": work}, upsert=True)


def open_works(tx, works):
    """`open_work` for [(work_id, work)] of a batch: read in the transaction which are there
    (a dispatch re-sent, an escalation seen first), insert the others in one go rather than
    upsert each (a third of the server's cost). Of two dispatches of one incident the later wins."""
    latest = dict(works)
    there = {w["_id"] for w in find_in(tx.work, "_id", latest, {"_id": 1})}
    new = [{"_id": work_id, **work} for work_id, work in latest.items() if work_id not in there]
    if new:
        tx.work.insert_many(new)
    if there:
        tx.work.bulk_write([UpdateOne({"_id": work_id}, {"$set": latest[work_id]}) for work_id in there])


def close_work(tx, event):
    """An incident resolved or closed: no longer open work (kept, so a late dispatch can tell)."""
    tx.work.update_one({"_id": event.payload["incident_id"]},
                       {"$max": {"closed_at": event.occurred_at},
                        "$setOnInsert": {"kind": "incident", "grid_code": event.payload["grid_code"]}},
                       upsert=True)


def mark_overdue(tx, payload):
    """An incident escalated: its work is overdue (known or not yet: events arrive in any order)."""
    tx.work.update_one({"_id": payload["incident_id"]},
                       {"$set": {"overdue": True},
                        "$setOnInsert": {"kind": "incident", "grid_code": payload["grid_code"],
                                         "summary": payload["summary"]}}, upsert=True)


# ---------------------------------------------------------------- the in-app inbox


def inbox(db, person_id, unread_only, limit):
    find = {"recipient": person_id}
    if unread_only:
        find["read_at"] = None
    return list(db.inbox.find(find).sort("created_at", -1).limit(limit))


def unread_count(db, person_id):
    return db.inbox.count_documents({"recipient": person_id, "read_at": None})


def mark_read(tx, person_id, message_ids, now):
    """Mark `person_id`'s unread messages among `message_ids` read; how many were."""
    mine = [m["_id"] for m in tx.inbox.find({"_id": {"$in": message_ids}}, {"recipient": 1, "read_at": 1})
            if m["recipient"] == person_id and m.get("read_at") is None]
    if mine:
        tx.inbox.update_many({"_id": {"$in": mine}}, {"$set": {"read_at": now}})
    return len(mine)
