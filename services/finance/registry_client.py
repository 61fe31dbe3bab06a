"""Calls to the registry on finance's own authority, as the explicit system actor (a timer or an
event handler has no person behind it, and the registry refuses a call without an actor)."""

from nameko.rpc import RpcProxy, ServiceProxy

from shared.access import system_actor
from shared.context import ACTOR


class _AsSystem:
    def __init__(self, worker_ctx):
        self._worker_ctx = worker_ctx

    def __getattr__(self, name):
        return getattr(self._worker_ctx, name)

    @property
    def context_data(self):
        data = self._worker_ctx.context_data
        data[ACTOR] = system_actor(self._worker_ctx.service_name)
        return data


class SystemRpcProxy(RpcProxy):
    def get_dependency(self, worker_ctx):
        return ServiceProxy(
            _AsSystem(worker_ctx), self.target_service, self.rpc_reply_listener, **self.options
        )
