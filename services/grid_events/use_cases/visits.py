"""The three must-visits (三必访) for party members, from registry events and the year's end.

grid_events keeps its own read model of party members, learnt from registry events (who is a
party member, in which grid, still living here); tasks go to the grid's worker (store.grid_worker).
"""

from datetime import date

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from services.grid_events import domain, store
from shared import queries
from shared.errors import Conflict


def _task(kind, resident_id, grid_code, due_on, occasion, assignee, now, reason=None):
    task_id = domain.new_id("VT", now)
    return {"_id": task_id, "task_id": task_id, "kind": kind, "resident_id": resident_id,
            "grid_code": grid_code, "due_on": due_on.isoformat(), "status": "open",
            "assignee_staff_id": assignee, "reason": reason, "occasion_key": occasion,
            "overdue": False, "created_at": now}


def _created(task):
    return {k: task[k] for k in ("task_id", "kind", "resident_id", "grid_code", "assignee_staff_id")} | {
        "due_on": date.fromisoformat(task["due_on"])}


def _open_task(tx, task):
    tx.visit_tasks.insert_one(task)
    tx.emit("grid_events.visit_task_created", _created(task))


def _must_visit_task(db, event, kind, settings, reason, worker=None):
    p = event.payload
    due_on = domain.visit_due_on(kind, domain.local_date(event.occurred_at), settings)
    occasion = f"{p['resident_id']}:{kind}:{event.event_id}"
    assignee = worker(p["grid_code"]) if worker else store.grid_worker(db, p["grid_code"])
    return _task(kind, p["resident_id"], p["grid_code"], due_on, occasion, assignee,
                 event.occurred_at, reason=reason)


def _must_visit(db, event, kind, settings, reason, member_update):
    """Open the `kind` must-visit the event calls for, with what it teaches about the member."""
    task = _must_visit_task(db, event, kind, settings, reason)

    def write(tx):
        tx.party_members.update_one({"_id": event.payload["resident_id"]}, member_update, upsert=True)
        _open_task(tx, task)

    db.run_transaction(write)


def _moved_in(event):
    p = event.payload
    return {"$set": {"grid_code": p["grid_code"], "branch_code": p["branch_code"],
                     "joined_on": p["joined_on"].isoformat(), "active": True,
                     "registered_at": event.occurred_at}}


def party_members_registered(db, events, settings):
    """New party members (a bulk import brings hundreds): each one's move-in visit, the batch in
    one transaction and bulk writes, each task's event caused by its member's registration."""
    workers = {}

    def worker(grid_code):  # looked up once a grid, not once a member
        if grid_code not in workers:
            workers[grid_code] = store.grid_worker(db, grid_code)
        return workers[grid_code]

    tasks = [(_must_visit_task(db, e, domain.MOVE_IN, settings, "moved into the community", worker), e)
             for e in events]

    def write(tx):
        tx.party_members.bulk_write([UpdateOne({"_id": e.payload["resident_id"]}, _moved_in(e), upsert=True)
                                     for e in events], ordered=False)
        tx.visit_tasks.insert_many([task for task, _ in tasks])
        for task, event in tasks:
            tx.emit("grid_events.visit_task_created", _created(task), cause=event)

    db.run_transaction(write)


def party_member_in_difficulty(db, event, settings):
    p = event.payload
    _must_visit(db, event, domain.DIFFICULTY, settings, p["reason"], {
        "$set": {"in_difficulty": p["reason"]},
        "$setOnInsert": {"grid_code": p["grid_code"], "active": True}})


def resident_moved_out(db, event, now):
    """A resident who moved out: their open visit tasks are cancelled; no more year-end visits."""
    p = event.payload

    def write(tx):
        tx.party_members.update_one({"_id": p["resident_id"]}, {"$set": {
            "active": False, "moved_out_on": p["moved_out_on"].isoformat()}})
        tx.visit_tasks.update_many({"resident_id": p["resident_id"], "status": "open"},
                                   {"$set": {"status": "cancelled", "cancelled_at": now,
                                             "cancel_reason": "moved out"}})

    db.run_transaction(write)


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
                     store.grid_worker(db, member["grid_code"]), now, reason=f"year-end visit {year}")
        try:
            db.run_transaction(lambda tx, task=task: _open_task(tx, task))
            created += 1
        except DuplicateKeyError:
            continue  # another timer run made it
    return created


def flag_overdue(db, now):
    today = domain.local_date(now)
    flagged = 0
    for task in list(db.visit_tasks.find({"status": "open", "overdue": False,
                                          "due_on": {"$lt": today.isoformat()}}, limit=1000)):
        flagged += db.run_transaction(lambda tx, task=task: _flag_overdue(tx, task, now))
    return flagged


def _flag_overdue(tx, task, now):
    done = tx.visit_tasks.update_one({"_id": task["_id"], "overdue": False},
                                     {"$set": {"overdue": True, "overdue_at": now}})
    if done.modified_count:
        tx.emit("grid_events.visit_overdue", _created(task))
    return done.modified_count


def list_tasks(db, query, grant):
    """A page of visit tasks, narrowed to a grid-scoped caller's grid."""
    query = {**query, "grid_code": domain.grid_scope(grant, query.get("grid_code"))}
    return queries.page(db.visit_tasks, store.visit_task_filter(query), query,
                        [("due_on", 1), ("task_id", 1)])


def visit_logs(db, query, grant):
    return store.visit_logs(db, query, grant.query(grid_field="grid_code"))


def record_visit(db, data, grant, now):
    visited_on = (data.get("visited_on") or domain.local_date(now)).isoformat()
    staff = data.get("staff_id") or grant.actor_id

    def work(tx):
        task = queries.load(tx.visit_tasks, "task_id", data["task_id"], "visit task")
        domain.check_visible(grant, "visit task", "task_id", data["task_id"], grid=task["grid_code"])
        if task["status"] != "open":
            raise Conflict(f"the visit task is {task['status']}", {"status": [task["status"]]},
                           code="illegal_transition")
        log = {"task_id": task["task_id"], "resident_id": task["resident_id"],
               "grid_code": task["grid_code"], "kind": task["kind"], "visited_on": visited_on,
               "staff_id": staff, "notes": data["notes"], "recorded_at": now}
        tx.visit_tasks.update_one({"_id": task["_id"]}, {"$set": {
            "status": "done", "visited_on": visited_on, "visited_by": staff, "done_at": now}})
        tx.visit_logs.insert_one(dict(log))
        return {**task, "status": "done", "visited_on": visited_on, "visited_by": staff, "log": log}

    return db.run_transaction(work)
