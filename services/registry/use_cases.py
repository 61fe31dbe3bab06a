"""The registry's use cases: load what the rule needs, ask the domain, write state + events in one
transaction; and the reads that take more than one query. Registrations are written batch-first:
a single registration is a batch of one, so bulk imports (the demo community) get exactly the
same validation (`shared.errors.check_each`).

Each function takes `db` (the service's `Database`), `today` (community local date), `now` and
`grant` (the caller's `shared.access.Grant`: the grid or records it covers) or `actor`; refusals
raise before the transaction, so a refused command writes nothing. Writes go
through the kit's `db.run_transaction(write)`, which runs `write(tx)` again if it loses a write
conflict to a concurrent command (only the writes re-run; validation happened before).
"""

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from services.registry import domain, store
from shared import personal, queries
from shared.context import actor_id
from shared.errors import Conflict, InvalidInput, check_each, invalid, not_found
from shared.mongo import IN_CHUNK, find_in


def _named_resident(residents, item):
    """The resident a batch item names, from `residents` (loaded for the whole batch)."""
    resident = residents.get(item["resident_id"])
    if resident is None:
        raise invalid("resident_id", f"unknown resident {item['resident_id']!r}")
    return resident


# --- grids ----------------------------------------------------------------------------------

def define_grid(db, grid):
    owners = store.grid_owners(db, grid["buildings"])
    domain.check_grid_definition(grid["code"], grid["buildings"], owners)

    def write(tx):
        fact = {"code": grid["code"], "name": grid["name"], "buildings": grid["buildings"]}
        before = tx.grids.find_one_and_update({"code": grid["code"]}, {"$set": fact}, upsert=True)
        if before is None or any(before.get(k) != v for k, v in fact.items()):
            tx.emit("registry.grid_defined", fact)  # grid_events routes reports from these
    db.run_transaction(write)
    return grid


# --- households -----------------------------------------------------------------------------

def register_households(db, items, grant):
    grids = store.grids_of_buildings(db, [i["building"] for i in items])
    landlord_ids = {i["landlord_household_id"] for i in items if i.get("landlord_household_id")}
    landlords = {h["household_id"]: h for h in find_in(db.households, "household_id", landlord_ids)}

    def check(index, item):
        grid = domain.grid_for_building(item["building"], grids.get(item["building"]))
        domain.check_grid_write(grant, grid["code"], "building", item["building"])
        landlord_id = item.get("landlord_household_id")
        if landlord_id and landlord_id not in landlords:
            raise invalid("landlord_household_id", f"unknown household {landlord_id!r}")
        domain.check_household(item["kind"], landlords.get(landlord_id))

    check_each(items, check, "households refused")

    by_grid = {}
    for item in items:
        by_grid.setdefault(grids[item["building"]]["code"], []).append(item)
    ids = {}
    for grid_code, group in by_grid.items():
        first = store.allocate(db, f"household:{grid_code}", len(group))
        for item, household_id in zip(group, store.household_ids(grid_code, first, len(group)), strict=True):
            ids[id(item)] = household_id
    docs = [{"household_id": ids[id(item)], "grid_code": grids[item["building"]]["code"],
             "building": item["building"], "unit": item.get("unit"), "room": item["room"],
             "kind": item["kind"], "landlord_household_id": item.get("landlord_household_id"),
             "head_resident_id": None}
            for item in items]

    def write(tx):
        tx.households.insert_many([dict(d) for d in docs])
        tx.emit_many("registry.household_registered",
                     [{k: d[k] for k in ("household_id", "grid_code", "building", "unit", "room", "kind",
                                         "landlord_household_id")} for d in docs])
    db.run_transaction(write)
    return docs


# --- residents ------------------------------------------------------------------------------

def _resident_doc(item, today, now):
    id_number, birth_date, sex = personal.parse_id_number(item["id_number"], today)
    phone = personal.normalise_phone(item.get("phone"))
    tags = domain.check_tags(item.get("tags") or [])
    registered_on, expires_on = domain.residence_dates(item["residence_type"], item.get("registered_on"),
                                                       item.get("expires_on"), today)
    return {"name": item["name"].strip(), "id_number": id_number,
            "birth_date": domain.as_datetime(birth_date),
            "sex": sex, "phone": phone, "email": item.get("email"), "language": item.get("language", "zh-CN"),
            "household_id": item["household_id"], "residence_type": item["residence_type"],
            "registered_on": domain.as_datetime(registered_on), "expires_on": domain.as_datetime(expires_on),
            "status": domain.ACTIVE, "tags": tags, "head_of_household": bool(item.get("head_of_household")),
            "created_at": now}


def register_residents(db, items, grant, today, now):
    named = {i["household_id"] for i in items}
    households = {h["household_id"]: h
                  for h in find_in(db.households, "household_id", named, {"household_id": 1, "grid_code": 1})}
    seen = {}

    def check(index, item):
        doc = _resident_doc(item, today, now)
        household = households.get(doc["household_id"])
        if household is None:
            raise invalid("household_id", f"unknown household {doc['household_id']!r}")
        domain.check_grid_write(grant, household["grid_code"], "household_id", doc["household_id"])
        if doc["id_number"] in seen:
            raise invalid("id_number", f"listed twice in this batch (item {seen[doc['id_number']]})")
        seen[doc["id_number"]] = index
        return {**doc, "grid_code": household["grid_code"]}

    docs = check_each(items, check, "residents refused")
    taken = {r["id_number"] for r in find_in(db.residents, "id_number", seen, {"id_number": 1})}

    def not_taken(index, doc):
        if doc["id_number"] in taken:
            raise invalid("id_number", "already registered")

    check_each(docs, not_taken, "residents refused")

    first = store.allocate(db, "resident", len(docs))
    for doc, resident_id in zip(docs, store.resident_ids(first, len(docs)), strict=True):
        doc["resident_id"] = resident_id
    heads = {d["household_id"]: d["resident_id"] for d in docs if d["head_of_household"]}
    for doc in docs:  # two heads named for one household: the last one listed is its head
        if doc["head_of_household"] and heads[doc["household_id"]] != doc["resident_id"]:
            doc["head_of_household"] = False
    new_heads = list(heads)

    def write(tx):
        # A new head of household replaces the previous one: unset before the batch is inserted,
        # so the update finds only the residents there before (none, for new households), by
        # `$in` chunks (each resident it finds is checked against the whole list on SecantusDB).
        for start in range(0, len(new_heads), IN_CHUNK):
            tx.residents.update_many({"household_id": {"$in": new_heads[start:start + IN_CHUNK]},
                                      "head_of_household": True}, {"$set": {"head_of_household": False}})
        tx.residents.insert_many([dict(d) for d in docs])
        if heads:
            tx.households.bulk_write([UpdateOne({"household_id": h}, {"$set": {"head_resident_id": r}})
                                      for h, r in heads.items()], ordered=False)
        tx.emit_many("registry.resident_registered", [{
            "resident_id": d["resident_id"], "household_id": d["household_id"], "grid_code": d["grid_code"],
            "name": d["name"], "sex": d["sex"], "birth_date": domain.as_date(d["birth_date"]),
            "residence_type": d["residence_type"], "tags": d["tags"], "phone": d["phone"],
            "email": d["email"], "language": d["language"]} for d in docs])
    db.run_transaction(write)
    return docs


def load_resident(db, resident_id):
    return queries.load(db.residents, "resident_id", resident_id, "resident")


def visible_resident(db, resident_id, grant):
    """The resident, if within the caller's grant (their grid, or themselves); else NotFound, as
    for an id nobody has."""
    resident = load_resident(db, resident_id)
    if not grant.covers(grid=resident["grid_code"], owners=[resident["resident_id"]]):
        raise not_found("resident", "resident_id", resident_id)
    return resident


def update_resident(db, request, grant, today):
    resident = visible_resident(db, request.pop("resident_id"), grant)
    if resident["status"] != domain.ACTIVE:
        raise Conflict(f"resident is {resident['status']}", {"resident_id": [f"status {resident['status']}"]})
    if "phone" in request:
        request["phone"] = personal.normalise_phone(request["phone"])
    if "tags" in request:
        request["tags"] = domain.check_tags(request["tags"])
    grid_code = resident["grid_code"]
    if "household_id" in request and request["household_id"] != resident["household_id"]:
        household = db.households.find_one({"household_id": request["household_id"]})
        if household is None:
            raise invalid("household_id", f"unknown household {request['household_id']!r}")
        domain.check_grid_write(grant, household["grid_code"], "household_id", request["household_id"])
        grid_code = household["grid_code"]
    residence_type = request.get("residence_type", resident["residence_type"])
    registered_on = request.get("registered_on", domain.as_date(resident.get("registered_on")))
    expires_on = (request["expires_on"] if "expires_on" in request
                  else domain.as_date(resident.get("expires_on")))
    if residence_type == "registered" and "expires_on" not in request:
        expires_on = None  # becoming a registered resident ends the floating registration
        if resident.get("expires_on") is not None:
            request["expires_on"] = None
    domain.residence_dates(residence_type, registered_on, expires_on, today)

    changes = domain.resident_changes(resident, request)
    if grid_code != resident["grid_code"]:
        changes["grid_code"] = grid_code
    if not changes:
        return resident, {}
    stored = {k: (domain.as_datetime(v) if k in ("registered_on", "expires_on") else v)
              for k, v in changes.items()}

    def write(tx):
        tx.residents.update_one({"resident_id": resident["resident_id"]}, {"$set": stored})
        if changes.get("head_of_household"):
            tx.residents.update_many({"household_id": request.get("household_id", resident["household_id"]),
                                      "resident_id": {"$ne": resident["resident_id"]}},
                                     {"$set": {"head_of_household": False}})
            tx.households.update_one({"household_id": request.get("household_id", resident["household_id"])},
                                     {"$set": {"head_resident_id": resident["resident_id"]}})
        tx.emit("registry.resident_updated", {"resident_id": resident["resident_id"], "grid_code": grid_code,
                                              "changes": domain.event_changes(changes)})
    db.run_transaction(write)
    resident.update(stored)
    return resident, changes


def depart(db, resident_id, on, kind, grant, today):
    """Moving out (`moved_out`) or death (`deceased`): the record stays, its status changes."""
    resident = visible_resident(db, resident_id, grant)
    field, status, event = {"moved_out": ("moved_out_on", domain.MOVED_OUT, "registry.resident_moved_out"),
                            "deceased": ("died_on", domain.DECEASED, "registry.resident_died")}[kind]
    domain.check_departure(resident, on, field, today)
    update = {"status": status, field: domain.as_datetime(on)}

    def write(tx):
        result = tx.residents.update_one({"resident_id": resident_id, "status": domain.ACTIVE},
                                         {"$set": update})
        if result.modified_count != 1:  # a concurrent departure won
            raise Conflict("resident is no longer active", {"resident_id": ["status changed"]})
        tx.emit(event, {"resident_id": resident_id, "household_id": resident["household_id"],
                        "grid_code": resident["grid_code"], field: on})
    db.run_transaction(write)
    resident.update(update)
    return resident


def flag_difficulty(db, request, grant, now):
    """Record that a resident is in difficulty (tag `in_difficulty` + the reason).

    Every consumer learns it through `registry.resident_updated` (changes: tags); if the resident
    is a party member, `registry.party_member_in_difficulty` also announces the must-visit.
    Flagging someone already flagged changes nothing and emits nothing."""
    resident = visible_resident(db, request["resident_id"], grant)
    if resident["status"] != domain.ACTIVE:
        raise Conflict(f"resident is {resident['status']}", {"resident_id": [f"status {resident['status']}"]})
    if domain.IN_DIFFICULTY in resident.get("tags", []):
        return resident, False, False
    party_member = db.party_members.find_one({"resident_id": resident["resident_id"]}) is not None
    tags = sorted(set(resident.get("tags", [])) | {domain.IN_DIFFICULTY})
    difficulty = {"reason": request["reason"], "flagged_at": now, "by": grant.actor_id}

    def write(tx):
        tx.residents.update_one({"resident_id": resident["resident_id"]},
                                {"$set": {"tags": tags, "difficulty": difficulty}})
        tx.emit("registry.resident_updated", {"resident_id": resident["resident_id"],
                                              "grid_code": resident["grid_code"], "changes": {"tags": tags}})
        if party_member:
            tx.emit("registry.party_member_in_difficulty", {
                "resident_id": resident["resident_id"], "grid_code": resident["grid_code"],
                "reason": request["reason"]})
    db.run_transaction(write)
    resident.update({"tags": tags, "difficulty": difficulty})
    return resident, True, party_member


def record_full_read(db, resident, actor, reason, now, correlation_id):

    def write(tx):
        tx.full_reads.insert_one({"resident_id": resident["resident_id"], "grid_code": resident["grid_code"],
                                  "actor": actor, "reason": reason, "at": now,
                                  "correlation_id": correlation_id})
    db.run_transaction(write)


# --- the 60th birthday ----------------------------------------------------------------------

def announce_turned_60(db, today, now):
    """Emit `registry.resident_turned_60` for each active resident whose 60th birthday has come
    (within the catch-up window), exactly once per person: a marker `turned_60:<resident_id>` is
    inserted in the same transaction as the event, so a second run or a restarted instance finds
    it, and of two instances claiming at once one loses (duplicate key, or a write conflict after
    which it runs again and finds the winner's marker) and emits nothing."""
    return sum(_claim_turned_60(db, resident, now) for resident in store.turned_60_candidates(db, today))


def _claim_turned_60(db, resident, now):
    """1 if this call announced the resident, 0 if a run (here or in another instance) had."""
    key = f"turned_60:{resident['resident_id']}"

    def claim(tx):  # rerun from the start if a concurrent claim conflicts: it may have aborted
        if tx.milestones.find_one({"_id": key}, {"_id": 1}):
            return 0
        tx.milestones.insert_one({"_id": key, "resident_id": resident["resident_id"], "at": now})
        tx.emit("registry.resident_turned_60", {
            "resident_id": resident["resident_id"], "grid_code": resident["grid_code"],
            "birth_date": domain.as_date(resident["birth_date"])})
        return 1

    if db.milestones.find_one({"_id": key}, {"_id": 1}):
        return 0
    try:
        return db.run_transaction(claim)
    except DuplicateKeyError:
        return 0  # another instance committed its claim first


# --- staff ----------------------------------------------------------------------------------

def assign_grid_staff(db, request, now):
    request["phone"] = personal.normalise_phone(request["phone"])
    grid_code = request["grid_code"]
    grid_exists = grid_code is None or db.grids.find_one({"code": grid_code}, {"_id": 1}) is not None
    domain.check_staff_post(request["role"], grid_code, grid_exists)
    if request.get("resident_id"):
        if db.residents.find_one({"resident_id": request["resident_id"]}, {"_id": 1}) is None:
            raise invalid("resident_id", f"unknown resident {request['resident_id']!r}")
    staff_id = request.get("staff_id") or f"ST-{store.allocate(db, 'staff'):04d}"
    doc = {"staff_id": staff_id, "role": request["role"], "grid_code": grid_code, "name": request["name"],
           "phone": request["phone"], "email": request.get("email"), "language": request["language"],
           "resident_id": request.get("resident_id"), "active": True, "assigned_at": now}

    def write(tx):
        if request["role"] == "grid_worker":  # one current grid worker per grid: the new one replaces
            tx.staff.update_many({"grid_code": grid_code, "role": "grid_worker", "active": True,
                                  "staff_id": {"$ne": staff_id}},
                                 {"$set": {"active": False, "ended_at": now}})
        tx.staff.update_one({"staff_id": staff_id}, {"$set": doc}, upsert=True)
        tx.emit("registry.grid_staff_assigned", {k: doc[k] for k in (
            "staff_id", "grid_code", "role", "name", "resident_id", "phone", "email", "language")})
    db.run_transaction(write)
    return doc


# --- party organisation ---------------------------------------------------------------------

def define_party_unit(db, unit):
    parent = db.party_units.find_one({"code": unit["parent_code"]}) if unit["parent_code"] else None
    if unit["parent_code"] and parent is None:
        raise invalid("parent_code", f"unknown party unit {unit['parent_code']!r}")
    domain.check_party_unit(unit["level"], parent)
    if unit["grid_code"] and db.grids.find_one({"code": unit["grid_code"]}, {"_id": 1}) is None:
        raise invalid("grid_code", f"unknown grid {unit['grid_code']!r}")

    def write(tx):
        tx.party_units.update_one({"code": unit["code"]}, {"$set": dict(unit)}, upsert=True)
    db.run_transaction(write)
    return unit


def register_party_members(db, items, today, now):
    """Party members' registration cards. The branch code is recorded as given (the party
    organisation may be entered after its members); `list_party_units` shows what is defined."""
    ids = [i["resident_id"] for i in items]
    residents = store.residents_by_id(db, ids)
    members = store.resident_ids_in(db.party_members, ids)
    seen = set()

    def check(index, item):
        resident = _named_resident(residents, item)
        if item["resident_id"] in members or item["resident_id"] in seen:
            raise Conflict("already a registered party member", {"resident_id": ["already registered"]})
        seen.add(item["resident_id"])
        domain.check_party_member(resident, item["joined_on"], item.get("transferred_in_on"), today)

    check_each(items, check, "party members refused", refusals=(InvalidInput, Conflict))
    docs = [{"resident_id": i["resident_id"], "grid_code": residents[i["resident_id"]]["grid_code"],
             "branch_code": i["branch_code"], "joined_on": domain.as_datetime(i["joined_on"]),
             "transferred_in_on": domain.as_datetime(i.get("transferred_in_on")),
             "posts": i.get("posts") or [], "registered_at": now} for i in items]

    def write(tx):
        tx.party_members.insert_many([dict(d) for d in docs])
        for start in range(0, len(ids), IN_CHUNK):  # by chunks: see register_residents
            tx.residents.update_many({"resident_id": {"$in": ids[start:start + IN_CHUNK]}},
                                     {"$addToSet": {"tags": domain.PARTY_MEMBER}})
        tx.emit_many("registry.party_member_registered", [{
            "resident_id": d["resident_id"], "grid_code": d["grid_code"], "branch_code": d["branch_code"],
            "joined_on": domain.as_date(d["joined_on"]),
            "transferred_in_on": domain.as_date(d["transferred_in_on"])} for d in docs])
    db.run_transaction(write)
    return docs


# --- shareholders ---------------------------------------------------------------------------

def enroll_shareholders(db, items, actor, now):
    ids = [i["resident_id"] for i in items]
    residents = store.residents_by_id(db, ids, {"resident_id": 1, "status": 1})
    enrolled = store.resident_ids_in(db.shareholders, ids)
    seen = set()

    def check(index, item):
        resident = _named_resident(residents, item)
        if resident["status"] != domain.ACTIVE:
            raise Conflict("resident is not active", {"resident_id": [f"status {resident['status']}"]})
        if item["resident_id"] in enrolled or item["resident_id"] in seen:
            raise Conflict("already a shareholder", {"resident_id": ["already a shareholder"]})
        seen.add(item["resident_id"])

    check_each(items, check, "shareholders refused", refusals=(InvalidInput, Conflict))
    first = store.allocate(db, "shareholder", len(items))
    docs = [{"shareholder_id": f"SH-{first + n:05d}", "resident_id": i["resident_id"], "group": i["group"],
             "shares": i["shares"], "status": "active", "enrolled_at": now} for n, i in enumerate(items)]
    who = actor_id(actor)

    def write(tx):
        tx.shareholders.insert_many([dict(d) for d in docs])
        tx.shareholder_history.insert_many([{
            "shareholder_id": d["shareholder_id"], "at": now, "by": who, "reason": "enrolled",
            "before": None, "after": {k: d[k] for k in domain.SHAREHOLDING_FIELDS}} for d in docs])
        tx.emit_many("registry.shareholder_enrolled", [{k: d[k] for k in (
            "shareholder_id", "resident_id", "group", "shares")} for d in docs])
    db.run_transaction(write)
    return docs


def change_shares(db, request, actor, now):
    current = queries.load(db.shareholders, "shareholder_id", request["shareholder_id"], "shareholder")
    before, after = domain.shareholding_change(current, request)

    def write(tx):
        result = tx.shareholders.update_one({"shareholder_id": current["shareholder_id"],
                                             **{k: current[k] for k in before}}, {"$set": after})
        if result.modified_count != 1:
            raise Conflict("the shareholding changed meanwhile", {"shareholder_id": ["changed, retry"]})
        tx.shareholder_history.insert_one({"shareholder_id": current["shareholder_id"], "at": now,
                                           "by": actor_id(actor), "reason": request["reason"],
                                           "before": before, "after": after})
        tx.emit("registry.shareholder_changed", {"shareholder_id": current["shareholder_id"],
                                                 "resident_id": current["resident_id"], "before": before,
                                                 "after": after, "reason": request["reason"]})
    db.run_transaction(write)
    current.update(after)
    return current, before, after


# --- organisations --------------------------------------------------------------------------

def register_organisation(db, request, now):
    members = sorted(set(request["members"]))
    if members:
        known = store.resident_ids_in(db.residents, members)
        unknown = [m for m in members if m not in known]
        if unknown:
            raise invalid("members", f"unknown residents {unknown}")
    if db.organisations.find_one({"kind": request["kind"], "name": request["name"]}, {"_id": 1}):
        raise Conflict("an organisation of this name exists", {"name": ["already registered"]})
    org_id = f"ORG-{store.allocate(db, 'organisation'):03d}"
    doc = {"org_id": org_id, **request, "members": members, "registered_at": now,
           "agreement_on": domain.as_datetime(request.get("agreement_on"))}

    def write(tx):
        tx.organisations.insert_one(dict(doc))
    db.run_transaction(write)
    return doc


# --- reads that take more than one query ----------------------------------------------------

def get_grid(db, code, grant):
    grid = queries.load(db.grids, "code", code, "grid")
    if not grant.covers(grid=code):
        raise not_found("grid", "code", code)
    staff = [domain.present_staff(s, grant) for s in store.staff_of_grid(db, code)]
    worker = next(({"staff_id": s["staff_id"], "name": s["name"]} for s in staff
                   if s["role"] == "grid_worker"), None)
    return {**grid, "grid_worker": worker, "staff": staff}


def list_staff(db, params, grant):
    """Current posts, a grid-scoped caller's grid only; contact details as the caller may see them."""
    query = {"active": True, **{k: v for k, v in params.items() if v is not None}}
    grids = domain.scoped_grids(grant, [params["grid_code"]] if params["grid_code"] else None)
    if grids:
        query["grid_code"] = grids[0]
    return [domain.present_staff(s, grant) for s in db.staff.find(query).sort("staff_id", 1)]


def list_grids(db):
    workers = store.current_grid_workers(db)
    return [{**g, "grid_worker": workers.get(g["code"])} for g in db.grids.find().sort("code", 1)]


def get_household(db, household_id, grant):
    household = queries.load(db.households, "household_id", household_id, "household")
    if not grant.covers(grid=household["grid_code"]):
        raise not_found("household", "household_id", household_id)
    return {**household, "members": store.members_of(db, [household_id])[household_id]}


def list_households(db, params, grant):
    params["grid_codes"] = domain.scoped_grids(grant, params["grid_codes"], "grid_codes")
    flt = {"grid_code": {"$in": params["grid_codes"]}} if params["grid_codes"] is not None else {}
    found = queries.page(db.households, flt, params, sort=[("household_id", 1)])
    members = store.members_of(db, [h["household_id"] for h in found["items"]], params["grid_codes"])
    found["items"] = [{**h, "members": members[h["household_id"]]} for h in found["items"]]
    return found


def find_residents(db, params, grant, today):
    grids = domain.scoped_grids(grant, [params["grid_code"]] if params["grid_code"] else None)
    grid_code = grids[0] if grids else None
    return queries.page(db.residents, store.resident_query(params, grid_code, today), params,
                        sort=[("resident_id", 1)])


def list_shareholders(db, params):
    flt = {k: v for k, v in (("group", params["group"]), ("status", params["status"])) if v}
    found = queries.page(db.shareholders, flt, params, sort=[("group", 1), ("shareholder_id", 1)])
    names = store.names_of(db, [d["resident_id"] for d in found["items"]])
    found["items"] = [{**d, "name": names.get(d["resident_id"])} for d in found["items"]]
    return found


def shareholder_history(db, shareholder_id):
    queries.load(db.shareholders, "shareholder_id", shareholder_id, "shareholder", {"_id": 1})
    return list(db.shareholder_history.find({"shareholder_id": shareholder_id}).sort("at", 1))
