"""Collections of grid_events, their indexes, and the queries the service repeats."""


from pymongo import ASCENDING, DESCENDING, IndexModel

from services.grid_events import domain

INDEXES = {
    "incidents": [
        IndexModel("incident_id", unique=True, name="incident_id"),
        IndexModel([("grid_code", ASCENDING), ("status", ASCENDING), ("reported_at", DESCENDING)],
                   name="grid_status"),
        IndexModel([("grid_code", ASCENDING), ("category", ASCENDING), ("reported_at", DESCENDING)],
                   name="grid_category_recent"),
        IndexModel([("status", ASCENDING), ("state_deadline", ASCENDING)], name="open_state_deadline"),
        IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="open_due"),
        IndexModel([("camera_id", ASCENDING), ("status", ASCENDING)], name="camera_open",
                   partialFilterExpression={"camera_id": {"$type": "string"}}),
    ],
    "party_members": [IndexModel("grid_code", name="grid"), IndexModel("active", name="active")],
    "visit_tasks": [
        IndexModel("task_id", unique=True, name="task_id"),
        # one task per (resident, kind, occasion): a year-end run or a redelivery adds nothing
        IndexModel("occasion_key", unique=True, name="occasion"),
        IndexModel([("status", ASCENDING), ("due_on", ASCENDING)], name="open_due"),
        IndexModel([("resident_id", ASCENDING), ("status", ASCENDING)], name="resident_open"),
        IndexModel([("grid_code", ASCENDING), ("status", ASCENDING)], name="grid_status"),
    ],
    "visit_logs": [IndexModel("task_id", name="task"), IndexModel("resident_id", name="resident")],
    "campaigns": [IndexModel("campaign_id", unique=True, name="campaign_id")],
    "campaign_households": [
        IndexModel([("campaign_id", ASCENDING), ("household_id", ASCENDING)], unique=True, name="household"),
        IndexModel([("campaign_id", ASCENDING), ("covered", ASCENDING)], name="coverage"),
    ],
    "window_requests": [IndexModel("request_id", unique=True, name="request_id"),
                        IndexModel([("window", ASCENDING), ("status", ASCENDING)], name="window_status")],
    "mediations": [IndexModel("mediation_id", unique=True, name="mediation_id"),
                   IndexModel("incident_id", name="incident")],
    "patrols": [IndexModel("patrol_id", unique=True, name="patrol_id")],
    "cameras": [IndexModel("grid_code", name="grid")],
}




def incident_filter(query, now):
    """The Mongo filter for `list_incidents`."""
    flt = {k: query[k] for k in ("grid_code", "status", "category") if query.get(k)}
    if query.get("overdue") is True:
        flt.setdefault("status", {"$in": list(domain.OPEN)})
        flt["$or"] = [{"due_at": {"$lt": now}}, {"state_deadline": {"$lt": now}}]
    elif query.get("overdue") is False:
        flt["$nor"] = [{"status": {"$in": list(domain.OPEN)},
                        "$or": [{"due_at": {"$lt": now}}, {"state_deadline": {"$lt": now}}]}]
    return flt


STATS_FIELDS = {k: 1 for k in ("grid_code", "status", "reported_at", "accepted_at", "resolved_at", "due_at",
                               "rating", "reopen_count")}


def stats_filter(query):
    flt = {"grid_code": query["grid_code"]} if query.get("grid_code") else {}
    period = {k: v for k, v in (("$gte", query.get("reported_from")), ("$lt", query.get("reported_to"))) if v}
    if period:
        flt["reported_at"] = period
    return flt


def page(collection, flt, query, sort):
    total = collection.count_documents(flt)
    skip = (query["page"] - 1) * query["page_size"]
    items = list(collection.find(flt, sort=sort, skip=skip, limit=query["page_size"]))
    return {"items": items, "total": total, "page": query["page"], "page_size": query["page_size"]}


def overdue_candidates(db, now, limit=500):
    """Open incidents one of whose clocks has run out, below the top rung.

    One query per (open status, clock) so each is an equality + range on an index."""
    top = len(domain.ESCALATION_LADDER) - 1
    found = {}
    for status in domain.OPEN:
        for clock in ("due_at", "state_deadline"):
            for doc in db.incidents.find({"status": status, clock: {"$lt": now}}, limit=limit):
                if doc.get("escalation_level", 0) < top:
                    found[doc["_id"]] = doc
    return list(found.values())
