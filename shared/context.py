"""Who asked, and which request a piece of work belongs to.

nameko carries `context_data` in message headers (`nameko.<key>`) from an RPC caller to the
worker, and from that worker to every RPC call it makes. We keep three keys there:

- `correlation_id`: one per user request; every event it causes, and every event those cause,
  carry it (the outbox copies it into the envelope and the relay into the headers).
- `causation_id`: the event a worker is handling, so the events it emits name their cause.
- `actor`: who acts, `{"id": ..., "role": ..., "grid": ...}`, set by the gateway.

`RequestContext` makes sure a worker has a correlation id and puts it on every log line.
"""

import threading
import uuid

from nameko.extensions import DependencyProvider

CORRELATION_ID = "correlation_id"
CAUSATION_ID = "causation_id"
ACTOR = "actor"

# Greenthread-local under eventlet's monkey patching: one value per worker.
_local = threading.local()


def ensure_correlation_id(worker_ctx):
    data = worker_ctx.data
    if not data.get(CORRELATION_ID):
        data[CORRELATION_ID] = uuid.uuid4().hex
    return data[CORRELATION_ID]


def actor_id(actor, default=None):
    """Who acts (`actor` may be None: a service on its own authority); `default` names it then."""
    return (actor or {}).get("id") or default


def actor_role(actor):
    return (actor or {}).get("role")


def actor_grid(actor):
    return (actor or {}).get("grid")


def current_correlation_id():
    return getattr(_local, "correlation_id", None)


class Context:
    """What a service method may read about the request it serves."""

    def __init__(self, worker_ctx):
        self.correlation_id = ensure_correlation_id(worker_ctx)
        self.actor = worker_ctx.data.get(ACTOR) or None
        self._worker_ctx = worker_ctx

    @property
    def grant(self):
        """The caller's `shared.access.Grant` for this RPC (the entrypoint already let it in)."""
        policy = self._worker_ctx.container.service_cls.policy  # the kit's @rpc requires one
        return policy.grant(self._worker_ctx.entrypoint.method_name, self.actor)

    @property
    def actor_id(self):
        return actor_id(self.actor)

    @property
    def role(self):
        return actor_role(self.actor)

    @property
    def grid(self):
        return actor_grid(self.actor)


class RequestContext(DependencyProvider):
    """Injects a `Context`; tags the worker's log lines with its correlation id."""

    def get_dependency(self, worker_ctx):
        return Context(worker_ctx)

    def worker_setup(self, worker_ctx):
        _local.correlation_id = ensure_correlation_id(worker_ctx)

    def worker_teardown(self, worker_ctx):
        _local.correlation_id = None
