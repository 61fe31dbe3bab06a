"""Collections of grid_events, their indexes, and the queries the service repeats."""


from pymongo import ASCENDING, DESCENDING, IndexModel

from services.grid_events import domain

INDEXES = {
    "incidents": [
        IndexModel("incident_id", unique=True, name="incident_id"),
        IndexModel([("reporter_resident_id", ASCENDING), ("reported_at", DESCENDING)], name="reporter"),
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
    "visit_logs": [IndexModel("task_id", name="task"), IndexModel("resident_id", name="resident"),
                   IndexModel([("grid_code", ASCENDING), ("recorded_at", DESCENDING)], name="grid")],
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
    # read models of the registry's grids and staff posts (read_models.py)
    "grids": [IndexModel("buildings", name="buildings")],
    "staff": [IndexModel([("grid_code", ASCENDING), ("role", ASCENDING)], name="grid_role")],
}


# ---------------------------------------------------------------- read models


def grid(db, code):
    return db.grids.find_one({"_id": code}) if code else None


def grid_of_building(db, building):
    return db.grids.find_one({"buildings": building})


def staff_of_grid(db, grid_code):
    return list(db.staff.find({"grid_code": grid_code}))


def holders(db, role):
    """Staff ids of a community-wide post (police desk, community office)."""
    return sorted(s["_id"] for s in db.staff.find({"role": role}, projection={"_id": 1}))


def grid_worker(db, grid_code):
    """The grid's current grid worker (the latest assigned), or None."""
    staff = db.staff.find_one({"role": "grid_worker", "grid_code": grid_code}, sort=[("assigned_at", -1)])
    return staff["_id"] if staff else None


def rung_holders(db, rung, grid_code):
    """Who stands on a rung of the escalation ladder."""
    flt = {"role": rung}
    if rung in ("grid_worker", "branch_secretary"):
        flt["grid_code"] = grid_code
    return sorted(s["_id"] for s in db.staff.find(flt, projection={"_id": 1}))


# ---------------------------------------------------------------- incidents


def recent_alike(db, grid_code, category, since):
    """Incidents of the same grid and category since `since` (index grid_category_recent:
    equality, equality, range; the status is checked by the domain)."""
    return list(db.incidents.find(
        {"grid_code": grid_code, "category": category, "reported_at": {"$gte": since}},
        projection={k: 1 for k in ("incident_id", "grid_code", "category", "status", "reported_at",
                                   "address", "location")},
        sort=[("reported_at", -1)], limit=200))


def resolved_before(db, limit, batch=500):
    return list(db.incidents.find({"status": domain.RESOLVED, "resolved_at": {"$lte": limit}},
                                  projection={"_id": 1}, limit=batch))




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


def visit_task_filter(query):
    flt = {k: query[k] for k in ("grid_code", "status", "kind", "resident_id") if query.get(k)}
    if query.get("overdue") is not None:
        flt["overdue"] = query["overdue"]
    return flt


def visit_logs(db, query, scope, limit=200):
    """The visit log of one resident or one task, newest first, within `scope` (a grant's filter)."""
    flt = {**{k: query[k] for k in ("resident_id", "task_id") if query.get(k)}, **scope}
    return list(db.visit_logs.find(flt, sort=[("recorded_at", -1)], limit=limit))


def stats_of(db, query):
    return list(db.incidents.find(stats_filter(query), projection=STATS_FIELDS))


STATS_FIELDS = {k: 1 for k in ("grid_code", "category", "status", "reported_at", "respond_by", "accepted_at",
                               "resolved_at", "due_at", "rating", "reopen_count", "escalation_level")}


def stats_filter(query):
    flt = {"grid_code": query["grid_code"]} if query.get("grid_code") else {}
    period = {k: v for k, v in (("$gte", query.get("reported_from")), ("$lt", query.get("reported_to"))) if v}
    if period:
        flt["reported_at"] = period
    return flt


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
