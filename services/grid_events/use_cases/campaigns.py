"""Door-to-door campaigns (入户走访): every household of the target grids, every person in them.

The campaign snapshots its households and their members from registry.list_households when it
starts, so its coverage is exact against a fixed list: "no household missed, no person missed".
"""

from services.grid_events import domain, store
from services.grid_events.use_cases.registry import asked
from shared import queries
from shared.errors import not_found

PAGE_SIZE = 500


def households_of(registry, grid_codes):
    households, page = [], 1
    while True:
        query = {"grid_codes": grid_codes, "page": page, "page_size": PAGE_SIZE}
        result = asked(lambda query=query: registry.list_households(query), "grid_codes")
        households.extend(result["items"])
        if not result["items"] or len(households) >= result["total"]:
            return households
        page += 1


def start(db, registry, data, grant, now):
    for code in sorted(set(data["grid_codes"])):  # NotFound for an unknown grid
        if store.grid(db, code) is None:
            asked(lambda code=code: registry.get_grid(code), "grid_codes")
    households = households_of(registry, sorted(set(data["grid_codes"])))
    campaign_id = domain.new_id("CMP", now)
    campaign = {"_id": campaign_id, "campaign_id": campaign_id, "name": data["name"], "kind": data["kind"],
                "grid_codes": data["grid_codes"], "started_at": now,
                "started_by": grant.actor_id,
                "households": len(households), "residents": sum(len(h["members"]) for h in households),
                "remaining": len(households), "completed_at": None}
    rows = [{"campaign_id": campaign_id, **{k: h.get(k) for k in ("household_id", "grid_code", "building",
                                                                    "unit", "room")},
             "members": list(h["members"]), "reached": [], "visited": False, "covered": False, "visits": []}
            for h in households]
    if not rows:
        campaign["completed_at"] = now

    def write(tx):
        tx.campaigns.insert_one(dict(campaign))
        if rows:
            tx.campaign_households.insert_many([dict(r) for r in rows])
        else:
            _emit_completed(tx, campaign)

    db.run_transaction(write)
    return campaign


def _emit_completed(tx, campaign):
    tx.emit("grid_events.campaign_completed", {
        k: campaign[k] for k in ("campaign_id", "name", "grid_codes", "households", "residents")})


def load(db, campaign_id, grant):
    """The campaign, if it visits the caller's grid (a grid worker's), else NotFound."""
    campaign = queries.load(db.campaigns, "campaign_id", campaign_id, "campaign")
    if not domain.campaign_covers(grant, campaign):
        raise not_found("campaign", "campaign_id", campaign_id)
    return campaign


def record_household_visit(db, data, grant, now):
    """A visit to one household of the campaign (a grid worker: of their own grid)."""
    reached = sorted(set(data["residents_reached"]))
    visit = {"at": now, "by": grant.actor_id, "residents_reached": reached, "note": data.get("note")}

    def work(tx):
        campaign = load(tx, data["campaign_id"], grant)
        household = tx.campaign_households.find_one({"campaign_id": campaign["campaign_id"],
                                                     "household_id": data["household_id"]})
        if household is None or not grant.covers(grid=household["grid_code"]):
            raise not_found("household in this campaign", "household_id", data["household_id"])
        progress = domain.household_progress(household, set(reached))
        newly_covered = progress["covered"] and not household["covered"]
        tx.campaign_households.update_one({"_id": household["_id"]},
                                          {"$set": progress, "$push": {"visits": visit}})
        # every visit touches the campaign document, so two visits racing conflict instead of
        # both missing that they completed the campaign together
        after = tx.campaigns.find_one_and_update(
            {"_id": campaign["_id"]}, {"$inc": {"remaining": -1 if newly_covered else 0},
                                       "$set": {"last_visit_at": now}},
            return_document=True)
        if newly_covered and after["remaining"] == 0 and not after.get("completed_at"):
            tx.campaigns.update_one({"_id": campaign["_id"]}, {"$set": {"completed_at": now}})
            _emit_completed(tx, after)
        return campaign["campaign_id"]

    return coverage(db, db.run_transaction(work), grant)


def coverage(db, campaign_id, grant):
    """Who is still missed; a grid worker sees their own grid's part of the campaign."""
    campaign = load(db, campaign_id, grant)
    households = list(db.campaign_households.find(
        {"campaign_id": campaign_id, **grant.query(grid_field="grid_code")}, projection={"visits": 0}))
    report = domain.coverage(campaign, households)
    report["completed_at"] = campaign.get("completed_at")
    return report
