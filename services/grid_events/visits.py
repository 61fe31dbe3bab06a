"""The three must-visits (三必访) for party members, from registry events and the year's end.

grid_events keeps its own read models, learnt from registry events: `party_members` (who is a
party member, in which grid, still living here) and `staff` (who holds which post).
"""

from datetime import date

from pymongo.errors import DuplicateKeyError

from services.grid_events import domain
from shared.errors import Conflict, Forbidden, NotFound


def _task(kind, resident_id, grid_code, due_on, occasion, assignee, now, reason=None):
    task_id = domain.new_id("VT", now)
    return {"_id": task_id, "task_id": task_id, "kind": kind, "resident_id": resident_id,
            "grid_code": grid_code, "due_on": due_on.isoformat(), "status": "open",
            "assignee_staff_id": assignee, "reason": reason, "occasion_key": occasion,
            "overdue": False, "created_at": now}


def _created(task):
    return {k: task[k] for k in ("task_id", "kind", "resident_id", "grid_code", "assignee_staff_id")} | {
        "due_on": date.fromisoformat(task["due_on"])}


def grid_worker(db, grid_code):
    staff = db.staff.find_one({"role": "grid_worker", "grid_code": grid_code}, sort=[("assigned_at", -1)])
    return staff["_id"] if staff else None


def _open_task(tx, task):
    tx.visit_tasks.insert_one(task)
    tx.emit("grid_events.visit_task_created", _created(task))


def party_member_registered(db, event, settings):
    p = event.payload
    on = domain.local_date(event.occurred_at)
    task = _task(domain.MOVE_IN, p["resident_id"], p["grid_code"],
                 domain.visit_due_on(domain.MOVE_IN, on, settings),
                 f"{p['resident_id']}:{domain.MOVE_IN}:{event.event_id}", grid_worker(db, p["grid_code"]),
                 event.occurred_at, reason="moved into the community")
    with db.transaction() as tx:
        tx.party_members.update_one({"_id": p["resident_id"]}, {"$set": {
            "grid_code": p["grid_code"], "branch_code": p["branch_code"],
            "joined_on": p["joined_on"].isoformat(), "active": True,
            "registered_at": event.occurred_at}}, upsert=True)
        _open_task(tx, task)


def party_member_in_difficulty(db, event, settings):
    p = event.payload
    on = domain.local_date(event.occurred_at)
    task = _task(domain.DIFFICULTY, p["resident_id"], p["grid_code"],
                 domain.visit_due_on(domain.DIFFICULTY, on, settings),
                 f"{p['resident_id']}:{domain.DIFFICULTY}:{event.event_id}", grid_worker(db, p["grid_code"]),
                 event.occurred_at, reason=p["reason"])
    with db.transaction() as tx:
        tx.party_members.update_one({"_id": p["resident_id"]},
                                    {"$set": {"in_difficulty": p["reason"]},
                                     "$setOnInsert": {"grid_code": p["grid_code"], "active": True}},
                                    upsert=True)
        _open_task(tx, task)


def resident_moved_out(db, event, now):
    """A resident who moved out: their open visit tasks are cancelled; no more year-end visits."""
    p = event.payload
    with db.transaction() as tx:
        tx.party_members.update_one({"_id": p["resident_id"]}, {"$set": {
            "active": False, "moved_out_on": p["moved_out_on"].isoformat()}})
        tx.visit_tasks.update_many({"resident_id": p["resident_id"], "status": "open"},
                                   {"$set": {"status": "cancelled", "cancelled_at": now,
                                             "cancel_reason": "moved out"}})


def staff_assigned(db, event):
    p = event.payload
    with db.transaction() as tx:
        tx.staff.update_one({"_id": p["staff_id"]}, {"$set": {
            "role": p["role"], "grid_code": p["grid_code"], "name": p["name"],
            "assigned_at": event.occurred_at}}, upsert=True)


def create_year_end(db, year, now):
    """A year-end visit task for every party member still living here; returns how many were new."""
    due = date(year, 12, 31)
    members = list(db.party_members.find({"active": True}))
    keys = {m["_id"]: f"{m['_id']}:{domain.YEAR_END}:{year}" for m in members}
    existing = {t["occasion_key"] for t in db.visit_tasks.find({"occasion_key": {"$in": list(keys.values())}},
                                                               projection={"occasion_key": 1})}
    created = 0
    for member in members:
        if keys[member["_id"]] in existing:
            continue
        task = _task(domain.YEAR_END, member["_id"], member["grid_code"], due, keys[member["_id"]],
                     grid_worker(db, member["grid_code"]), now, reason=f"year-end visit {year}")
        try:
            with db.transaction() as tx:
                _open_task(tx, task)
            created += 1
        except DuplicateKeyError:
            continue  # another timer run made it
    return created


def flag_overdue(db, now):
    today = domain.local_date(now)
    flagged = 0
    for task in list(db.visit_tasks.find({"status": "open", "overdue": False,
                                          "due_on": {"$lt": today.isoformat()}}, limit=1000)):
        with db.transaction() as tx:
            done = tx.visit_tasks.update_one({"_id": task["_id"], "overdue": False},
                                             {"$set": {"overdue": True, "overdue_at": now}})
            if done.modified_count:
                tx.emit("grid_events.visit_overdue", _created(task))
                flagged += 1
    return flagged


def record_visit(db, data, actor, now):
    if actor and actor.get("role") == "resident":
        raise Forbidden("only staff record visits", {"role": ["resident"]})
    task = db.visit_tasks.find_one({"_id": data["task_id"]})
    if task is None:
        raise NotFound("no such visit task", {"task_id": [data["task_id"]]})
    if task["status"] != "open":
        raise Conflict(f"the visit task is {task['status']}", {"status": [task["status"]]},
                       code="illegal_transition")
    visited_on = (data.get("visited_on") or domain.local_date(now)).isoformat()
    staff = data.get("staff_id") or (actor or {}).get("id") or "system"
    log = {"task_id": task["task_id"], "resident_id": task["resident_id"], "kind": task["kind"],
           "visited_on": visited_on, "staff_id": staff, "notes": data["notes"], "recorded_at": now}
    with db.transaction() as tx:
        done = tx.visit_tasks.update_one({"_id": task["_id"], "status": "open"}, {"$set": {
            "status": "done", "visited_on": visited_on, "visited_by": staff, "done_at": now}})
        if not done.modified_count:
            raise Conflict("the visit task changed meanwhile", {"status": ["changed"]})
        tx.visit_logs.insert_one(log)
    return {**task, "status": "done", "visited_on": visited_on, "visited_by": staff, "log": log}
