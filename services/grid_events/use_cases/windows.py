"""The one-stop centre's 13 service windows (一站式服务窗口) and the no-veto rule (不说不)."""

from services.grid_events import domain
from shared import queries
from shared.context import actor_id
from shared.errors import Conflict


def _by(actor):
    return actor_id(actor, "system")


def load(db, request_id):
    return queries.load(db.window_requests, "request_id", request_id, "window request")


def submit(db, data, actor, now):
    request_id = domain.new_id("WR", now)
    resident = data.get("resident_id")
    if actor and actor.get("role") == "resident":
        resident = actor_id(actor)
    request = {"_id": request_id, "request_id": request_id, "window": data["window"],
               "subject": data["subject"], "details": data["details"], "resident_id": resident,
               "status": domain.WINDOW_OPEN, "submitted_at": now, "transfers": [], "escalations": [],
               "history": [{"action": "receive", "window": data["window"], "at": now, "by": _by(actor)}]}
    db.run_transaction(lambda tx: tx.window_requests.insert_one(dict(request)))
    return request


def _update(db, request, changes, push, emit=None):
    def write(tx):
        done = tx.window_requests.update_one({"_id": request["_id"], "status": request["status"],
                                              "window": request["window"]},
                                             {"$set": changes, "$push": push})
        if not done.modified_count:
            raise Conflict("the request changed meanwhile; reload and retry", {"status": ["changed"]})
        if emit:
            tx.emit(*emit)
        return load(tx, request["_id"])

    return db.run_transaction(write)


def transfer(db, data, actor, now):
    request = load(db, data["request_id"])
    changes = domain.window_transfer(request, data["to"])
    record = {"from": request["window"], "to": data["to"], "reason": data["reason"], "at": now,
              "by": _by(actor)}
    event = ("grid_events.window_request_transferred", {
        "request_id": request["request_id"], "from_window": request["window"], "to": data["to"],
        "reason": data["reason"], "resident_id": request.get("resident_id")})
    return _update(db, request, changes, {"transfers": record, "history": {**record, "action": "transfer"}},
                   event)


def escalate(db, data, actor, now):
    request = load(db, data["request_id"])
    if request["status"] != domain.WINDOW_OPEN:
        raise Conflict(f"request is {request['status']}", {"status": ["only an open request is escalated"]},
                       code="illegal_transition")
    record = {"window": request["window"], "to": "community_office", "reason": data["reason"], "at": now,
              "by": _by(actor)}
    return _update(db, request, {"status": domain.WINDOW_ESCALATED},
                   {"escalations": record, "history": {**record, "action": "escalate"}})


def complete(db, data, actor, now):
    request = load(db, data["request_id"])
    outcome = domain.window_completion(request, data["outcome"])
    record = {"action": outcome, "window": request["window"], "note": data["note"], "at": now,
              "by": _by(actor)}
    return _update(db, request, {"status": outcome, "closed_at": now, "outcome_note": data["note"]},
                   {"history": record})
