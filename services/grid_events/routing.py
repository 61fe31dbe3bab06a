"""What grid_events asks the registry, over RPC: which grid an address is in, who works there.

The registry is asked on grid_events' own authority (no `actor` forwarded): a resident who
reports a leaking pipe may not read staff lists, but the service routing the report may.
"""

from nameko.rpc import RpcProxy, ServiceProxy

from shared.context import ACTOR


class _OwnAuthority:
    """A worker context whose context data, as sent on, leaves out the caller's actor."""

    def __init__(self, worker_ctx):
        self._worker_ctx = worker_ctx

    def __getattr__(self, name):
        return getattr(self._worker_ctx, name)

    @property
    def context_data(self):
        data = self._worker_ctx.context_data
        data.pop(ACTOR, None)
        return data


class ServiceRpcProxy(RpcProxy):
    """`RpcProxy` whose calls are made as the service itself (correlation id kept, actor not)."""

    def get_dependency(self, worker_ctx):
        return ServiceProxy(_OwnAuthority(worker_ctx), self.target_service, self.rpc_reply_listener,
                            **self.options)


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
