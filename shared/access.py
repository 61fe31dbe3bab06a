"""Who may call what: each service's access policy as data, enforced in one place.

A service declares its policy in `domain.py`, one row per RPC (a role absent from a row is refused):

    POLICY = Policy({
        "get_resident": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, RESIDENT: OWN},
        "list_stalls": {MARKET_OFFICER: ALL, VENDOR: OWN, SYSTEM: ALL},
        "health": ANYONE,
    })

and its service class says `policy = domain.POLICY`. The kit's `@rpc` entrypoint (shared/rpc.py)
checks the row before any worker runs: an RPC without a row stops the service at start; a call
with no actor, an unknown role, a role the row does not name, or an own-grid/own-records rule for
an actor without a grid/id is refused with `Forbidden`. The method then reads the caller's scope
from `self.ctx.grant` and applies it to what it loads (`grant.check(...)`) or lists
(`grant.query(...)`): the row says *whether* a role may call, the grant says *which records*.

Services, timers and handlers act as the explicit `SYSTEM` actor (`system_actor(service)`), never
as "no actor".
"""

from dataclasses import dataclass

from shared.errors import Forbidden, NotFound

# Roles: people (the gateway issues their accounts) and the services themselves.
RESIDENT = "resident"
VENDOR = "vendor"
GRID_WORKER = "grid_worker"
GRID_LIAISON = "grid_liaison"
PARTY_SECRETARY = "party_secretary"
MARKET_OFFICER = "market_officer"
INSPECTOR = "inspector"
FINANCE_OFFICER = "finance_officer"      # maker
FINANCE_APPROVER = "finance_approver"    # checker: never the maker of what they approve
COMMUNITY_ADMIN = "community_admin"      # the community office
POLICE_DESK = "police_desk"
STREET_OFFICE = "street_office"
OPERATOR = "operator"                    # runs the platform: queues, health, dead letters
SYSTEM = "system"                        # a service, its timers and its handlers

ROLES = frozenset({RESIDENT, VENDOR, GRID_WORKER, GRID_LIAISON, PARTY_SECRETARY, MARKET_OFFICER,
                   INSPECTOR, FINANCE_OFFICER, FINANCE_APPROVER, COMMUNITY_ADMIN, POLICE_DESK,
                   STREET_OFFICE, OPERATOR, SYSTEM})

# Rules: what a role's grant covers.
ALL = "all"              # every record
OWN_GRID = "own_grid"    # records of the actor's grid (actor["grid"])
OWN = "own"              # the actor's own records (actor["id"])

ANYONE = "anyone"        # a whole row: every known role, ALL (health, catalogues)


def system_actor(service_name):
    return {"id": service_name, "role": SYSTEM}


@dataclass(frozen=True)
class Grant:
    """What one caller may see and touch in one call."""

    actor: dict
    rule: str

    @property
    def role(self):
        return self.actor.get("role")

    @property
    def actor_id(self):
        return self.actor.get("id")

    @property
    def grid(self):
        return self.actor.get("grid")

    @property
    def is_all(self):
        return self.rule == ALL

    def covers(self, grid=None, owners=()):
        """Whether a record in `grid`, belonging to the ids in `owners`, is within this grant."""
        if self.rule == ALL:
            return True
        if self.rule == OWN_GRID:
            return grid is not None and grid == self.grid
        return self.actor_id is not None and self.actor_id in _as_ids(owners)

    def check(self, grid=None, owners=(), what="record", ref=None):
        """Raise NotFound for a record outside the grant: to this caller it does not exist."""
        if not self.covers(grid, owners):
            raise NotFound(f"{what} not found", {what: [f"no {what} {ref}" if ref else "not found"]})

    def query(self, grid_field=None, owner_field=None):
        """The filter that narrows a list to this grant (`{}` for ALL)."""
        if self.rule == ALL:
            return {}
        if self.rule == OWN_GRID:
            if not grid_field:
                raise Forbidden("not allowed for a grid-scoped role", {"role": [self.role]})
            return {grid_field: self.grid}
        if not owner_field:
            raise Forbidden("not allowed for this role", {"role": [self.role]})
        return {owner_field: self.actor_id}


def _as_ids(owners):
    return {owners} if isinstance(owners, str) else set(owners or ())


class Policy:
    """role × operation → rule, for one service."""

    def __init__(self, rows):
        self.rows = {}
        for operation, row in rows.items():
            if row == ANYONE:
                row = dict.fromkeys(ROLES, ALL)
            unknown = set(row) - ROLES
            if unknown:
                raise ValueError(f"policy row {operation!r} names unknown roles {sorted(unknown)}")
            bad = {r for r in row.values() if r not in (ALL, OWN_GRID, OWN)}
            if bad:
                raise ValueError(f"policy row {operation!r} has unknown rules {sorted(bad)}")
            self.rows[operation] = dict(row)

    def __contains__(self, operation):
        return operation in self.rows

    def missing(self, operations):
        return sorted(set(operations) - set(self.rows))

    def grant(self, operation, actor):
        """The caller's grant for `operation`, or Forbidden."""
        if not isinstance(actor, dict) or not actor.get("role"):
            raise Forbidden("who is calling? a call without an actor is refused", {"actor": ["required"]})
        role = actor["role"]
        if role not in ROLES:
            raise Forbidden("unknown role", {"role": [f"unknown role {str(role)[:40]}"]})
        rule = self.rows.get(operation, {}).get(role)
        if rule is None:
            raise Forbidden(f"{role} may not {operation}", {"role": [f"{role} may not {operation}"]})
        if rule == OWN_GRID and not actor.get("grid"):
            raise Forbidden("a grid-scoped role needs a grid", {"grid": ["the actor has no grid"]})
        if rule == OWN and not actor.get("id"):
            raise Forbidden("own records need an actor id", {"actor": ["the actor has no id"]})
        return Grant(actor, rule)
