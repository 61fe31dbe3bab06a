"""Demo accounts, one per role, linked to people of the demo community where the role is a person's:

    python -m services.gateway.demo --load      # after the registry's demo load (make run does both)

Accounts that exist already are left alone, so passwords are printed once: when made. Grid roles
work in G3 (grid 3); the resident account is a resident of G3; the staff accounts stand for the
demo community's staff posts. `python -m services.gateway.demo --reset USER` sets a new password.
"""

import eventlet

eventlet.monkey_patch()  # before pymongo and nameko's client make their sockets

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from pymongo import MongoClient  # noqa: E402

from services.gateway import domain, store, use_cases  # noqa: E402
from shared import clock  # noqa: E402
from shared.loading import client_config  # noqa: E402

GRID = "G3"
LINKED_POSTS = {domain.GRID_WORKER: "grid_worker", domain.GRID_LIAISON: "liaison",
                domain.PARTY_SECRETARY: "branch_secretary", domain.COMMUNITY_ADMIN: "community_office",
                domain.POLICE_DESK: "police_desk", domain.STREET_OFFICE: "street_office"}


# the gateway's database server in the last `make run` (each service has its own there)
RECORDED_MONGO_URI = Path(__file__).resolve().parents[2] / ".run" / "mongo_uri.gateway"


def database():
    uri = os.environ.get("MONGO_URI") or (
        RECORDED_MONGO_URI.read_text().strip() if RECORDED_MONGO_URI.exists()
        else "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false")
    return MongoClient(uri, tz_aware=True)[f"{os.environ.get('MONGO_DB_PREFIX', '')}gateway"]


def people(registry):
    """Whom each demo account stands for: {role: {staff_id | resident_id}}."""
    linked = {}
    for role, post in LINKED_POSTS.items():
        grid = GRID if role in domain.GRID_ROLES else None
        staff = [s for s in registry.list_staff({"role": post}) if grid is None or s.get("grid_code") == grid]
        if staff:
            linked[role] = {"staff_id": staff[0]["staff_id"]}
    found = registry.find_residents({"grid_code": GRID, "page_size": 1})["items"]
    if found:
        linked[domain.RESIDENT] = {"resident_id": found[0]["resident_id"]}
    linked[domain.VENDOR] = {"vendor_id": "V-DEMO-0001"}  # the market assigns real ones
    return linked


def load(db, registry, passwords):
    made = []
    linked = people(registry) if registry is not None else {}
    for role in domain.ROLES:
        username = f"demo-{role.replace('_', '-')}"
        if store.find_account(db, username):
            continue
        password = secrets.token_urlsafe(12)
        data = {"username": username, "password": password, "role": role, "name": f"demo {role}",
                "grid": GRID if role in domain.GRID_ROLES else None, **linked.get(role, {})}
        if role == domain.RESIDENT and not data.get("resident_id"):
            continue  # no demo community loaded: no resident to stand for
        use_cases.create_account(db, passwords, data, clock.now())
        made.append((username, password, role, data.get("grid") or "", next(
            (data[k] for k in ("resident_id", "staff_id", "vendor_id") if data.get(k)), "")))
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--reset", metavar="USERNAME")
    args = parser.parse_args(argv)
    db, passwords = database(), use_cases.Passwords()
    if args.reset:
        password = secrets.token_urlsafe(12)
        ttl = use_cases.Tokens("x" * 32).ttl
        if not store.set_password(db, args.reset, passwords.hash(password)):
            print(f"no account {args.reset}", file=sys.stderr)
            return 1
        store.revoke_all(db, args.reset, clock.now() + ttl, clock.now())
        print(f"{args.reset}: {password}")
        return 0
    if args.load:
        from nameko.standalone.rpc import ClusterRpcProxy

        config = client_config()
        actor = {"id": "gateway-demo", "role": "community_admin"}
        with ClusterRpcProxy(config, timeout=60, context_data={"actor": actor}) as cluster:
            made = load(db, cluster.registry, passwords)
        if made:
            print("Demo accounts (passwords are shown this once; reset: "
                  "python -m services.gateway.demo --reset USER):")
            print(f"  {'username':28} {'password':18} {'role':17} {'grid':5} person")
            for row in made:
                print(f"  {row[0]:28} {row[1]:18} {row[2]:17} {row[3]:5} {row[4]}")
        else:
            print("Demo accounts exist already (reset one: python -m services.gateway.demo --reset USER)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
