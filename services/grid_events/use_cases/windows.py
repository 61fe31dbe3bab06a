"""The one-stop centre's 13 service windows (一站式服务窗口) and the no-veto rule (不说不).

A request is received for a resident: by the office, by a grid worker (the request then belongs
to their grid) or by the resident themself. Every change re-reads the request in its transaction,
so two clerks acting at once are decided one after the other, never answered with a crash."""

from services.grid_events import domain
from shared import queries
from shared.errors import Conflict


def load(db, request_id):
    return queries.load(db.window_requests, "request_id", request_id, "window request")


def load_visible(db, request_id, grant):
    request = load(db, request_id)
    domain.check_visible(grant, "window request", "request_id", request_id, grid=request.get("grid_code"),
                         owners=[request.get("resident_id")])
    return request


def submit(db, data, grant, now):
    request_id = domain.new_id("WR", now)
    resident = grant.actor_id if grant.role == domain.RESIDENT else data.get("resident_id")
    request = {"_id": request_id, "request_id": request_id, "window": data["window"],
               "subject": data["subject"], "details": data["details"], "resident_id": resident,
               "grid_code": grant.grid if grant.rule == domain.OWN_GRID else None,
               "status": domain.WINDOW_OPEN, "submitted_at": now, "submitted_by": grant.actor_id,
               "transfers": [], "escalations": [],
               "history": [{"action": "receive", "window": data["window"], "at": now, "by": grant.actor_id}]}
    db.run_transaction(lambda tx: tx.window_requests.insert_one(dict(request)))
    return request


def _change(db, request_id, decide):
    """Re-read the request in the transaction, let `decide(request)` say what changes
    ((changes, push, event or None)), apply it; the request as it is afterwards."""

    def write(tx):
        request = load(tx, request_id)
        changes, push, event = decide(request)
        tx.window_requests.update_one({"_id": request["_id"]}, {"$set": changes, "$push": push})
        if event:
            tx.emit(*event)
        return load(tx, request_id)

    return db.run_transaction(write)


def transfer(db, data, grant, now):
    def decide(request):
        changes = domain.window_transfer(request, data["to"])
        record = {"from": request["window"], "to": data["to"], "reason": data["reason"], "at": now,
                  "by": grant.actor_id}
        event = ("grid_events.window_request_transferred", {
            "request_id": request["request_id"], "from_window": request["window"], "to": data["to"],
            "reason": data["reason"], "resident_id": request.get("resident_id")})
        return changes, {"transfers": record, "history": {**record, "action": "transfer"}}, event

    return _change(db, data["request_id"], decide)


def escalate(db, data, grant, now):
    def decide(request):
        if request["status"] != domain.WINDOW_OPEN:
            raise Conflict(f"request is {request['status']}",
                           {"status": ["only an open request is escalated"]}, code="illegal_transition")
        record = {"window": request["window"], "to": "community_office", "reason": data["reason"],
                  "at": now, "by": grant.actor_id}
        return ({"status": domain.WINDOW_ESCALATED},
                {"escalations": record, "history": {**record, "action": "escalate"}}, None)

    return _change(db, data["request_id"], decide)


def complete(db, data, grant, now):
    def decide(request):
        outcome = domain.window_completion(request, data["outcome"])
        record = {"action": outcome, "window": request["window"], "note": data["note"], "at": now,
                  "by": grant.actor_id}
        return {"status": outcome, "closed_at": now, "outcome_note": data["note"]}, {"history": record}, None

    return _change(db, data["request_id"], decide)
