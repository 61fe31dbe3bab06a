"""Door-to-door campaigns (入户走访): every household of the target grids, every person in them.

The campaign snapshots its households and their members from registry.list_households when it
starts, so its coverage is exact against a fixed list: "no household missed, no person missed".
"""

from services.grid_events import domain
from shared import queries
from shared.context import actor_id
from shared.errors import not_found

PAGE_SIZE = 500


def households_of(registry, grid_codes):
    households, page = [], 1
    while True:
        result = registry.list_households({"grid_codes": grid_codes, "page": page, "page_size": PAGE_SIZE})
        households.extend(result["items"])
        if not result["items"] or len(households) >= result["total"]:
            return households
        page += 1


def start(db, registry, data, actor, now):
    domain.check_not_resident(actor, "start campaigns")
    for code in data["grid_codes"]:
        registry.get_grid(code)  # NotFound / InvalidInput for an unknown grid
    households = households_of(registry, sorted(set(data["grid_codes"])))
    campaign_id = domain.new_id("CMP", now)
    campaign = {"_id": campaign_id, "campaign_id": campaign_id, "name": data["name"], "kind": data["kind"],
                "grid_codes": data["grid_codes"], "started_at": now,
                "started_by": actor_id(actor, "system"),
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


def record_household_visit(db, data, actor, now):
    domain.check_not_resident(actor, "record campaign visits")
    reached = sorted(set(data["residents_reached"]))
    visit = {"at": now, "by": actor_id(actor, "system"), "residents_reached": reached,
             "note": data.get("note")}

    def work(tx):
        campaign = queries.load(tx.campaigns, "campaign_id", data["campaign_id"], "campaign")
        household = tx.campaign_households.find_one({"campaign_id": campaign["campaign_id"],
                                                     "household_id": data["household_id"]})
        if household is None:
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

    return coverage(db, db.run_transaction(work))


def coverage(db, campaign_id):
    campaign = queries.load(db.campaigns, "campaign_id", campaign_id, "campaign")
    households = list(db.campaign_households.find({"campaign_id": campaign_id}, projection={"visits": 0}))
    report = domain.coverage(campaign, households)
    report["completed_at"] = campaign.get("completed_at")
    return report
