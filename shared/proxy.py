"""Calling another service over RPC on this service's own authority.

    class GridEventsService:
        registry = ServiceRpcProxy("registry")     # self.registry.get_grid("G3")

The correlation id travels on (the call is part of the same request), the caller's `actor` does
not: the call is made as the explicit system actor of the calling service (`system_actor`), never
as "no actor". A resident who reports a leaking pipe may not read staff lists, but the service
routing the report may. The callee honours that actor only from the calling service's own broker
account (shared/amqp.py `Senders`), which is the one a service connects as.
Use nameko's plain `RpcProxy` instead when the callee must judge the caller.
"""

from nameko.rpc import RpcProxy, ServiceProxy

from shared.access import system_actor
from shared.context import ACTOR


class _OwnAuthority:
    """A worker context whose context data, as sent on, names the service as the actor."""

    def __init__(self, worker_ctx):
        self._worker_ctx = worker_ctx

    def __getattr__(self, name):
        return getattr(self._worker_ctx, name)

    @property
    def context_data(self):
        data = self._worker_ctx.context_data
        data[ACTOR] = system_actor(self._worker_ctx.service_name)
        return data


class ServiceRpcProxy(RpcProxy):
    """`RpcProxy` whose calls are made as the service itself (correlation id kept, actor replaced)."""

    def get_dependency(self, worker_ctx):
        return ServiceProxy(_OwnAuthority(worker_ctx), self.target_service, self.rpc_reply_listener,
                            **self.options)
