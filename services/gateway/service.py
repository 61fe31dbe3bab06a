"""The gateway (网关): the platform over HTTP. Entrypoints only.

Accounts, login and the token behind every request are the gateway's own (use_cases.py); every
other resource is a row of the route table (routes.py), forwarded to the service's RPC as the
token's actor. Errors, correlation ids, metrics and the access log: web.py.
"""

from nameko.dependency_providers import Config

from services.gateway import metrics, open311, openapi, routes, store, use_cases, web
from services.gateway import schemas as s
from services.gateway.console import business, recorder  # modules: `nameko run` runs every class
from services.gateway.console import pages as console  # it finds here, so no page class is imported
from services.gateway.dependencies import Accounts, Caller, Services
from services.gateway.web import api
from shared import clock
from shared.access import ANYONE, Policy
from shared.errors import CommandRefused, NotFound
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc


def route_table(table):
    """One entrypoint per row, all on the same method: it gets the row as `route`."""
    def bind(fn):
        for route in table:
            api(route.method, route.path, route=route)(fn)
        return fn
    return bind


class GatewayService(console.ConsolePages, business.NightAndDividendPages):
    name = "gateway"
    # Its one RPC; people reach the gateway over HTTP, where the edge policy (routes.py) rules.
    policy = Policy({"health": ANYONE})

    db = Mongo({**store.INDEXES, **recorder.INDEXES}, relay=False, expiry={**store.EXPIRY, **recorder.EXPIRY})
    accounts = Accounts()
    caller = Caller()
    services = Services()
    config = Config()
    probe = HealthProbe()

    @rpc
    def health(self):
        """The kit's health report over RPC too (deploy.healthcheck, make run)."""
        return self.probe()

    def _authenticate(self, request):
        claims = use_cases.authenticate(self.db, self.accounts.tokens, request.headers.get("Authorization"),
                                        clock.now())
        return claims, self.caller.act_as(claims)

    # ------------------------------------------------------------ the forwarded resources

    @route_table(routes.ROUTES)
    def forward(self, request, route, **path):
        claims, actor = self._authenticate(request)
        params = {**web.read_query(request, route.query), **web.read_body(request), **path}
        if params.pop("format", None) == "csv" and route.csv:
            rows, complete = use_cases.export_rows(self.services, route, claims["role"], actor, params)
            return web.csv_response(rows, route.csv, route.rpc, complete)
        return route.status, use_cases.forward(self.services, route, claims["role"], actor, params)

    # ------------------------------------------------------------ accounts and sessions

    @api("POST", "/v1/auth/login")
    def login(self, request):
        data = web.load(s.Login(), web.read_body(request))
        a = self.accounts
        return use_cases.login(self.db, a.passwords, a.tokens, a.lockout, data["username"], data["password"],
                               clock.now())

    @api("POST", "/v1/auth/logout")
    def logout(self, request):
        claims, _ = self._authenticate(request)
        return use_cases.logout(self.db, claims, clock.now())

    @api("GET", "/v1/me")
    def me(self, request):
        web.read_query(request, None)
        _, actor = self._authenticate(request)
        return actor

    @api("POST", "/v1/accounts")
    def create_account(self, request):
        self._authenticate(request)
        use_cases.check_account_admin(self.caller.role)
        data = web.load(s.CreateAccount(), web.read_body(request))
        return 201, use_cases.create_account(self.db, self.accounts.passwords, data, clock.now())

    @api("GET", "/v1/accounts")
    def list_accounts(self, request):
        self._authenticate(request)
        use_cases.check_account_admin(self.caller.role)
        query = web.read_query(request, s.AccountQuery)
        return {"items": store.list_accounts(self.db, query.get("role"), query.get("grid"))}

    @api("POST", "/v1/accounts/<username>/deactivate")
    def deactivate(self, request, username):
        self._authenticate(request)
        use_cases.check_account_admin(self.caller.role)
        return use_cases.deactivate(self.db, self.accounts.tokens, username, clock.now())

    @api("PUT", "/v1/accounts/<username>/password")
    def change_password(self, request, username):
        claims, _ = self._authenticate(request)
        if claims["sub"] != username:
            use_cases.check_account_admin(self.caller.role)
        data = web.load(s.ChangePassword(), web.read_body(request))
        return use_cases.change_password(self.db, self.accounts.passwords, self.accounts.tokens, username,
                                         data["password"], clock.now())

    # ------------------------------------------------------------ Open311 GeoReport v2

    @api("POST", "/v1/accounts/<username>/api-keys")
    def issue_api_key(self, request, username):
        self._authenticate(request)
        use_cases.check_account_admin(self.caller.role)
        return 201, use_cases.issue_api_key(self.db, username, clock.now())

    @api("GET", "/open311/v2/discovery.<any(json,xml):fmt>")
    def open311_discovery(self, request, fmt):
        base = request.host_url.rstrip("/")
        return open311.respond(fmt, open311.discovery(base, self.config.get("OPEN311_CONTACT", "")),
                               root="discovery")

    @api("GET", "/open311/v2/services.<any(json,xml):fmt>")
    def open311_services(self, request, fmt):
        return self._open311(request, fmt, "services", "service", lambda: [
            open311.service(c) for c in use_cases.open311_categories(self.services).values()], key=False)

    @api("GET", "/open311/v2/services/<code>.<any(json,xml):fmt>")
    def open311_definition(self, request, fmt, code):
        def definition():
            categories = use_cases.open311_categories(self.services)
            if code not in categories:
                raise NotFound(f"no service {code}", {"service_code": ["unknown service"]})
            return open311.definition(categories[code])
        return self._open311(request, fmt, "service_definition", None, definition, key=False)

    @api("POST", "/open311/v2/requests.<any(json,xml):fmt>")
    def open311_post(self, request, fmt):
        return self._open311(request, fmt, "service_requests", "request", lambda: use_cases.open311_post(
            self.db, self.services, request.form, clock.now()), status=201)

    @api("GET", "/open311/v2/requests.<any(json,xml):fmt>")
    def open311_requests(self, request, fmt):
        return self._open311(request, fmt, "service_requests", "request",
                             lambda: use_cases.open311_requests(self.services, request.args, clock.now()))

    @api("GET", "/open311/v2/requests/<request_id>.<any(json,xml):fmt>")
    def open311_request(self, request, fmt, request_id):
        return self._open311(request, fmt, "service_requests", "request",
                             lambda: use_cases.open311_request(self.services, request_id))

    @api("GET", "/open311/v2/tokens/<token>.<any(json,xml):fmt>")
    def open311_token(self, request, fmt, token):
        # the token is an unguessable capability of whoever posted: no key needed (as in the spec)
        return self._open311(request, fmt, "service_requests", "request",
                             lambda: use_cases.open311_token(self.db, token), key=False)

    def _open311(self, request, fmt, root, item, answer, key=True, status=200):
        """Open311 answers and refusals in its own format (`[{"code", "description"}]`)."""
        try:
            if key:
                api_key = request.values.get("api_key")
                self.caller.act_as(use_cases.claims_of_key(self.db, api_key, clock.now()))
            else:
                self.caller.as_system()  # the public catalogue is read on the gateway's authority
            return open311.respond(fmt, answer(), status, root=root, item=item)
        except CommandRefused as exc:
            return open311.error_response(fmt, *open311.error_of(exc))

    # ------------------------------------------------------------ the API document, health, metrics

    @api("GET", "/openapi.json")
    def openapi_document(self, request):
        return openapi.document()

    @api("GET", "/docs")
    def docs(self, request):
        return openapi.page()

    @api("GET", "/health")
    def http_health(self, request):
        self.db.raw.command("ping")
        return {"service": "gateway", "status": "ok", "checked_at": clock.now().isoformat()}

    @api("GET", "/metrics")
    def metrics(self, request):
        self.caller.as_system()
        use_cases.scrape(self.services, self.config, routes.SERVICES)
        body, content_type = metrics.exposition()
        return web.Response(body, content_type=content_type)
