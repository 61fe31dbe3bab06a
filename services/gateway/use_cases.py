"""The gateway's use cases: accounts, login, the token behind every request, logout.

Passwords are hashed with argon2id (argon2-cffi); tokens are HS256 JWTs (PyJWT) whose expiry is
checked against the platform clock (so tests move time instead of sleeping) and whose id can be
revoked. An unknown username costs a hash verification like a known one, so timing does not
tell which usernames exist.
"""

import logging
import secrets
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.gateway import domain, metrics, open311, store
from shared.config import service_settings
from shared.errors import NotFound

log = logging.getLogger(__name__)

TOKEN_ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "jti", "iat", "exp")


def rabbit_api_uri(config):
    """The RabbitMQ management API the operator pages read queue depths from."""
    return service_settings(config, "gateway").get("rabbit_api_uri") or "http://guest:guest@127.0.0.1:15672"


class Passwords:
    def __init__(self, time_cost=3, memory_kib=65536):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy = self.hasher.hash(secrets.token_hex(16))

    @classmethod
    def from_config(cls, config):
        section = service_settings(config, "gateway").get("argon2") or {}
        return cls(int(section.get("time_cost", 3)), int(section.get("memory_kib", 65536)))

    def hash(self, password):
        return self.hasher.hash(password)

    def verify(self, password_hash, password):
        try:
            return self.hasher.verify(password_hash or self._dummy, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False


class Tokens:
    def __init__(self, secret, ttl_seconds=3600):
        if len(secret or "") < 32:
            raise ValueError("GATEWAY.secret must be at least 32 characters")
        self.secret = secret
        self.ttl = timedelta(seconds=ttl_seconds)

    @classmethod
    def from_config(cls, config):
        settings = service_settings(config, "gateway")
        secret = settings.get("secret")
        if not secret:
            log.warning("GATEWAY.secret (GATEWAY_SECRET) is not set: tokens are signed with a random "
                        "key and end with this process")
            secret = secrets.token_urlsafe(48)
        return cls(secret, int(settings.get("token_ttl_seconds", 3600)))

    def issue(self, account, now):
        expires = now + self.ttl
        claims = {"sub": account["_id"], "role": account["role"], "grid": account.get("grid"),
                  "jti": secrets.token_hex(16), "iat": now.timestamp(), "exp": int(expires.timestamp())}
        for key in ("person_id", "resident_id", "vendor_id", "staff_id"):
            if account.get(key):
                claims[key] = account[key]
        return jwt.encode(claims, self.secret, algorithm=TOKEN_ALGORITHM), claims, expires

    def verify(self, token, now):
        """The claims of a genuine, unexpired token, else Unauthenticated."""
        try:
            # Expiry is checked below against the platform clock, not the wall clock.
            claims = jwt.decode(token, self.secret, algorithms=[TOKEN_ALGORITHM],
                                options={"verify_exp": False, "require": list(REQUIRED_CLAIMS)})
        except jwt.PyJWTError:
            raise domain.Unauthenticated("invalid token", {"authorization": ["invalid token"]}) from None
        if claims["exp"] <= now.timestamp():
            raise domain.Unauthenticated("token expired", {"authorization": ["expired"]})
        if claims["role"] not in domain.ROLES:
            raise domain.Unauthenticated("invalid token", {"authorization": ["unknown role"]})
        return claims


def bearer(header):
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise domain.Unauthenticated("log in first: Authorization: Bearer <token>",
                                     {"authorization": ["missing bearer token"]})
    return token.strip()


# ---------------------------------------------------------------- accounts


def create_account(db, passwords, data, now):
    domain.check_account(data["username"], data["password"], data["role"], data.get("grid"),
                         data.get("resident_id"), data.get("vendor_id"))
    doc = {"_id": data["username"], "password_hash": passwords.hash(data["password"]),
           "role": data["role"], "grid": data.get("grid"), "name": data.get("name"),
           "resident_id": data.get("resident_id"), "vendor_id": data.get("vendor_id"),
           "staff_id": data.get("staff_id"),
           "person_id": data.get("resident_id") or data.get("staff_id") or data.get("vendor_id"),
           "active": True, "failures": 0, "created_at": now}
    store.insert_account(db, doc)
    return store.account_view(doc)


ACCOUNT_ADMINS = (domain.COMMUNITY_ADMIN, domain.OPERATOR)


def check_account_admin(role):
    if role not in ACCOUNT_ADMINS:
        raise domain.Forbidden("only a community admin or an operator manages accounts",
                               {"role": [f"{role} may not"]})


def login(db, passwords, tokens, lockout, username, password, now):
    account = store.find_account(db, username) if isinstance(username, str) else None
    if account is not None:
        lockout.check(account.get("failures", 0), account.get("last_failure"), now)
    ok = passwords.verify(account and account.get("password_hash"), password)
    if not ok or not account.get("active", True):
        if account is not None and not ok:
            store.record_failure(db, username, now)
        raise domain.Unauthenticated("wrong username or password",
                                     {"username": ["wrong username or password"]})
    store.record_success(db, username, now)
    token, claims, expires = tokens.issue(account, now)
    return {"token": token, "token_type": "Bearer", "expires_at": expires.isoformat(),
            "account": store.account_view(account)}


def authenticate(db, tokens, authorization, now):
    """The verified claims behind an `Authorization: Bearer` header, else Unauthenticated."""
    claims = tokens.verify(bearer(authorization), now)
    if store.is_revoked(db, claims["jti"], claims["sub"], claims["iat"]):
        raise domain.Unauthenticated("token revoked", {"authorization": ["revoked"]})
    return claims


def logout(db, claims, now):
    store.revoke(db, claims["jti"], claims["sub"], datetime.fromtimestamp(claims["exp"], UTC), now)
    return {"revoked": True}


def deactivate(db, tokens, username, now):
    if not store.set_active(db, username, False):
        raise NotFound("no such account", {"username": ["unknown account"]})
    store.revoke_all(db, username, now + tokens.ttl, now)
    return store.account_view(store.find_account(db, username))


def change_password(db, passwords, tokens, username, new_password, now):
    domain.check_account(username, new_password, domain.OPERATOR, None)
    if not store.set_password(db, username, passwords.hash(new_password)):
        raise NotFound("no such account", {"username": ["unknown account"]})
    store.revoke_all(db, username, now + tokens.ttl, now)
    return {"changed": True}


# ---------------------------------------------------------------- forwarding a route


MAX_IDS = 100  # service_request_id=a,b,c: at most this many
CSV_MAX_ROWS = 20_000  # an export larger than this is cut (and says so in a header)


def forward(services, route, role, actor, params):
    """Check the edge policy of `route` for the caller, call its RPC, return the answer.

    `role` is the account's own role (the edge policy speaks the gateway's vocabulary); `actor`
    is what the services are told."""
    rule = route.roles.get(role)
    grid = params.get(route.grid_param) if route.grid_param else None
    owner = params.get(route.owner_param) if route.owner_param else None
    domain.edge_check(rule, actor, grid, owner)  # on what the client asked for, before filling in
    for name, source in route.from_actor.items():  # an account that is this person speaks as it
        if actor.get(source):
            params[name] = actor[source]
    if rule == domain.OWN_GRID and route.grid_param and grid is None and route.method == "GET":
        params[route.grid_param] = actor.get("grid")  # a grid-scoped caller's list is its grid's
    if rule == domain.OWN_GRID and route.guard:
        record = services.call(route.service, route.guard.rpc, params.get(route.guard.arg))
        domain.check_record_grid(record, route.guard.grid_field, actor)
    result = services.call(route.service, route.rpc, *route.call(params))
    if rule == domain.OWN_GRID and route.record_grid:
        domain.check_record_grid(result, route.record_grid, actor)
    return {route.wrap: result} if route.wrap else result


def export_rows(services, route, role, actor, params):
    """Every row of a list for CSV: page after page of the hard maximum, up to CSV_MAX_ROWS.
    (rows, complete)."""
    if not route.paged:
        result = forward(services, route, role, actor, params)
        rows = route.rows(result) if route.rows else result.get(route.wrap) if route.wrap else [result]
        return rows[:CSV_MAX_ROWS], len(rows) <= CSV_MAX_ROWS
    rows, page = [], 1
    while True:
        answer = forward(services, route, role, actor, {**params, "page": page, "page_size": 100})
        rows.extend(answer["items"])
        if len(rows) >= answer["total"] or not answer["items"]:
            return rows, True
        if len(rows) >= CSV_MAX_ROWS:
            return rows[:CSV_MAX_ROWS], False
        page += 1


# ---------------------------------------------------------------- metrics at scrape time


def scrape(services, config, service_names):
    """Refresh the gauges that are read from elsewhere: each service's health (outbox backlog,
    DLQ depth) and every queue of this vhost (management API). A source that cannot be read is
    counted and its figures dropped, so a stale number never looks current."""
    from deploy.queues import ManagementApi, _vhost, queue_rows

    for name in service_names:
        try:
            report = services.call(name, "health")
        except Exception:
            metrics.SCRAPE_ERRORS.labels(name).inc()
            report = None
        metrics.set_health(name, report)
    try:
        api = ManagementApi(rabbit_api_uri(config))
        metrics.set_queues(queue_rows(api, _vhost(config["AMQP_URI"])))
    except Exception:
        metrics.SCRAPE_ERRORS.labels("rabbitmq_management").inc()
        metrics.set_queues([])


# ---------------------------------------------------------------- Open311 GeoReport v2


def issue_api_key(db, username, now):
    if store.find_account(db, username) is None:
        raise NotFound("no such account", {"username": ["unknown account"]})
    key = open311.new_key()
    store.insert_api_key(db, open311.key_id(key), username, now)
    return {"api_key": key, "username": username}


def claims_of_key(db, key, now):
    """A key stands for its account, as a token would (claims with the account's role and grid)."""
    open311.check_key(key)
    account = store.account_of_key(db, open311.key_id(key))
    if account is None or not account.get("active", True):
        raise domain.Forbidden("invalid api_key", {"api_key": ["invalid"]})
    claims = {"sub": account["_id"], "role": account["role"], "grid": account.get("grid")}
    claims.update({k: account[k] for k in ("person_id", "resident_id", "vendor_id", "staff_id")
                   if account.get(k)})
    return claims


def open311_categories(services):
    return {c["code"]: c for c in services.call("grid_events", "categories")}


def open311_post(db, services, form, now):
    report = open311.report_of(form, open311_categories(services))
    incident = services.call("grid_events", "report_incident", report)
    token = open311.new_key()
    store.insert_token(db, token, incident["incident_id"], now)
    notice = f"网格 {incident.get('grid_name') or incident.get('grid_code')} 已受理"
    return [{"service_request_id": incident["incident_id"], "token": token, "service_notice": notice,
             "account_id": None}]


def open311_requests(services, args, now):
    flt = open311.filters_of(args, now)
    labels = {code: c["label"] for code, c in open311_categories(services).items()}
    if flt["ids"]:
        found = []
        for incident_id in flt["ids"][:MAX_IDS]:
            try:
                found.append(services.call("grid_events", "get_incident", incident_id))
            except NotFound:
                continue
        return [open311.request_view(i, labels) for i in found if open311.matches(i, flt)]
    results = []
    for code in flt["codes"] or [None]:
        page, done = 1, False
        while not done and len(results) < open311.MAX_RESULTS:
            query = {"page": page, "page_size": 200, **({"category": code} if code else {})}
            answer = services.call("grid_events", "list_incidents", query)
            for incident in answer["items"]:  # newest first: past the window, the rest are older
                if flt["start"] and datetime.fromisoformat(incident["reported_at"]) < flt["start"]:
                    done = True
                    break
                if open311.matches(incident, flt):
                    results.append(open311.request_view(incident, labels))
            done = done or page * 200 >= answer["total"]
            page += 1
    results.sort(key=lambda r: r["requested_datetime"], reverse=True)
    return results[:open311.MAX_RESULTS]


def open311_request(services, incident_id):
    labels = {code: c["label"] for code, c in open311_categories(services).items()}
    return [open311.request_view(services.call("grid_events", "get_incident", incident_id), labels)]


def open311_token(db, token):
    found = store.find_token(db, token)
    if found is None:
        raise NotFound("no such token", {"token": ["unknown"]})
    return [{"service_request_id": found["service_request_id"], "token": token}]
