"""What the gateway's workers are given: RPC to any service as the request's actor, the caller
(the actor, set from a verified token only), and the account machinery built from config."""


import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, ServiceProxy

from services.gateway import domain, metrics
from services.gateway.use_cases import Passwords, Tokens
from shared.access import system_actor
from shared.config import service_settings
from shared.context import ACTOR
from shared.errors import CommandRefused


class UpstreamTimeout(CommandRefused):
    code = "upstream_timeout"
    http_status = 504
    retriable = True


class ServiceUnavailable(CommandRefused):
    code = "service_unavailable"
    http_status = 503
    retriable = True


class _Services:
    def __init__(self, worker_ctx, reply_listener, timeout):
        self._worker_ctx = worker_ctx
        self._reply_listener = reply_listener
        self._timeout = timeout

    def call(self, service, method, *args):
        """`service.method(*args)` with the worker's context data (correlation id, request id,
        actor); a refusal comes back as itself and is counted, as is any other failure."""
        proxy = getattr(ServiceProxy(self._worker_ctx, service, self._reply_listener), method)
        try:
            with eventlet.Timeout(self._timeout, UpstreamTimeout(f"{service} did not answer in time",
                                                                 {"service": [service]})):
                return proxy(*args)
        except UnknownService:
            metrics.rpc_error(service, ServiceUnavailable.code)
            raise ServiceUnavailable(f"{service} is not running", {"service": [service]}) from None
        except CommandRefused as exc:
            if exc.http_status >= 500 or isinstance(exc, UpstreamTimeout):
                metrics.rpc_error(service, exc.code)
            raise
        except Exception as exc:
            metrics.rpc_error(service, getattr(exc, "exc_type", type(exc).__name__))
            raise


    def call_async(self, service, method, *args):
        """Ask without waiting for the answer (work that outlasts a request, followed elsewhere)."""
        claims = getattr(self._worker_ctx, "gateway_claims", None)
        if claims is not None:
            self._worker_ctx.data[ACTOR] = domain.actor_of(claims)
        proxy = getattr(ServiceProxy(self._worker_ctx, service, self._reply_listener), method)
        try:
            return proxy.call_async(*args)
        except UnknownService:
            metrics.rpc_error(service, ServiceUnavailable.code)
            raise ServiceUnavailable(f"{service} is not running", {"service": [service]}) from None


class Services(RpcProxy):
    """`self.services.call("grid_events", "get_incident", incident_id)`."""

    def __init__(self, default_timeout=30):
        super().__init__(target_service="*")
        self.default_timeout = default_timeout

    def get_dependency(self, worker_ctx):
        settings = service_settings(self.container.config, self.container.service_name)
        timeout = float(settings.get("rpc_timeout_seconds", self.default_timeout))
        return _Services(worker_ctx, self.rpc_reply_listener, timeout)


class _Caller:
    def __init__(self, worker_ctx):
        self._worker_ctx = worker_ctx
        self.claims = None

    def act_as(self, claims):
        """From here on, every RPC of this request carries the token's actor (and nothing else)."""
        self.claims = claims
        self._worker_ctx.data[ACTOR] = domain.actor_of(claims)
        return self._worker_ctx.data[ACTOR]

    def as_system(self):
        """The gateway's own work (scraping health for /metrics): the service identity, never
        a person's and never "no actor" (honoured from the gateway's own broker account only)."""
        self._worker_ctx.data[ACTOR] = system_actor(self._worker_ctx.service_name)

    @property
    def actor(self):
        return self._worker_ctx.data.get(ACTOR)

    @property
    def role(self):
        return (self.claims or {}).get("role")

    @property
    def correlation_id(self):
        return self._worker_ctx.data.get("correlation_id")


class Caller(DependencyProvider):
    def get_dependency(self, worker_ctx):
        worker_ctx.data.pop(ACTOR, None)  # never trust an actor that did not come from a token
        return _Caller(worker_ctx)


class Accounts(DependencyProvider):
    """Passwords (argon2id) and tokens (JWT), built once from the service's config."""

    def setup(self):
        config = self.container.config
        self.passwords = Passwords.from_config(config)
        self.tokens = Tokens.from_config(config)
        self.lockout = domain.Lockout(**(service_settings(config, "gateway").get("lockout") or {}))

    def get_dependency(self, worker_ctx):
        return self
