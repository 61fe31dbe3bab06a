"""What grid_events asks the registry, over RPC: which grid an address is in, who works there.

The registry is asked on grid_events' own authority (shared.proxy.ServiceRpcProxy).
"""

def route(registry, address, grid_code, category):
    """(grid {"code","name"}, assignee staff id or None) for a report.

    The grid comes from the address (registry.grid_of_address) or is given; the assignee is the
    grid's full-time worker, or the grid's holder of the category's handling role."""
    if address:
        located = registry.grid_of_address(
            {"building": address["building"], "unit": address.get("unit"), "room": address.get("room")})
        grid_code = located["grid_code"]
    grid = registry.get_grid(grid_code)
    if category.handling_role == "grid_worker":
        worker = grid.get("grid_worker") or {}
        assignee = worker.get("staff_id")
    else:
        assignee = next((s["staff_id"] for s in grid.get("staff") or ()
                         if s.get("role") == category.handling_role), None)
    return {"code": grid["code"], "name": grid["name"]}, assignee


def police_desk(registry):
    """The community police desk's staff ids."""
    return sorted(s["staff_id"] for s in registry.list_staff({"role": "police_desk"}))
