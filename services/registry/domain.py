"""The registry's rules, without I/O: who may call what (POLICY), identity numbers, phones, ages, masking,
and the small state machines of residents, staff posts and shareholdings.

Every function here is pure: the service loads documents, asks the domain, and writes in one
transaction. Refusals are `shared.errors` exceptions naming the field.
"""

import re
from datetime import UTC, date, datetime, timedelta

from shared.access import (
    ALL,
    ANYONE,
    COMMUNITY_ADMIN,
    FINANCE_APPROVER,
    FINANCE_OFFICER,
    GRID_LIAISON,
    GRID_WORKER,
    INSPECTOR,
    MARKET_OFFICER,
    OWN,
    OWN_GRID,
    PARTY_SECRETARY,
    POLICE_DESK,
    RESIDENT,
    STREET_OFFICE,
    SYSTEM,
    Policy,
)
from shared.errors import Conflict, Forbidden, InvalidInput, invalid
from shared.personal import mask_email, mask_id_number, mask_phone

ACTIVE, MOVED_OUT, DECEASED = "active", "moved_out", "deceased"
RESIDENT_STATUSES = (ACTIVE, MOVED_OUT, DECEASED)
HOUSEHOLD_KINDS = ("owner", "rented_out", "tenant")
ELDERLY_AGE = 60
ADULT_AGE = 18
TURNED_60_CATCH_UP_DAYS = 31  # a 60th birthday missed while the service was down is still announced

# Four levels of the party organisation (党组织), top down.
PARTY_LEVELS = ("committee", "general_branch", "joint_branch", "party_group")
PARTY_PARENT_LEVEL = {"general_branch": "committee", "joint_branch": "general_branch",
                      "party_group": "joint_branch"}

SHAREHOLDER_STATUSES = ("active", "suspended", "withdrawn")
ORGANISATION_KINDS = ("co_building_unit", "social_organisation", "volunteer_team")

TAG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
IN_DIFFICULTY = "in_difficulty"
PARTY_MEMBER = "party_member"


# --- time -------------------------------------------------------------------------------------

def years_before(day, years):
    """The same calendar day `years` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth_date, day):
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_group(age):
    """Derived, never stored: child (under 18), adult, elderly (60+)."""
    if age < ADULT_AGE:
        return "child"
    return "elderly" if age >= ELDERLY_AGE else "adult"


def birth_date_range(today, age_min=None, age_max=None):
    """Birth dates of people aged between age_min and age_max (inclusive) on `today`:
    (earliest exclusive, latest inclusive), each None when unbounded."""
    latest = years_before(today, age_min) if age_min is not None else None
    earliest = years_before(today, age_max + 1) if age_max is not None else None
    return earliest, latest


def turned_60_window(today):
    """Birth dates whose 60th birthday fell on or before today and within the catch-up window:
    (earliest exclusive, latest inclusive). Older people did not *reach* 60 now."""
    latest = years_before(today, ELDERLY_AGE)
    return latest - timedelta(days=TURNED_60_CATCH_UP_DAYS), latest


def as_datetime(day):
    """Dates are stored as UTC midnights (BSON has no date type)."""
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_date(value):
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return value.date()


# --- contact (ID and phone numbers follow the kit's rules: shared/personal.py) -------------

def check_tags(tags):
    bad = [t for t in tags if not TAG_PATTERN.match(t)]
    if bad:
        raise invalid("tags", f"tags are lowercase words with underscores: {bad}")
    return sorted(set(tags))


# --- masking --------------------------------------------------------------------------------

def present_resident(doc, today, full=False):
    """A resident as a caller may see them (schemas.ResidentView dumps it): personal data masked
    unless `full`, age and age group as of `today`."""
    age = age_on(as_date(doc["birth_date"]), today)
    shown = {**doc, "age": age, "age_group": age_group(age), "masked": not full}
    if not full:
        shown.update(id_number=mask_id_number(doc["id_number"]), phone=mask_phone(doc.get("phone")),
                     email=mask_email(doc.get("email")))
    if doc.get("difficulty"):
        shown["difficulty_reason"] = doc["difficulty"]["reason"]
    return shown


# --- who may see and do what ----------------------------------------------------------------
# One row per RPC (shared/access.py): a role the row does not name is refused before any worker
# runs, as is a call with no actor or an unknown role. ALL: every record; OWN_GRID: the records of
# the actor's grid (`actor.grid`); OWN: the actor's own records (`actor.id` = their resident id).
# Other services (grid_events, finance) call as SYSTEM, through shared/proxy.py. A record outside
# the caller's grant does not exist to them (NotFound); creating something in another grid, or
# naming another grid in a list's filter, is Forbidden.

OFFICE = {COMMUNITY_ADMIN: ALL, SYSTEM: ALL}                 # the community office administers
READERS = {**OFFICE, POLICE_DESK: ALL, GRID_WORKER: OWN_GRID}  # residents, households, staff
GRID_WRITERS = {**OFFICE, GRID_WORKER: OWN_GRID}             # registrations in the worker's grid
SHAREHOLDER_READERS = {**OFFICE, FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL}
STAFF_ACCOUNTS = (GRID_WORKER, GRID_LIAISON, PARTY_SECRETARY, MARKET_OFFICER, INSPECTOR, FINANCE_OFFICER,
                  FINANCE_APPROVER, COMMUNITY_ADMIN, POLICE_DESK, STREET_OFFICE)

POLICY = Policy({
    # grids and staff posts
    "define_grid": OFFICE,
    "get_grid": READERS,
    "list_grids": ANYONE,               # codes, names, buildings, the grid worker's name
    "grid_of_address": ANYONE,
    "assign_grid_staff": OFFICE,
    "list_staff": READERS,
    # households and residents
    "register_household": GRID_WRITERS,
    "import_households": OFFICE,
    "get_household": READERS,
    "list_households": READERS,
    "register_resident": GRID_WRITERS,
    "import_residents": OFFICE,
    "get_resident": {**READERS, RESIDENT: OWN},
    "find_residents": READERS,
    "update_resident": GRID_WRITERS,
    "move_out": GRID_WRITERS,
    "record_death": GRID_WRITERS,
    "flag_difficulty": GRID_WRITERS,
    "list_full_reads": {COMMUNITY_ADMIN: ALL},  # the audit of personal data reads: the office only
    # party organisation
    "define_party_unit": OFFICE,
    "list_party_units": {**OFFICE, PARTY_SECRETARY: ALL},
    "register_party_member": OFFICE,
    "import_party_members": OFFICE,
    "list_party_members": {**OFFICE, PARTY_SECRETARY: OWN_GRID},
    # shareholders of the cooperative
    "enroll_shareholder": OFFICE,
    "import_shareholders": OFFICE,
    "change_shares": OFFICE,
    "list_shareholders": SHAREHOLDER_READERS,
    "shareholder_history": SHAREHOLDER_READERS,
    # organisations
    "register_organisation": OFFICE,
    "list_organisations": {**dict.fromkeys(STAFF_ACCOUNTS, ALL), SYSTEM: ALL},
    # operations
    "has_residents": OFFICE,
    "stats": {**OFFICE, STREET_OFFICE: ALL},
    "health": ANYONE,
})

# Who sees a staff member's phone and email in clear (a staff member always sees their own).
CLEAR_STAFF_CONTACT = frozenset({COMMUNITY_ADMIN})


def present_staff(doc, grant):
    """A staff post as the caller may see it: contact details masked unless the role needs them."""
    if grant.role in CLEAR_STAFF_CONTACT or (grant.actor_id and grant.actor_id == doc.get("staff_id")):
        return doc
    return {**doc, "phone": mask_phone(doc.get("phone")), "email": mask_email(doc.get("email"))}


def scoped_grids(grant, requested, field="grid_code"):
    """The grids a listing is limited to (None: every grid). A grid-scoped caller lists their own
    grid; naming another grid in the filter is Forbidden."""
    if grant.is_all:
        return requested
    outside = sorted(set(requested or ()) - {grant.grid})
    if outside:
        raise Forbidden("outside your grid", {field: [f"{code} is not your grid" for code in outside]})
    return [grant.grid]


def check_grid_write(grant, grid_code, field, ref):
    """Creating or moving something into `grid_code`: Forbidden outside the caller's grid."""
    if not grant.covers(grid=grid_code):
        raise Forbidden("outside your grid", {field: [f"{ref} is in grid {grid_code}, not yours"]})


def check_full_read(grant, full, reason):
    """A full read states its reason; a service on its own authority reads masked records only."""
    if not full:
        return
    if grant.role == SYSTEM:
        raise Forbidden("a system call sees masked records only", {"full": ["not allowed"]})
    if not reason:
        raise invalid("reason", "a full read must state its reason")


# --- grids and addresses --------------------------------------------------------------------

def check_grid_definition(code, buildings, owners):
    """`owners`: {building: grid code} of buildings already in some grid."""
    taken = sorted(b for b in buildings if owners.get(b) not in (None, code))
    if taken:
        raise Conflict("buildings belong to another grid",
                       {"buildings": [f"{b} is in grid {owners[b]}" for b in taken]})
    if len(set(buildings)) != len(buildings):
        raise invalid("buildings", "listed twice")


def grid_for_building(building, grid):
    if grid is None:
        raise invalid("building", f"address outside every grid: building {building!r}")
    return grid


def check_household(kind, landlord):
    """`landlord`: the landlord household document, None if absent or not given."""
    if landlord is not None and kind != "tenant":
        raise invalid("landlord_household_id", "only a tenant household has a landlord")
    if landlord is not None and landlord["kind"] not in ("owner", "rented_out"):
        raise invalid("landlord_household_id", "the landlord household must own its unit")


# --- residents ------------------------------------------------------------------------------

def residence_dates(residence_type, registered_on, expires_on, today):
    """Registration and expiry dates; only floating residents (流动人口) have an expiry."""
    registered_on = registered_on or today
    if registered_on > today:
        raise invalid("registered_on", "in the future")
    if residence_type == "registered" and expires_on is not None:
        raise invalid("expires_on", "only a floating resident's registration expires")
    if expires_on is not None and expires_on <= registered_on:
        raise invalid("expires_on", "must be after registered_on")
    return registered_on, expires_on


def check_departure(resident, on, field, today):
    """Moving out or dying: only an active resident, on a plausible day."""
    if resident["status"] != ACTIVE:
        raise Conflict(f"resident is {resident['status']}", {"resident_id": [f"status {resident['status']}"]})
    if on > today:
        raise invalid(field, "in the future")
    if on < as_date(resident["birth_date"]):
        raise invalid(field, "before the birth date")


def resident_changes(resident, requested):
    """The fields of `requested` whose value differs from `resident` (dates stay dates)."""
    changes = {}
    for key, value in requested.items():
        current = resident.get(key)
        if isinstance(current, datetime):
            current = current.date()
        if value != current:
            changes[key] = value
    return changes


def event_changes(changes):
    """`changes` made JSON-ready for the resident_updated event."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()}


# --- staff posts ----------------------------------------------------------------------------

def check_staff_post(role, grid_code, grid_exists):
    if role in ("grid_worker", "liaison") and grid_code is None:
        raise invalid("grid_code", f"a {role} works in a grid")
    if grid_code is not None and not grid_exists:
        raise invalid("grid_code", f"unknown grid {grid_code!r}")


# --- party organisation ---------------------------------------------------------------------

def check_party_unit(level, parent):
    """`parent`: the parent unit document (None if absent)."""
    wanted = PARTY_PARENT_LEVEL.get(level)
    if wanted is None:
        if parent is not None:
            raise invalid("parent_code", "the community party committee has no parent")
        return
    if parent is None:
        raise invalid("parent_code", f"a {level} belongs to a {wanted}")
    if parent["level"] != wanted:
        raise invalid("parent_code", f"a {level} belongs to a {wanted}, not a {parent['level']}")


def check_party_member(resident, joined_on, transferred_in_on, today):
    if resident["status"] != ACTIVE:
        raise Conflict(f"resident is {resident['status']}", {"resident_id": [f"status {resident['status']}"]})
    if joined_on > today:
        raise invalid("joined_on", "in the future")
    if joined_on < as_date(resident["birth_date"]):
        raise invalid("joined_on", "before the birth date")
    if transferred_in_on is not None and transferred_in_on < joined_on:
        raise invalid("transferred_in_on", "before joined_on")


# --- shareholders ---------------------------------------------------------------------------

SHAREHOLDING_FIELDS = ("shares", "group", "status")


def shareholding_change(current, requested):
    """(before, after) of the fields that change; Conflict if nothing does or it is withdrawn."""
    if current["status"] == "withdrawn":
        raise Conflict("the shareholding was withdrawn", {"shareholder_id": ["withdrawn"]})
    before, after = {}, {}
    for key in SHAREHOLDING_FIELDS:
        if requested.get(key) is not None and requested[key] != current[key]:
            before[key], after[key] = current[key], requested[key]
    if not after:
        raise InvalidInput("nothing to change", {"shares": ["no change requested"]})
    return before, after
