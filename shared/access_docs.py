"""Generate the platform's one table of who may do what (docs/access.md) from the services' policies.

    python -m shared.access_docs > docs/access.md     regenerate (make docs)
    python -m shared.access_docs --check              fail if docs/access.md is stale

One row per RPC of every service, one column per role: `all` (every record), `grid` (the
actor's own grid), `own` (the actor's own records), blank (refused). The tests that hold the
services to it are their hand-written matrices (tests/integration/*/test_access_matrix.py).
"""

import importlib
import sys
from pathlib import Path

from shared.access import ALL, OWN, OWN_GRID, ROLES, SYSTEM
from shared.events import docs

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "access.md"
FIRST = ("registry", "grid_events", "notifications", "market", "finance")  # then the rest, by name
# people first, in the order of the community's work; the services' own actor last
COLUMNS = ("resident", "vendor", "grid_worker", "grid_liaison", "party_secretary", "market_officer",
           "inspector", "finance_officer", "finance_approver", "community_admin", "police_desk",
           "street_office", "operator", SYSTEM)
CELL = {ALL: "all", OWN_GRID: "grid", OWN: "own"}


def services():
    """Every `services/<name>/service.py`, the community's own first: a new service is found."""
    names = sorted(p.parent.name for p in ROOT.glob("services/*/service.py"))
    return [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]


def policies():
    found = {}
    for service in services():
        module = importlib.import_module(f"services.{service}.service")
        cls = next(c for c in vars(module).values()
                   if isinstance(c, type) and getattr(c, "name", None) == service)
        found[service] = cls.policy
    return found


def render():
    assert set(COLUMNS) == ROLES, "a role is missing from the columns"
    lines = [
        "# Who may do what",
        "",
        "Generated from each service's `domain.POLICY` by `python -m shared.access_docs` (`make docs`);",
        "a test fails when it is stale. `all`: every record; `grid`: the actor's own grid; `own`: the",
        "actor's own records (their inbox, their reports, their stall); blank: refused. A call without",
        "an actor, or with a role not listed, is refused by the kit before any worker runs. Over HTTP",
        "the gateway applies the same roles at its edge (services/gateway/routes.py). Personal data",
        "(ID numbers, phones, staff's too) is masked in what a role reads unless it needs it: see each",
        "service's README.",
        "",
        "| service | RPC | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for service, policy in policies().items():
        for operation in sorted(policy.rows):
            row = policy.rows[operation]
            cells = [CELL.get(row.get(role), "") for role in COLUMNS]
            lines.append(f"| {service} | `{operation}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(docs.main(sys.argv[1:], DOC, render))
