"""Incident use cases: load, ask the domain, commit state + history + events in one transaction.

Each function takes the service's `db` (shared.mongo.Database), and where it needs them the
registry proxy, the settings, the actor and the time: the nameko entrypoints stay a few lines.
"""

import logging
from datetime import timedelta

from pymongo.errors import PyMongoError

from services.grid_events import domain
from services.grid_events.routing import police_desk, route
from services.grid_events.store import overdue_candidates
from shared.errors import Conflict, Forbidden, NotFound
from shared.mongo import retry_on_conflict

log = logging.getLogger(__name__)

STAFF_ROLES = ("admin", "community_office", "grid_worker", "police_desk")
SUPERVISORS = ("admin", "community_office")


# ---------------------------------------------------------------- who may do what


def check_staff(actor, incident=None):
    """Residents only report, rate and reopen; a grid worker acts in their own grid only."""
    if actor is None:
        return
    role = actor.get("role")
    if role not in STAFF_ROLES:
        raise Forbidden("only staff may do this", {"role": [f"{role} may not"]})
    if role == "grid_worker" and incident is not None and actor.get("grid") != incident["grid_code"]:
        raise Forbidden("this incident belongs to another grid", {"grid_code": [incident["grid_code"]]})


def check_reporter(actor, incident):
    """Rating, reopening and closing are the reporter's (or the office's, recording it for them)."""
    if actor is None or actor.get("role") in SUPERVISORS:
        return
    reporter = incident.get("reporter_resident_id")
    if actor.get("role") == "resident" and reporter and actor.get("id") == reporter:
        return
    raise Forbidden("only the reporter may do this", {"actor": ["not the reporter"]})


def check_supervisor(actor):
    if actor is not None and actor.get("role") not in SUPERVISORS:
        raise Forbidden("only the community office may do this", {"role": [str(actor.get("role"))]})


def reader_scope(actor):
    """A resident sees only what they reported; staff and services see everything."""
    if actor is not None and actor.get("role") not in STAFF_ROLES:
        return {"reporter_resident_id": actor.get("id") or "-"}
    return {}


def visible(incident, actor):
    scope = reader_scope(actor)
    if scope and incident.get("reporter_resident_id") != scope["reporter_resident_id"]:
        raise NotFound("no such incident", {"incident_id": [incident["incident_id"]]})
    return incident


# ---------------------------------------------------------------- report


def load(db, incident_id):
    incident = db.incidents.find_one({"_id": incident_id})
    if incident is None:
        raise NotFound("no such incident", {"incident_id": [incident_id]})
    return incident


def prepare(db, registry, settings, data, actor, now, extra=None):
    """A new incident document, routed and checked for duplicates; nothing is written yet."""
    cat = domain.category(data["category"])
    reporter = data.get("reporter_resident_id")
    if actor and actor.get("role") == "resident":
        reporter = actor.get("id")
    grid, assignee = route(registry, data.get("address"), data.get("grid_code"), cat)
    police = police_desk(registry) if cat.police else []
    status = domain.DISPATCHED if assignee else domain.REPORTED
    incident_id = domain.new_id("INC", now)
    incident = {
        "_id": incident_id, "incident_id": incident_id,
        "grid_code": grid["code"], "grid_name": grid["name"],
        "category": cat.code, "priority": data.get("priority") or cat.priority,
        "description": data["description"], "address": data.get("address"),
        "location": data.get("location"), "photos": data.get("photos") or [],
        "source": data.get("source") or "resident", "reporter_resident_id": reporter,
        "status": status, "assignee_staff_id": assignee, "also_police": cat.police,
        "police_staff_ids": police,
        "reported_at": now, "state_since": now,
        "state_deadline": domain.state_deadline(cat, status, now),
        "due_at": domain.overall_deadline(cat, now),
        "escalation_level": 0, "escalations": [], "next_escalation_at": None,
        "extensions": [], "accepted_at": None, "resolved_at": None, "closed_at": None,
        "rating": None, "reopen_count": 0, "duplicates": [], "merged_into": None,
        "history": [domain.history_entry("report", None, domain.REPORTED, now, actor)],
        **(extra or {}),
    }
    if assignee:
        incident["history"].append(domain.history_entry("dispatch", domain.REPORTED, domain.DISPATCHED,
                                                        now, None, f"routed to {assignee}"))
    duplicate = domain.possible_duplicate(incident, recent_alike(db, incident, settings), settings)
    incident["possible_duplicate_of"] = duplicate["incident_id"] if duplicate else None
    return incident


def recent_alike(db, incident, settings):
    """Incidents of the same grid and category within the duplicate window (index
    grid_category_recent: equality, equality, range; the status is checked by the domain)."""
    since = incident["reported_at"] - timedelta(hours=settings.duplicate_window_hours)
    return list(db.incidents.find(
        {"grid_code": incident["grid_code"], "category": incident["category"],
         "reported_at": {"$gte": since}},
        projection={k: 1 for k in ("incident_id", "grid_code", "category", "status", "reported_at",
                                   "address", "location")},
        sort=[("reported_at", -1)], limit=200))


def store(tx, incident):
    """Insert a prepared incident and emit what happened to it."""
    tx.incidents.insert_one(incident)
    fact = _fact(incident)
    tx.emit("grid_events.incident_reported", {
        **fact, "priority": incident["priority"], "source": incident["source"],
        "reporter_resident_id": incident["reporter_resident_id"],
        "possible_duplicate_of": incident["possible_duplicate_of"],
        "unassigned": incident["assignee_staff_id"] is None, "summary": incident["description"][:140]})
    if incident["status"] == domain.DISPATCHED:
        _emit_dispatched(tx, incident)


def _fact(incident):
    return {k: incident[k] for k in ("incident_id", "grid_code", "category")}


def _emit_dispatched(tx, incident):
    tx.emit("grid_events.incident_dispatched", {
        **_fact(incident), "priority": incident["priority"],
        "assignee_staff_id": incident["assignee_staff_id"], "also_police": incident["also_police"],
        "accept_by": incident["state_deadline"], "summary": incident["description"][:140]})


# ---------------------------------------------------------------- lifecycle


def act(db, action, data, actor, now, **fields):
    """Apply lifecycle `action` to the incident `data["incident_id"]`; returns the new document."""
    return retry_on_conflict(lambda: _act(db, action, data, actor, now, **fields))


def _act(db, action, data, actor, now, **fields):
    incident = load(db, data["incident_id"])
    if action in ("rate", "reopen", "close"):
        check_reporter(actor, incident)  # the handler does not close their own work
    elif action != "auto_close":
        check_staff(actor, incident)
    changes, entry = domain.transition(incident, action, now, actor, data.get("note") or data.get("reason"))
    changes.update(fields)
    after = {**incident, **changes}
    with db.transaction() as tx:
        done = tx.incidents.update_one({"_id": incident["_id"], "status": incident["status"]},
                                       {"$set": changes, "$push": {"history": entry}})
        if not done.modified_count:
            raise Conflict("the incident changed meanwhile; reload and retry",
                           {"status": ["changed concurrently"]}, code="illegal_transition")
        _emit_for(tx, action, after, actor, data)
    after["history"] = incident["history"] + [entry]
    return after


def _emit_for(tx, action, incident, actor, data):
    fact = _fact(incident)
    if action == "dispatch":
        _emit_dispatched(tx, incident)
    elif action == "accept":
        tx.emit("grid_events.incident_accepted",
                {**fact, "staff_id": (actor or {}).get("id") or incident["assignee_staff_id"] or "system"})
    elif action == "resolve":
        tx.emit("grid_events.incident_resolved", {
            **fact, "resolved_by": (actor or {}).get("id"), "resolution": data["resolution"],
            "reporter_resident_id": incident.get("reporter_resident_id")})
    elif action == "reopen":
        tx.emit("grid_events.incident_reopened", {**fact, "reason": data["reason"]})
    elif action == "rate":
        tx.emit("grid_events.incident_rated", {**fact, "rating": data["rating"]})
        tx.emit("grid_events.incident_closed", {**fact, "rating": data["rating"], "automatic": False})
    elif action in ("close", "auto_close"):
        tx.emit("grid_events.incident_closed", {**fact, "rating": incident.get("rating"),
                                                "automatic": action == "auto_close"})


def dispatch(db, data, actor, now):
    return act(db, "dispatch", data, actor, now, assignee_staff_id=data["assignee_staff_id"])


def merge(db, data, actor, now):
    """Staff confirm a duplicate: it closes as `duplicate`, merged into an open incident."""
    primary = load(db, data["into_incident_id"])
    if primary["incident_id"] == data["incident_id"]:
        raise Conflict("an incident cannot be merged into itself", {"into_incident_id": ["same incident"]})
    if primary["status"] in domain.FINAL:
        raise Conflict(f"cannot merge into an incident that is {primary['status']}",
                       {"into_incident_id": [primary["status"]]}, code="illegal_transition")
    incident = load(db, data["incident_id"])
    check_staff(actor, incident)
    changes, entry = domain.transition(incident, "merge", now, actor, data.get("note"))
    changes["merged_into"] = primary["incident_id"]
    with db.transaction() as tx:
        done = tx.incidents.update_one({"_id": incident["_id"], "status": incident["status"]},
                                       {"$set": changes, "$push": {"history": entry}})
        if not done.modified_count:
            raise Conflict("the incident changed meanwhile", {"status": ["changed concurrently"]})
        tx.incidents.update_one({"_id": primary["_id"]},
                                {"$addToSet": {"duplicates": incident["incident_id"]}})
    return {**incident, **changes}


# ---------------------------------------------------------------- extensions


def request_extension(db, data, actor, now):
    incident = load(db, data["incident_id"])
    check_staff(actor, incident)
    if incident["status"] not in domain.OPEN:
        raise Conflict(f"no extension for an incident that is {incident['status']}",
                       {"status": [incident["status"]]}, code="illegal_transition")
    if any(e["status"] == "requested" for e in incident["extensions"]):
        raise Conflict("an extension is already waiting for a decision", {"extension": ["pending"]})
    extension = {"extension_id": f"EXT-{len(incident['extensions']) + 1}", "minutes": data["minutes"],
                 "reason": data["reason"], "status": "requested", "requested_at": now,
                 "requested_by": (actor or {}).get("id") or "system"}
    entry = domain.history_entry("request_extension", incident["status"], incident["status"], now, actor,
                                 f"{data['minutes']} min: {data['reason']}")
    with db.transaction() as tx:
        tx.incidents.update_one({"_id": incident["_id"]},
                                {"$push": {"extensions": extension, "history": entry}})
    return extension


def grant_extension(db, data, actor, now):
    incident = load(db, data["incident_id"])
    check_supervisor(actor)
    extension = next((e for e in incident["extensions"] if e["extension_id"] == data["extension_id"]), None)
    if extension is None:
        raise NotFound("no such extension", {"extension_id": [data["extension_id"]]})
    if extension["status"] != "requested":
        raise Conflict(f"extension already {extension['status']}", {"extension_id": [extension["status"]]})
    if data["granted"] and incident["status"] not in domain.OPEN:
        raise Conflict(f"no extension for an incident that is {incident['status']}",
                       {"status": [incident["status"]]}, code="illegal_transition")
    decision = "granted" if data["granted"] else "refused"
    changes = domain.extend(incident, extension["minutes"]) if data["granted"] else {}
    index = incident["extensions"].index(extension)
    changes.update({f"extensions.{index}.status": decision, f"extensions.{index}.decided_at": now,
                    f"extensions.{index}.decided_by": (actor or {}).get("id") or "system",
                    f"extensions.{index}.decision_reason": data["reason"]})
    entry = domain.history_entry(f"extension_{decision}", incident["status"], incident["status"], now,
                                 actor, data["reason"])
    with db.transaction() as tx:
        tx.incidents.update_one({"_id": incident["_id"], f"extensions.{index}.status": "requested"},
                                {"$set": changes, "$push": {"history": entry}})
    return load(db, incident["_id"])


# ---------------------------------------------------------------- the timer's work


def escalate_overdue(db, settings, now):
    """Every overdue open incident climbs one rung (if its step has passed); returns how many."""
    climbed = 0
    for incident in overdue_candidates(db, now):
        try:
            climbed += _escalate(db, incident, settings, now)
        except PyMongoError:  # a write conflict or a hiccup: the next tick tries again
            log.exception("could not escalate %s", incident["_id"])
    return climbed


def _escalate(db, incident, settings, now):
    step = domain.escalation(incident, now, settings.escalation_step_minutes)
    if step is None:
        return 0
    staff = rung_holders(db, step["rung"], incident["grid_code"])
    entry = domain.history_entry("escalate", incident["status"], incident["status"], now, None,
                                 f"{step['overdue']} overdue: to {step['rung']}")
    record = {"level": step["level"], "rung": step["rung"], "overdue": step["overdue"], "at": now,
              "staff_ids": staff}
    with db.transaction() as tx:
        done = tx.incidents.update_one(
            {"_id": incident["_id"], "escalation_level": incident["escalation_level"]},
            {"$set": {"escalation_level": step["level"],
                      "next_escalation_at": step["next_escalation_at"]},
             "$push": {"escalations": record, "history": entry}})
        if not done.modified_count:
            return 0  # another instance's timer climbed it first
        tx.emit("grid_events.incident_escalated", {
            **_fact(incident), "level": step["level"], "rung": step["rung"],
            "overdue": step["overdue"], "summary": incident["description"][:140],
            "staff_ids": staff})
    return 1


def rung_holders(db, rung, grid_code):
    """Who stands on a rung, from the staff read model (registry.grid_staff_assigned)."""
    flt = {"role": rung}
    if rung in ("grid_worker", "branch_secretary"):
        flt["grid_code"] = grid_code
    return sorted(s["_id"] for s in db.staff.find(flt, projection={"_id": 1}))


def auto_close(db, settings, now):
    limit = now - timedelta(days=settings.auto_close_days)
    closed = 0
    for incident in list(db.incidents.find({"status": domain.RESOLVED, "resolved_at": {"$lte": limit}},
                                           projection={"_id": 1}, limit=500)):
        try:
            act(db, "auto_close", {"incident_id": incident["_id"],
                                   "note": f"no rating within {settings.auto_close_days} days"}, None, now)
            closed += 1
        except (Conflict, PyMongoError):
            log.warning("could not auto-close %s", incident["_id"], exc_info=True)
    return closed
