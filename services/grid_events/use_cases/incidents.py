"""Incident use cases: load, ask the domain, commit state + history + events in one transaction.

Reports are routed from grid_events' own read models of grids and staff (read_models.py, fed by
registry events); the registry is asked only about a grid or building not heard of yet, or when
no one here holds the handling post (the assignment may still be on its way).
"""

import logging
from datetime import timedelta

from pymongo.errors import PyMongoError

from services.grid_events import domain, store
from services.grid_events.use_cases.registry import asked
from shared import queries
from shared.errors import Busy, Conflict

log = logging.getLogger(__name__)


def load(db, incident_id):
    return queries.load(db.incidents, "incident_id", incident_id, "incident")


def load_visible(db, incident_id, grant, field="incident_id"):
    """The incident, if `grant` covers it (its grid, or its reporter); NotFound otherwise."""
    incident = queries.load(db.incidents, "incident_id", incident_id, "incident", name=field)
    domain.check_visible(grant, "incident", field, incident_id, grid=incident["grid_code"],
                         owners=[incident.get("reporter_resident_id")])
    return incident


def get(db, incident_id, grant):
    return load_visible(db, incident_id, grant)


def list_incidents(db, query, grant, now):
    """A page of incidents, narrowed to the caller's grid (a grid worker) or reports (a resident)."""
    query = {**query, "grid_code": domain.grid_scope(grant, query.get("grid_code"))}
    flt = store.incident_filter(query, now)
    if grant.rule == domain.OWN:
        flt["reporter_resident_id"] = grant.actor_id
    return queries.page(db.incidents, flt, query, [("reported_at", -1)])


def grid_stats(db, query, grant, now):
    """One grid's figures (a grid-scoped caller: their own grid); without a grid, every grid's
    incidents together."""
    grid = domain.grid_scope(grant, query.get("grid_code"))
    found = store.stats_of(db, {**query, "grid_code": grid})
    return {"grid_code": grid, **domain.grid_statistics(found, now)}


def all_grid_stats(db, query, now):
    """`grid_stats` of every grid with incidents, side by side: {grid_code: stats}."""
    by_grid = {}
    for incident in store.stats_of(db, query):
        by_grid.setdefault(incident["grid_code"], []).append(incident)
    return {code: domain.grid_statistics(found, now) for code, found in sorted(by_grid.items())}


# ---------------------------------------------------------------- routing


def route(db, registry, address, grid_code, cat):
    """(grid {"code","name"}, assignee staff id or None) for a report."""
    field = "address" if address else "grid_code"
    grid = store.grid_of_building(db, address["building"]) if address else store.grid(db, grid_code)
    if grid is None:  # not heard of yet: the registry knows (or refuses: unknown grid, no grid)
        if address:
            grid_code = asked(lambda: registry.grid_of_address(
                {"building": address["building"], "unit": address.get("unit"), "room": address.get("room")}
            ), field)["grid_code"]
            grid = store.grid(db, grid_code)
    assignee = domain.assignee(cat, store.staff_of_grid(db, grid["_id"])) if grid else None
    if grid is None or assignee is None:
        code = grid["_id"] if grid else grid_code
        known = asked(lambda: registry.get_grid(code), field)
        staff = [{"_id": s["staff_id"], "role": s["role"]} for s in known.get("staff") or ()]
        return {"code": known["code"], "name": known["name"]}, domain.assignee(cat, staff)
    return {"code": grid["_id"], "name": grid["name"]}, assignee


def police_desk(db, registry):
    """The community police desk's staff ids."""
    desk = store.holders(db, "police_desk")
    return desk or sorted(s["staff_id"] for s in asked(lambda: registry.list_staff({"role": "police_desk"})))


# ---------------------------------------------------------------- report


def report(db, registry, settings, data, grant, now, extra=None):
    domain.check_report(data, grant)
    incident = prepare(db, registry, settings, data, grant, now, extra)
    db.run_transaction(lambda tx: record(tx, incident))
    return incident


def prepare(db, registry, settings, data, grant, now, extra=None):
    """A new incident document, routed and checked for duplicates; nothing is written yet.
    A grid-scoped caller reports in their own grid only."""
    actor = grant.actor
    cat = domain.category(data["category"])
    grid, assignee = route(db, registry, data.get("address"), data.get("grid_code"), cat)
    domain.check_acts_in(grant, grid["code"], "address" if data.get("address") else "grid_code")
    police = police_desk(db, registry) if cat.police else []
    status = domain.DISPATCHED if assignee else domain.REPORTED
    incident_id = domain.new_id("INC", now)
    incident = {
        "_id": incident_id, "incident_id": incident_id,
        "grid_code": grid["code"], "grid_name": grid["name"],
        "category": cat.code, "priority": data.get("priority") or cat.priority,
        "description": data["description"], "address": data.get("address"),
        "location": data.get("location"), "photos": data.get("photos") or [],
        "source": data.get("source") or "resident", "reporter_resident_id": domain.reporter_of(data, grant),
        "status": status, "assignee_staff_id": assignee, "also_police": cat.police,
        "police_staff_ids": police,
        "reported_at": now, "state_since": now,
        "state_deadline": domain.state_deadline(cat, status, now),
        "due_at": domain.overall_deadline(cat, now),
        "respond_by": domain.respond_by(cat, now, dispatched=assignee is not None),
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
    since = incident["reported_at"] - timedelta(hours=settings.duplicate_window_hours)
    return store.recent_alike(db, incident["grid_code"], incident["category"], since)


def record(tx, incident):
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


def act(db, action, data, grant, now, **fields):
    """Apply lifecycle `action` to the incident `data["incident_id"]` (within the caller's grant);
    returns the new document."""
    actor = grant.actor

    def work(tx):
        incident = load_visible(tx, data["incident_id"], grant)
        note = data.get("note") or data.get("reason")
        changes, entry = domain.transition(incident, action, now, actor, note)
        changes.update(fields)
        tx.incidents.update_one({"_id": incident["_id"]}, {"$set": changes, "$push": {"history": entry}})
        after = {**incident, **changes, "history": incident["history"] + [entry]}
        _emit_for(tx, action, after, actor, data)
        return after

    return db.run_transaction(work)


def _emit_for(tx, action, incident, actor, data):
    fact = _fact(incident)
    if action == "dispatch":
        _emit_dispatched(tx, incident)
    elif action == "accept":
        tx.emit("grid_events.incident_accepted", {**fact, "staff_id": actor["id"]})
    elif action == "resolve":
        tx.emit("grid_events.incident_resolved", {
            **fact, "resolved_by": actor["id"], "resolution": data["resolution"],
            "reporter_resident_id": incident.get("reporter_resident_id")})
    elif action == "reopen":
        tx.emit("grid_events.incident_reopened", {**fact, "reason": data["reason"]})
    elif action == "rate":
        tx.emit("grid_events.incident_rated", {**fact, "rating": data["rating"]})
        tx.emit("grid_events.incident_closed", {**fact, "rating": data["rating"], "automatic": False})
    elif action in ("close", "auto_close"):
        tx.emit("grid_events.incident_closed", {**fact, "rating": incident.get("rating"),
                                                "automatic": action == "auto_close"})


def dispatch(db, data, grant, now):
    return act(db, "dispatch", data, grant, now, assignee_staff_id=data["assignee_staff_id"])


def merge(db, data, grant, now):
    """Staff confirm a duplicate: it closes as `duplicate`, merged into an open incident (both
    within the caller's grant)."""
    actor = grant.actor

    def work(tx):
        incident = load_visible(tx, data["incident_id"], grant)
        primary = load_visible(tx, data["into_incident_id"], grant, "into_incident_id")
        if primary["incident_id"] == data["incident_id"]:
            raise Conflict("an incident cannot be merged into itself",
                           {"into_incident_id": ["same incident"]})
        if primary["status"] in domain.FINAL:
            raise Conflict(f"cannot merge into an incident that is {primary['status']}",
                           {"into_incident_id": [primary["status"]]}, code="illegal_transition")
        changes, entry = domain.transition(incident, "merge", now, actor, data.get("note"))
        changes["merged_into"] = primary["incident_id"]
        tx.incidents.update_one({"_id": incident["_id"]}, {"$set": changes, "$push": {"history": entry}})
        tx.incidents.update_one({"_id": primary["_id"]},
                                {"$addToSet": {"duplicates": incident["incident_id"]}})
        return {**incident, **changes}

    return db.run_transaction(work)


# ---------------------------------------------------------------- extensions


def request_extension(db, data, grant, now):
    actor = grant.actor

    def work(tx):
        incident = load_visible(tx, data["incident_id"], grant)
        extension = domain.extension_request(incident, data["minutes"], data["reason"], actor["id"], now)
        entry = domain.history_entry("request_extension", incident["status"], incident["status"], now, actor,
                                     f"{data['minutes']} min: {data['reason']}")
        tx.incidents.update_one({"_id": incident["_id"]},
                                {"$push": {"extensions": extension, "history": entry}})
        return extension

    return db.run_transaction(work)


def grant_extension(db, data, grant, now):
    actor = grant.actor

    def work(tx):
        incident = load_visible(tx, data["incident_id"], grant)
        changes, decision = domain.extension_decision(incident, data["extension_id"], data["granted"],
                                                      data["reason"], actor["id"], now)
        entry = domain.history_entry(f"extension_{decision}", incident["status"], incident["status"], now,
                                     actor, data["reason"])
        tx.incidents.update_one({"_id": incident["_id"]}, {"$set": changes, "$push": {"history": entry}})
        return load(tx, incident["_id"])

    return db.run_transaction(work)


# ---------------------------------------------------------------- the timer's work


def escalate_overdue(db, settings, now):
    """Every overdue open incident climbs one rung (if its step has passed); returns how many."""
    climbed = 0
    for incident in store.overdue_candidates(db, now):
        try:
            climbed += _escalate(db, incident, settings, now)
        except (PyMongoError, Busy):  # a hiccup or a burst of conflicts: the next tick tries again
            log.exception("could not escalate %s", incident["_id"])
    return climbed


def _escalate(db, incident, settings, now):
    step = domain.escalation(incident, now, settings.escalation_step_minutes)
    if step is None:
        return 0
    staff = store.rung_holders(db, step["rung"], incident["grid_code"])
    entry = domain.history_entry("escalate", incident["status"], incident["status"], now, None,
                                 f"{step['overdue']} overdue: to {step['rung']}")
    climb = {"level": step["level"], "rung": step["rung"], "overdue": step["overdue"], "at": now,
             "staff_ids": staff}

    def work(tx):
        done = tx.incidents.update_one(
            {"_id": incident["_id"], "escalation_level": incident["escalation_level"]},
            {"$set": {"escalation_level": step["level"],
                      "next_escalation_at": step["next_escalation_at"]},
             "$push": {"escalations": climb, "history": entry}})
        if not done.modified_count:
            return 0  # another instance's timer climbed it first
        tx.emit("grid_events.incident_escalated", {
            **_fact(incident), "level": step["level"], "rung": step["rung"],
            "overdue": step["overdue"], "summary": incident["description"][:140],
            "staff_ids": staff})
        return 1

    return db.run_transaction(work)


def auto_close(db, settings, now):
    limit = now - timedelta(days=settings.auto_close_days)
    closed = 0
    for incident in store.resolved_before(db, limit):
        try:
            act(db, "auto_close", {"incident_id": incident["_id"],
                                   "note": f"no rating within {settings.auto_close_days} days"},
                domain.SERVICE, now)
            closed += 1
        except (Conflict, Busy, PyMongoError):
            log.warning("could not auto-close %s", incident["_id"], exc_info=True)
    return closed
