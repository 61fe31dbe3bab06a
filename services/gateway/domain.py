"""The gateway's own rules (no I/O): roles, the actor a token stands for, the edge policy of a
route, lockout after failed logins, and how a refusal becomes an HTTP status.

The gateway holds no business rule of another service. What it decides is who is calling (from
the token only) and a coarse first filter per route: which roles may reach it at all, and for
grid-scoped or own-record roles, that the grid or record named in the request is theirs. The
service behind the route applies its own, finer policy again.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

# ---------------------------------------------------------------- roles
# The role vocabulary is the platform's own (shared/access.py); the gateway issues accounts of the
# people's roles, never of the services' SYSTEM role.
from shared.access import (  # noqa: E402
    COMMUNITY_ADMIN,
    FINANCE_APPROVER,
    FINANCE_OFFICER,
    GRID_LIAISON,
    GRID_WORKER,
    INSPECTOR,
    MARKET_OFFICER,
    OPERATOR,
    PARTY_SECRETARY,
    POLICE_DESK,
    RESIDENT,
    STREET_OFFICE,
    VENDOR,
)
from shared.errors import CommandRefused, Forbidden, InvalidInput, NotFound

ROLES = (RESIDENT, VENDOR, GRID_WORKER, GRID_LIAISON, PARTY_SECRETARY, MARKET_OFFICER, INSPECTOR,
         FINANCE_OFFICER, FINANCE_APPROVER, COMMUNITY_ADMIN, POLICE_DESK, STREET_OFFICE, OPERATOR)
# An account of these roles works in one grid: it must name it, and the edge keeps it there.
GRID_ROLES = (GRID_WORKER, GRID_LIAISON, PARTY_SECRETARY)
STAFF = (GRID_WORKER, GRID_LIAISON, PARTY_SECRETARY, MARKET_OFFICER, INSPECTOR, FINANCE_OFFICER,
         FINANCE_APPROVER, COMMUNITY_ADMIN, POLICE_DESK, STREET_OFFICE)

def actor_of(claims):
    """The actor passed on to services, from a verified token's claims only.

    `id` is the person the account stands for in the registry (resident or staff id) when it has
    one, so services' own-record rules compare like with like; otherwise the account name."""
    actor = {"id": claims.get("person_id") or claims["sub"], "role": claims["role"],
             "grid": claims.get("grid"), "account": claims["sub"]}
    for key in ("resident_id", "vendor_id", "staff_id"):
        if claims.get(key):
            actor[key] = claims[key]
    return actor


# ---------------------------------------------------------------- accounts

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,39}$")
MIN_PASSWORD = 10


def check_account(username, password, role, grid, resident_id=None, vendor_id=None):
    """Raise InvalidInput unless an account of this shape may exist."""
    problems = {}
    if not USERNAME.match(username or ""):
        problems["username"] = ["3 to 40 of a-z 0-9 _ . -, starting with a letter or digit"]
    if len(password or "") < MIN_PASSWORD:
        problems["password"] = [f"at least {MIN_PASSWORD} characters"]
    if role not in ROLES:
        problems["role"] = [f"one of {list(ROLES)}"]
    elif role in GRID_ROLES and not grid:
        problems["grid"] = [f"a {role} works in a grid"]
    if role == RESIDENT and not resident_id:
        problems["resident_id"] = ["a resident account names its resident"]
    if role == VENDOR and not vendor_id:
        problems["vendor_id"] = ["a vendor account names its vendor"]
    if problems:
        raise InvalidInput("invalid account", problems)


@dataclass(frozen=True)
class Lockout:
    """After `attempts` failures in a row, logins wait `minutes` (then one more try is allowed)."""

    attempts: int = 5
    minutes: int = 15

    def locked_until(self, failures, last_failure: datetime | None):
        if failures < self.attempts or last_failure is None:
            return None
        return last_failure + timedelta(minutes=self.minutes)

    def check(self, failures, last_failure, now):
        until = self.locked_until(failures, last_failure)
        if until is not None and now < until:
            raise TooManyAttempts(int((until - now).total_seconds()) + 1)


class Unauthenticated(CommandRefused):
    """No valid token (missing, malformed, expired, revoked) or wrong credentials."""

    code = "unauthenticated"
    http_status = 401


class TooManyAttempts(CommandRefused):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, retry_after, *args):
        self.retry_after = retry_after
        super().__init__(f"too many failed logins: try again in {retry_after} s",
                         {"username": ["temporarily locked"]})


# ---------------------------------------------------------------- the edge policy of a route

ALL = "all"            # the role reaches every record the service shows it
OWN_GRID = "own_grid"  # only its grid: a grid named in the request must be the actor's
OWN = "own"            # only its own records: an id named in the request must be the actor's
PUBLIC = "public"      # no token needed (login, discovery, the API document)


def edge_check(rule, actor, grid=None, owner=None):
    """Raise if `actor` may not make this request at the edge.

    `rule`: the route's rule for the actor's role (None: the role is not on the route).
    A grid outside the actor's is refused (403: the grid exists, the actor may not look there);
    someone else's record is invisible (404), as it is in the services."""
    if rule is None:
        raise Forbidden("your role may not do this", {"role": [f"{actor['role']} may not"]})
    if rule == OWN_GRID and grid is not None and grid != actor.get("grid"):
        raise Forbidden("outside your grid", {"grid_code": [f"{grid} is not your grid"]})
    if rule == OWN and owner is not None and owner not in _own_ids(actor):
        raise NotFound("not found", {"id": ["not found"]})


def check_record_grid(record, grid_field, actor):
    """A grid-scoped caller sees records of its own grid only: others are invisible (404)."""
    if isinstance(record, dict) and record.get(grid_field) not in (None, actor.get("grid")):
        raise NotFound("not found", {"id": ["not found"]})


def _own_ids(actor):
    return {actor.get(k) for k in ("id", "resident_id", "vendor_id", "staff_id") if actor.get(k)}


# ---------------------------------------------------------------- refusals as HTTP

VALIDATION_STATUS = 422  # well-formed JSON whose fields fail their schema
MALFORMED_STATUS = 400   # not JSON, not an object, wrong parameter types the gateway parses


def http_status(exc):
    """The one mapping from a refusal to a status; anything unknown is a 500."""
    if isinstance(exc, InvalidInput):
        return getattr(exc, "http_status_override", None) or VALIDATION_STATUS
    if isinstance(exc, CommandRefused):
        return getattr(exc, "http_status", 409)
    return 500


def malformed(message, field="body", reason=None):
    """A request the gateway cannot read at all (400, not 422)."""
    exc = InvalidInput(message, {field: [reason or message]})
    exc.http_status_override = MALFORMED_STATUS
    exc.code = "malformed_request"
    return exc
