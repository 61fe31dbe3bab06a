"""Mediation (调解室), 24-hour patrols (巡逻) and CCTV alarms (视频监控告警)."""

from services.grid_events import domain
from services.grid_events.use_cases import incidents
from shared import queries
from shared.context import actor_id
from shared.errors import Conflict, InvalidInput


def _by(actor):
    return actor_id(actor, "system")


# ---------------------------------------------------------------- mediation


def open_mediation(db, data, actor, now):
    domain.check_staff(actor)
    if data.get("incident_id"):
        incident = incidents.load(db, data["incident_id"])
        if incident["category"] != "dispute":
            raise InvalidInput("mediation is for dispute incidents",
                               {"incident_id": [f"{incident['incident_id']} is {incident['category']}"]})
    mediation_id = domain.new_id("MED", now)
    mediation = {"_id": mediation_id, "mediation_id": mediation_id, "subject": data["subject"],
                 "incident_id": data.get("incident_id"), "parties": data["parties"],
                 "mediators": data["mediators"], "status": "open", "sessions": [], "agreement": None,
                 "opened_at": now, "opened_by": _by(actor)}

    def write(tx):
        tx.mediations.insert_one(dict(mediation))
        if mediation["incident_id"]:
            tx.incidents.update_one({"_id": mediation["incident_id"]},
                                    {"$set": {"mediation_id": mediation_id}})

    db.run_transaction(write)
    return mediation


def record_session(db, data, actor, now):
    domain.check_staff(actor)
    mediation = _load_while(db.mediations, "mediation_id", data["mediation_id"], "open",
                            lambda m: f"the mediation is {m['status']}")
    session = {"number": len(mediation["sessions"]) + 1, "held_at": now, "notes": data["notes"],
               "outcome": data["outcome"], "recorded_by": _by(actor)}
    status = {"continued": "open", "agreed": "agreed", "failed": "failed"}[data["outcome"]]
    changes = {"status": status}
    if status == "agreed":
        changes.update({"agreement": data["agreement"], "closed_at": now})
    elif status == "failed":
        changes["closed_at"] = now
    _guarded_update(db.run_transaction, "mediations", mediation["_id"], {"status": "open"},
                    {"$set": changes, "$push": {"sessions": session}}, "the mediation changed meanwhile")
    return {**mediation, **changes, "sessions": mediation["sessions"] + [session]}


# ---------------------------------------------------------------- patrols


def start_patrol(db, registry, data, actor, now):
    domain.check_staff(actor)
    registry.get_grid(data["grid_code"])  # the grid must exist
    patrol_id = domain.new_id("PAT", now)
    patrol = {"_id": patrol_id, "patrol_id": patrol_id, "grid_code": data["grid_code"],
              "shift": data["shift"],
              "team": data["team"], "route": data["route"], "status": "on_patrol", "started_at": now,
              "checkins": [], "incident_ids": [], "ended_at": None}
    db.run_transaction(lambda tx: tx.patrols.insert_one(dict(patrol)))
    return patrol


def patrol_checkin(db, registry, settings, data, actor, now):
    """A check-in along the route; a finding becomes an incident (source: patrol) at once."""
    domain.check_staff(actor)
    patrol = _load_while(db.patrols, "patrol_id", data["patrol_id"], "on_patrol",
                         lambda p: "the patrol has ended")
    if data["checkpoint"] not in patrol["route"]:
        raise InvalidInput("not a checkpoint of this route", {"checkpoint": [f"route is {patrol['route']}"]})
    incident = None
    if data.get("finding"):
        finding = data["finding"]
        incident = incidents.prepare(db, registry, settings, {
            **finding, "grid_code": None if finding.get("address") else patrol["grid_code"],
            "source": "patrol", "photos": []}, actor, now, extra={"patrol_id": patrol["patrol_id"]})
    checkin = {"checkpoint": data["checkpoint"], "at": now, "by": _by(actor), "note": data.get("note"),
               "incident_id": incident["incident_id"] if incident else None}
    push = {"checkins": checkin}
    if incident:
        push["incident_ids"] = incident["incident_id"]

    def write(tx):
        done = tx.patrols.update_one({"_id": patrol["_id"], "status": "on_patrol"}, {"$push": push})
        if not done.modified_count:
            raise Conflict("the patrol has ended", {"patrol_id": ["ended"]})
        if incident:
            incidents.record(tx, incident)

    db.run_transaction(write)
    return checkin


def end_patrol(db, data, actor, now):
    domain.check_staff(actor)
    patrol = _load_while(db.patrols, "patrol_id", data["patrol_id"], "on_patrol",
                         lambda p: "the patrol has already ended")
    checked = {c["checkpoint"] for c in patrol["checkins"]}
    changes = {"status": "ended", "ended_at": now, "note": data.get("note"),
               "missed_checkpoints": [p for p in patrol["route"] if p not in checked]}
    _guarded_update(db.run_transaction, "patrols", patrol["_id"], {"status": "on_patrol"}, {"$set": changes},
                    "the patrol has already ended")
    return {**patrol, **changes}


# ---------------------------------------------------------------- CCTV


def register_camera(db, data, actor):
    domain.check_staff(actor)
    db.run_transaction(lambda tx: tx.cameras.update_one({"_id": data["camera_id"]}, {"$set": {
        "grid_code": data["grid_code"], "building": data.get("building"),
        "location": data.get("location")}}, upsert=True))
    return {"camera_id": data["camera_id"], **{k: data.get(k) for k in ("grid_code", "building", "location")}}


def cctv_alarm(db, registry, settings, data, now):
    """An alarm from a camera: folded into that camera's open incident if the previous alarm was
    within the fold window, otherwise a new incident with source cctv."""
    camera = queries.load(db.cameras, "_id", data["camera_id"], "camera", name="camera_id")
    alarm = {"at": now, "category": data["category"], "description": data["description"]}
    current = db.incidents.find_one({"camera_id": camera["_id"], "status": {"$in": list(domain.OPEN)}},
                                    sort=[("last_alarm_at", -1)])
    if current and domain.fold_alarm(current.get("last_alarm_at"), now, settings.cctv_fold_minutes):
        db.run_transaction(lambda tx: tx.incidents.update_one(
            {"_id": current["_id"]}, {"$inc": {"alarm_count": 1}, "$set": {"last_alarm_at": now},
                                      "$push": {"alarms": alarm}}))
        return {"incident_id": current["incident_id"], "folded": True,
                "alarm_count": current["alarm_count"] + 1}
    address = {"building": camera["building"], "unit": None, "room": None} if camera.get("building") else None
    incident = incidents.prepare(db, registry, settings, {
        "category": data["category"], "description": f"[{camera['_id']}] {data['description']}",
        "address": None, "grid_code": camera["grid_code"], "location": camera.get("location"),
        "source": "cctv", "photos": []}, None, now,
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
        "photos": []}, None, now, extra={"market_violation_id": payload["violation_id"]})
    return incident["incident_id"]


def _guarded_update(run_transaction, collection, doc_id, expected, update, refusal):
    """Update the document only while it is still as `expected` (e.g. still open)."""

    def write(tx):
        if not getattr(tx, collection).update_one({"_id": doc_id, **expected}, update).modified_count:
            raise Conflict(refusal, {"status": ["changed"]}, code="illegal_transition")

    run_transaction(write)


def _load_while(collection, field, value, status, refusal):
    """The document, if it is still in `status`; else an illegal transition (`refusal(doc)` says why)."""
    doc = queries.load(collection, field, value, field.removesuffix("_id"))
    if doc["status"] != status:
        raise Conflict(refusal(doc), {"status": [doc["status"]]}, code="illegal_transition")
    return doc
