"""Mediation (调解室), 24-hour patrols (巡逻) and CCTV alarms (视频监控告警).

Mediations and patrols belong to a grid (a mediation of the whole community to none): a grid
worker opens, records and checks in on their own grid's only. Every change re-reads its record in
its transaction, so concurrent sessions and check-ins are decided one after the other (sessions
numbered 1, 2, 3 ..., every check-in kept), never lost and never a crash."""

from services.grid_events import domain, store
from services.grid_events.use_cases import incidents
from services.grid_events.use_cases.registry import asked
from shared import queries
from shared.errors import Conflict, InvalidInput

# ---------------------------------------------------------------- mediation


def open_mediation(db, data, grant, now):
    incident = None
    if data.get("incident_id"):
        incident = incidents.load_visible(db, data["incident_id"], grant)
        if incident["category"] != "dispute":
            raise InvalidInput("mediation is for dispute incidents",
                               {"incident_id": [f"{incident['incident_id']} is {incident['category']}"]})
    grid = domain.mediation_grid(grant, incident, data.get("grid_code"))
    mediation_id = domain.new_id("MED", now)
    mediation = {"_id": mediation_id, "mediation_id": mediation_id, "subject": data["subject"],
                 "incident_id": data.get("incident_id"), "grid_code": grid, "parties": data["parties"],
                 "mediators": data["mediators"], "status": "open", "sessions": [], "agreement": None,
                 "opened_at": now, "opened_by": grant.actor_id}

    def write(tx):
        tx.mediations.insert_one(dict(mediation))
        if mediation["incident_id"]:
            tx.incidents.update_one({"_id": mediation["incident_id"]},
                                    {"$set": {"mediation_id": mediation_id}})

    db.run_transaction(write)
    return mediation


def record_session(db, data, grant, now):
    outcome = data["outcome"]
    status = {"continued": "open", "agreed": "agreed", "failed": "failed"}[outcome]

    def write(tx):
        mediation = _load_while(tx.mediations, "mediation_id", data["mediation_id"], "mediation", grant,
                                "open", lambda m: f"the mediation is {m['status']}")
        session = {"number": len(mediation["sessions"]) + 1, "held_at": now, "notes": data["notes"],
                   "outcome": outcome, "recorded_by": grant.actor_id}
        changes = {"status": status}
        if status == "agreed":
            changes.update({"agreement": data["agreement"], "closed_at": now})
        elif status == "failed":
            changes["closed_at"] = now
        tx.mediations.update_one({"_id": mediation["_id"]}, {"$set": changes, "$push": {"sessions": session}})
        return {**mediation, **changes, "sessions": mediation["sessions"] + [session]}

    return db.run_transaction(write)


# ---------------------------------------------------------------- patrols


def start_patrol(db, registry, data, grant, now):
    domain.check_acts_in(grant, data["grid_code"])
    if store.grid(db, data["grid_code"]) is None:  # not heard of yet: the registry knows
        asked(lambda: registry.get_grid(data["grid_code"]), "grid_code")
    patrol_id = domain.new_id("PAT", now)
    patrol = {"_id": patrol_id, "patrol_id": patrol_id, "grid_code": data["grid_code"],
              "shift": data["shift"], "team": data["team"], "route": data["route"], "status": "on_patrol",
              "started_at": now, "started_by": grant.actor_id, "checkins": [], "incident_ids": [],
              "ended_at": None}
    db.run_transaction(lambda tx: tx.patrols.insert_one(dict(patrol)))
    return patrol


def patrol_checkin(db, registry, settings, data, grant, now):
    """A check-in along the route; a finding becomes an incident (source: patrol) at once."""
    patrol = _load_patrol(db, data["patrol_id"], grant)
    if data["checkpoint"] not in patrol["route"]:
        raise InvalidInput("not a checkpoint of this route", {"checkpoint": [f"route is {patrol['route']}"]})
    incident = None
    if data.get("finding"):
        finding = data["finding"]
        incident = incidents.prepare(db, registry, settings, {
            **finding, "grid_code": None if finding.get("address") else patrol["grid_code"],
            "source": "patrol", "photos": []}, grant, now, extra={"patrol_id": patrol["patrol_id"]})
    checkin = {"checkpoint": data["checkpoint"], "at": now, "by": grant.actor_id, "note": data.get("note"),
               "incident_id": incident["incident_id"] if incident else None}
    push = {"checkins": checkin}
    if incident:
        push["incident_ids"] = incident["incident_id"]

    def write(tx):
        _load_patrol(tx, data["patrol_id"], grant)  # still on patrol, decided in this transaction
        tx.patrols.update_one({"_id": patrol["_id"]}, {"$push": push})
        if incident:
            incidents.record(tx, incident)

    db.run_transaction(write)
    return checkin


def end_patrol(db, data, grant, now):
    def write(tx):
        patrol = _load_patrol(tx, data["patrol_id"], grant, "the patrol has already ended")
        checked = {c["checkpoint"] for c in patrol["checkins"]}
        changes = {"status": "ended", "ended_at": now, "note": data.get("note"),
                   "missed_checkpoints": [p for p in patrol["route"] if p not in checked]}
        tx.patrols.update_one({"_id": patrol["_id"]}, {"$set": changes})
        return {**patrol, **changes}

    return db.run_transaction(write)


def _load_patrol(db, patrol_id, grant, refusal="the patrol has ended"):
    return _load_while(db.patrols, "patrol_id", patrol_id, "patrol", grant, "on_patrol", lambda p: refusal)


# ---------------------------------------------------------------- CCTV


def register_camera(db, data):
    placed = {k: data.get(k) for k in ("grid_code", "building", "location")}
    db.run_transaction(lambda tx: tx.cameras.update_one({"_id": data["camera_id"]}, {"$set": placed},
                                                        upsert=True))
    return {"camera_id": data["camera_id"], **placed}


def cctv_alarm(db, registry, settings, data, now):
    """An alarm from a camera: folded into that camera's open incident if the previous alarm was
    within the fold window, otherwise a new incident with source cctv."""
    camera = queries.load(db.cameras, "_id", data["camera_id"], "camera", name="camera_id")
    alarm = {"at": now, "category": data["category"], "description": data["description"]}

    def fold(tx):
        current = tx.incidents.find_one({"camera_id": camera["_id"], "status": {"$in": list(domain.OPEN)}},
                                        sort=[("last_alarm_at", -1)])
        if not current or not domain.fold_alarm(current.get("last_alarm_at"), now,
                                                settings.cctv_fold_minutes):
            return None
        tx.incidents.update_one({"_id": current["_id"]}, {"$inc": {"alarm_count": 1},
                                                          "$set": {"last_alarm_at": now},
                                                          "$push": {"alarms": alarm}})
        return {"incident_id": current["incident_id"], "folded": True,
                "alarm_count": current["alarm_count"] + 1}

    folded = db.run_transaction(fold)
    if folded:
        return folded
    address = {"building": camera["building"], "unit": None, "room": None} if camera.get("building") else None
    incident = incidents.prepare(db, registry, settings, {
        "category": data["category"], "description": f"[{camera['_id']}] {data['description']}",
        "address": None, "grid_code": camera["grid_code"], "location": camera.get("location"),
        "source": "cctv", "photos": []}, domain.SERVICE, now,
        extra={"camera_id": camera["_id"], "alarm_count": 1, "last_alarm_at": now, "alarms": [alarm]})
    incident["address"] = address
    db.run_transaction(lambda tx: incidents.record(tx, incident))
    return {"incident_id": incident["incident_id"], "folded": False, "alarm_count": 1}


# A public-order violation at the night market is also a grid incident; which category it is.
MARKET_CATEGORIES = {"fighting": "public_order", "blocked_fire_lane": "fire_safety",
                     "open_flame_without_permit": "fire_safety"}


def market_violation(db, registry, settings, payload, now):
    """`market.violation_recorded` with the public-order flag: an incident in the grid containing
    the market zone (the market names it), source market. Others are the market's own business.
    Its transaction also claims the event: a second delivery opens nothing."""
    if not payload["public_order"]:
        return None
    incident = incidents.report(db, registry, settings, {
        "category": MARKET_CATEGORIES.get(payload["violation_type"], "market_disorder"),
        "description": f"[夜市 {payload['stall_id']}] {payload['description']}",
        "address": None, "grid_code": payload["grid_code"], "location": None, "source": "market",
        "photos": []}, domain.SERVICE, now, extra={"market_violation_id": payload["violation_id"]})
    return incident["incident_id"]


def _load_while(collection, field, value, what, grant, status, refusal):
    """The document, if the caller's grant covers its grid and it is still in `status`; else
    NotFound, or an illegal transition (`refusal(doc)` says why)."""
    doc = queries.load(collection, field, value, what)
    domain.check_visible(grant, what, field, value, grid=doc.get("grid_code"))
    if doc["status"] != status:
        raise Conflict(refusal(doc), {"status": [doc["status"]]}, code="illegal_transition")
    return doc
