"""The registry's collections, their indexes, and the queries the service runs on them."""

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.registry import domain
from shared.mongo import find_in

INDEXES = {
    "grids": [IndexModel("code", unique=True, name="code"),
              # a building belongs to one grid: resolving an address is one indexed lookup
              IndexModel("buildings", unique=True, name="building")],
    "households": [IndexModel("household_id", unique=True, name="household_id"),
                   # no index by address: nothing looks a household up by it, and on SecantusDB
                   # each index costs about 0.1 ms per document written (see README, Figures)
                   IndexModel([("grid_code", ASCENDING), ("household_id", ASCENDING)], name="grid")],
    "residents": [IndexModel("resident_id", unique=True, name="resident_id"),
                  IndexModel("id_number", unique=True, name="id_number"),
                  IndexModel("household_id", name="household"),
                  IndexModel([("grid_code", ASCENDING), ("status", ASCENDING)], name="grid_status"),
                  IndexModel("birth_date", name="birth_date"),
                  IndexModel("tags", name="tags"),
                  IndexModel("name", name="name")],
    "staff": [IndexModel("staff_id", unique=True, name="staff_id"),
              IndexModel([("grid_code", ASCENDING), ("role", ASCENDING), ("active", ASCENDING)],
                         name="post"),
              # a grid has one current grid worker, even when two assignments race
              IndexModel("grid_code", unique=True, name="one_grid_worker",
                         partialFilterExpression={"role": "grid_worker", "active": True})],
    "party_units": [IndexModel("code", unique=True, name="code")],
    "party_members": [IndexModel("resident_id", unique=True, name="resident_id"),
                      IndexModel("branch_code", name="branch")],
    "shareholders": [IndexModel("shareholder_id", unique=True, name="shareholder_id"),
                     IndexModel("resident_id", unique=True, name="resident_id"),
                     IndexModel([("group", ASCENDING), ("shareholder_id", ASCENDING)], name="group")],
    "shareholder_history": [IndexModel([("shareholder_id", ASCENDING), ("at", ASCENDING)],
                                       name="shareholder")],
    "organisations": [IndexModel("org_id", unique=True, name="org_id"),
                      IndexModel([("kind", ASCENDING), ("name", ASCENDING)], unique=True, name="name")],
    # who read a resident's full record, when and why (个人信息 access audit)
    "full_reads": [IndexModel([("resident_id", ASCENDING), ("at", DESCENDING)], name="resident"),
                   IndexModel([("at", DESCENDING)], name="at")],
    # one document per announced milestone, `_id` = "turned_60:<resident_id>": claimed once
    "milestones": [],
    "counters": [],
}


def allocate(db, counter, count=1):
    """Reserve `count` consecutive numbers of `counter`; returns the first.

    Outside any transaction on purpose: concurrent registrations never conflict on the counter,
    and a refused or rolled-back command at worst leaves a gap in the numbering."""
    for _ in range(10):
        try:
            doc = db.counters.find_one_and_update({"_id": counter}, {"$inc": {"value": count}}, upsert=True,
                                                  return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # two first uses raced to create the counter: the other won
            continue
        if doc is not None:  # (SecantusDB answers None to the loser of that race)
            return doc["value"] - count + 1
    raise RuntimeError(f"could not allocate from counter {counter!r}")


def resident_ids(first, count):
    return [f"R-{n:06d}" for n in range(first, first + count)]


def household_ids(grid_code, first, count):
    return [f"HH-{grid_code}-{n:05d}" for n in range(first, first + count)]


def grid_owners(db, buildings):
    """{building: grid code} for those of `buildings` already in a grid."""
    owners = {}
    for grid in db.grids.find({"buildings": {"$in": list(buildings)}}, {"code": 1, "buildings": 1}):
        for building in grid["buildings"]:
            owners[building] = grid["code"]
    return owners


def grids_of_buildings(db, buildings):
    """{building: grid document} for the buildings that are in some grid."""
    found = {}
    for grid in db.grids.find({"buildings": {"$in": list(set(buildings))}}):
        for building in grid["buildings"]:
            found[building] = grid
    return found


def current_grid_workers(db, grid_codes=None):
    query = {"role": "grid_worker", "active": True}
    if grid_codes is not None:
        query["grid_code"] = {"$in": list(grid_codes)}
    return {s["grid_code"]: {"staff_id": s["staff_id"], "name": s["name"]} for s in db.staff.find(query)}


def staff_of_grid(db, code):
    return list(db.staff.find({"grid_code": code, "active": True}).sort("staff_id", 1))


def names_of(db, resident_ids):
    found = find_in(db.residents, "resident_id", resident_ids, {"resident_id": 1, "name": 1})
    return {r["resident_id"]: r["name"] for r in found}


def resident_ids_in(collection, resident_ids):
    """Which of `resident_ids` have a document in `collection`."""
    found = find_in(collection, "resident_id", resident_ids, {"resident_id": 1})
    return {d["resident_id"] for d in found}


def residents_by_id(db, resident_ids, projection=None):
    return {r["resident_id"]: r for r in find_in(db.residents, "resident_id", resident_ids, projection)}


def turned_60_candidates(db, today):
    earliest, latest = domain.turned_60_window(today)
    return list(db.residents.find({"status": domain.ACTIVE,
                                   "birth_date": {"$gt": domain.as_datetime(earliest),
                                                  "$lte": domain.as_datetime(latest)}},
                                  {"resident_id": 1, "grid_code": 1, "birth_date": 1}))


def stats(db):
    """Counts of what the register holds."""
    residents = {s: db.residents.count_documents({"status": s}) for s in domain.RESIDENT_STATUSES}
    return {"grids": db.grids.count_documents({}), "households": db.households.count_documents({}),
            "residents": sum(residents.values()), "residents_by_status": residents,
            "staff": db.staff.count_documents({"active": True}),
            "party_units": db.party_units.count_documents({}),
            "party_members": db.party_members.count_documents({}),
            "shareholders": db.shareholders.count_documents({}),
            "organisations": db.organisations.count_documents({})}


def members_of(db, household_ids, grid_codes=None):
    """{household_id: [resident ids of its ACTIVE members]}

    One range scan over the household index from the lowest to the highest id asked for (a page
    of households is a contiguous run of ids), instead of a `$in` of hundreds of point lookups."""
    members = {h: [] for h in household_ids}
    if not members:
        return members
    query = {"household_id": {"$gte": min(members), "$lte": max(members)}, "status": domain.ACTIVE}
    if grid_codes is not None:
        query["grid_code"] = {"$in": list(grid_codes)}
    for doc in db.residents.find(query, {"resident_id": 1, "household_id": 1}):
        if doc["household_id"] in members:
            members[doc["household_id"]].append(doc["resident_id"])
    for resident_ids in members.values():
        resident_ids.sort()
    return members


def resident_query(params, grid_code, today):
    query = {}
    if grid_code:
        query["grid_code"] = grid_code
    if params["status"] != "any":
        query["status"] = params["status"]
    for key in ("household_id", "residence_type"):
        if params.get(key):
            query[key] = params[key]
    if params.get("tag"):
        query["tags"] = params["tag"]
    if params.get("name_prefix"):  # a range on the name index rather than a regex scan
        prefix = params["name_prefix"]
        query["name"] = {"$gte": prefix, "$lt": prefix + "\U0010ffff"}
    earliest, latest = domain.birth_date_range(today, params.get("age_min"), params.get("age_max"))
    if earliest or latest:
        query["birth_date"] = {}
        if earliest:
            query["birth_date"]["$gt"] = domain.as_datetime(earliest)
        if latest:
            query["birth_date"]["$lte"] = domain.as_datetime(latest)
    return query
