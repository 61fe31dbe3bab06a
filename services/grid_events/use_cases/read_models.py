"""What grid_events knows of the registry, from its events: grids (buildings) and staff posts.

Reports are routed from these (no registry RPC on the way); see incidents.route."""


def grid_defined(db, event):
    p = event.payload

    def write(tx):
        tx.grids.update_one({"_id": p["code"]}, {"$set": {
            "name": p["name"], "buildings": p["buildings"], "defined_at": event.occurred_at}}, upsert=True)

    db.run_transaction(write)


def staff_assigned(db, event):
    p = event.payload

    def write(tx):
        tx.staff.update_one({"_id": p["staff_id"]}, {"$set": {
            "role": p["role"], "grid_code": p["grid_code"], "name": p["name"],
            "assigned_at": event.occurred_at}}, upsert=True)

    db.run_transaction(write)
