"""Grid work (网格事件): the pure rules, no I/O.

Incidents (事件) follow a state machine with a history; two SLA clocks (one per state, one
overall per category) drive an escalation ladder. Visits (三必访), door-to-door campaigns
(入户走访), service-window requests (一站式服务窗口, "no veto" 不说不) and CCTV folding are
here too. Everything takes the time it needs as an argument: nothing reads a clock.
"""

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.access import (
    ALL,
    ANYONE,
    COMMUNITY_ADMIN,
    GRID_LIAISON,
    GRID_WORKER,
    OWN,
    OWN_GRID,
    PARTY_SECRETARY,
    POLICE_DESK,
    RESIDENT,
    STREET_OFFICE,
    SYSTEM,
    Grant,
    Policy,
    system_actor,
)
from shared.clock import local_date
from shared.context import actor_id, actor_role
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, not_found
from shared.events import grid_events as catalogue
from shared.events.grid_events import ESCALATION_LADDER, HIGH, LOW, NORMAL, URGENT


def new_id(prefix: str, moment: datetime) -> str:
    """A readable id: INC-261102-7F3A9C (prefix, local date, random part)."""
    return f"{prefix}-{local_date(moment):%y%m%d}-{secrets.token_hex(3).upper()}"


# ---------------------------------------------------------------- who may do what
#
# The row says whether a role may call an RPC (the kit refuses the others before any worker
# runs); the rule says which records its grant covers: ALL, OWN_GRID (records of the actor's
# grid: a grid worker acts in their own grid only) or OWN (a resident's own reports and
# requests). Services, timers and handlers act as SYSTEM. A record outside the caller's grant
# does not exist for them (NotFound, as if it were missing); a command naming a grid outside it
# is refused (Forbidden). Roles a row does not name are refused.

STAFF = {COMMUNITY_ADMIN: ALL, POLICE_DESK: ALL, GRID_WORKER: OWN_GRID, SYSTEM: ALL}
OFFICE = {COMMUNITY_ADMIN: ALL, SYSTEM: ALL}
REPORTER = {RESIDENT: OWN, COMMUNITY_ADMIN: ALL, SYSTEM: ALL}  # the reporter, or the office for them

POLICY = Policy({
    "health": ANYONE,
    "categories": ANYONE,
    # incidents
    "report_incident": {**STAFF, RESIDENT: OWN},
    "get_incident": {**STAFF, RESIDENT: OWN},
    "list_incidents": {**STAFF, RESIDENT: OWN},
    "dispatch": STAFF,
    "accept": STAFF,
    "start": STAFF,
    "resolve": STAFF,
    "reject": STAFF,
    "merge_duplicate": STAFF,
    "request_extension": STAFF,
    "grant_extension": OFFICE,
    "close": REPORTER,  # the handler does not close their own work
    "reopen": REPORTER,
    "rate": REPORTER,
    "grid_stats": {**STAFF, STREET_OFFICE: ALL, GRID_LIAISON: OWN_GRID, PARTY_SECRETARY: OWN_GRID},
    "all_grid_stats": {COMMUNITY_ADMIN: ALL, POLICE_DESK: ALL, STREET_OFFICE: ALL, SYSTEM: ALL},
    # the three must-visits
    "list_visit_tasks": STAFF,
    "list_visit_logs": STAFF,
    "record_visit": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, SYSTEM: ALL},
    "create_year_end_visits": OFFICE,
    # door-to-door campaigns
    "start_campaign": OFFICE,
    "record_household_visit": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, SYSTEM: ALL},
    "campaign_coverage": {COMMUNITY_ADMIN: ALL, STREET_OFFICE: ALL, GRID_WORKER: OWN_GRID, SYSTEM: ALL},
    # service windows
    "submit_window_request": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, RESIDENT: OWN, SYSTEM: ALL},
    "get_window_request": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, RESIDENT: OWN, SYSTEM: ALL},
    "transfer_window_request": OFFICE,
    "escalate_window_request": OFFICE,
    "complete_window_request": OFFICE,
    # mediation, patrols, CCTV
    "open_mediation": STAFF,
    "record_mediation_session": STAFF,
    "start_patrol": STAFF,
    "patrol_checkin": STAFF,
    "end_patrol": STAFF,
    "register_camera": {COMMUNITY_ADMIN: ALL, POLICE_DESK: ALL, SYSTEM: ALL},
    "cctv_alarm": {COMMUNITY_ADMIN: ALL, POLICE_DESK: ALL, SYSTEM: ALL},
})

# What the service does on its own authority (timers, event handlers).
SERVICE = Grant(system_actor("grid_events"), ALL)


def check_visible(grant, what, field, value, grid=None, owners=()):
    """A record outside `grant` does not exist for its caller: the same NotFound as a missing one."""
    if not grant.covers(grid, owners):
        raise not_found(what, field, value)


def check_acts_in(grant, grid_code, field="grid_code"):
    """A command that puts a record in `grid_code`: a grid-scoped caller may only use their own."""
    if grant.rule == OWN_GRID and grid_code != grant.grid:
        raise Forbidden("a grid worker acts in their own grid only",
                        {field: [f"{grid_code} is not your grid"]})


def grid_scope(grant, requested):
    """The grid a list is narrowed to: the caller's own for a grid-scoped caller (Forbidden when
    they ask for another), else what they asked for (None: every grid)."""
    if grant.rule != OWN_GRID:
        return requested
    check_acts_in(grant, requested or grant.grid)
    return grant.grid


def check_report(data, grant):
    """A resident reports as themself, from a resident's point of view: the source, the priority
    and who reported are staff's to set."""
    if grant.role != RESIDENT:
        return
    refused = {}
    if data.get("source") not in (None, "resident"):
        refused["source"] = ["a resident's report has source resident"]
    if data.get("priority"):
        refused["priority"] = ["the priority is set by the category or by staff"]
    if data.get("reporter_resident_id") not in (None, grant.actor_id):
        refused["reporter_resident_id"] = ["a resident reports as themself"]
    if refused:
        raise Forbidden("not for a resident to set", refused)


def reporter_of(data, grant):
    """A resident reports as themself; staff may name the resident they report for."""
    return grant.actor_id if grant.role == RESIDENT else data.get("reporter_resident_id")


def campaign_covers(grant, campaign):
    """A grid worker sees a campaign that visits their grid (and only their grid's households)."""
    return grant.rule != OWN_GRID or grant.grid in campaign["grid_codes"]


def mediation_grid(grant, incident, requested):
    """The grid a new mediation belongs to: its incident's, else the one named, else a grid
    worker's own (the office may open a community-wide one, with no grid)."""
    if incident is not None:
        if requested and requested != incident["grid_code"]:
            raise InvalidInput("the incident is in another grid",
                               {"grid_code": [f"the incident is in {incident['grid_code']}"]})
        return incident["grid_code"]
    grid = requested or (grant.grid if grant.rule == OWN_GRID else None)
    check_acts_in(grant, grid)
    return grid


# ---------------------------------------------------------------- routing


def assignee(cat, staff):
    """Who handles a report of category `cat`, among the grid's current `staff` (read model
    documents {_id, role, grid_code, assigned_at}): the latest holder of the handling role."""
    holders = sorted((s for s in staff if s["role"] == cat.handling_role),
                     key=lambda s: s.get("assigned_at") or datetime.min.replace(tzinfo=UTC))
    return holders[-1]["_id"] if holders else None


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Tunable rules, from the GRID_EVENTS section of the config (shared.config)."""

    auto_close_days: int = 7
    duplicate_window_hours: int = 24
    duplicate_distance_m: float = 100.0
    escalation_step_minutes: int = 30
    cctv_fold_minutes: int = 30
    move_in_visit_days: int = 30
    difficulty_visit_days: int = 3
    year_end_visits_from_month: int = 12

    @classmethod
    def from_section(cls, section):
        known = {k: type(getattr(cls, k))(v) for k, v in section.items() if hasattr(cls, k)}
        return cls(**known)


# ---------------------------------------------------------------- categories


@dataclass(frozen=True)
class Category:
    """One entry of the category catalogue: default priority, SLA and who handles it."""

    code: str
    label: str
    priority: str
    accept_minutes: int  # state clock: dispatched -> accepted
    start_minutes: int  # state clock: accepted -> in_progress
    overall_hours: int  # overall clock: reported -> resolved
    handling_role: str = "grid_worker"
    police: bool = False


DISPATCH_MINUTES = 30  # state clock of an incident no grid worker could be found for

def _category(code, priority, accept_minutes, start_minutes, overall_hours, **rest):
    return Category(code, catalogue.CATEGORIES[code], priority, accept_minutes, start_minutes,
                    overall_hours, **rest)


# The codes, labels and priorities are the catalogue's (consumers read them); the SLAs are ours.
CATEGORIES = {c.code: c for c in (
    _category("dispute", NORMAL, 30, 240, 72),
    _category("public_order", URGENT, 15, 30, 24, police=True),
    _category("sanitation", NORMAL, 30, 240, 48),
    _category("facilities", NORMAL, 30, 480, 120),
    _category("fire_safety", URGENT, 10, 30, 24),
    _category("fraud_prevention", HIGH, 15, 60, 48, police=True),
    _category("epidemic_prevention", HIGH, 15, 60, 24),
    _category("illegal_parking", NORMAL, 30, 60, 24),
    _category("noise", NORMAL, 30, 60, 24),
    _category("market_disorder", NORMAL, 30, 60, 48),
    _category("other", LOW, 60, 480, 168),
)}


def category(code: str) -> Category:
    try:
        return CATEGORIES[code]
    except KeyError:
        raise InvalidInput("unknown category", {"category": [f"must be one of {sorted(CATEGORIES)}"]}) \
            from None


# ---------------------------------------------------------------- lifecycle

REPORTED, DISPATCHED, ACCEPTED, IN_PROGRESS = "reported", "dispatched", "accepted", "in_progress"
RESOLVED, CLOSED, REJECTED, DUPLICATE, REOPENED = "resolved", "closed", "rejected", "duplicate", "reopened"
STATUSES = (REPORTED, DISPATCHED, ACCEPTED, IN_PROGRESS, RESOLVED, CLOSED, REJECTED, DUPLICATE, REOPENED)
# still being handled: the SLA clocks run
OPEN = (REPORTED, DISPATCHED, ACCEPTED, IN_PROGRESS, REOPENED)
FINAL = (CLOSED, REJECTED, DUPLICATE)

# action -> {from status: to status}
TRANSITIONS = {
    "dispatch": {REPORTED: DISPATCHED},
    "accept": {DISPATCHED: ACCEPTED, REOPENED: ACCEPTED},
    "start": {ACCEPTED: IN_PROGRESS},
    "resolve": {IN_PROGRESS: RESOLVED},
    "close": {RESOLVED: CLOSED},
    "rate": {RESOLVED: CLOSED},  # the reporter's rating closes the incident
    "auto_close": {RESOLVED: CLOSED},
    "reopen": {RESOLVED: REOPENED},
    "reject": {REPORTED: REJECTED, DISPATCHED: REJECTED, ACCEPTED: REJECTED},
    "merge": {REPORTED: DUPLICATE, DISPATCHED: DUPLICATE, ACCEPTED: DUPLICATE},
}


def next_status(status: str, action: str) -> str:
    """The status `action` leads to from `status`; Conflict (code illegal_transition) if none."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise Conflict(
            f"cannot {action} an incident that is {status}",
            {"status": [f"{action} is allowed only from {', '.join(sorted(allowed))}"]},
            code="illegal_transition",
        )
    return allowed[status]


def state_deadline(cat: Category, status: str, since: datetime):
    """The state clock: when the incident must have left `status` (None: no state clock)."""
    minutes = {REPORTED: DISPATCH_MINUTES, DISPATCHED: cat.accept_minutes, REOPENED: cat.accept_minutes,
               ACCEPTED: cat.start_minutes}.get(status)
    return since + timedelta(minutes=minutes) if minutes else None


def overall_deadline(cat: Category, reported_at: datetime) -> datetime:
    return reported_at + timedelta(hours=cat.overall_hours)


def history_entry(action, from_status, to_status, at, actor=None, note=None):
    return {"action": action, "from": from_status, "to": to_status, "at": at,
            "by": actor_id(actor, "system"), "role": actor_role(actor) or "system", "note": note}


def transition(incident: dict, action: str, at: datetime, actor=None, note=None) -> tuple[dict, dict]:
    """The fields to `$set` and the history entry to push for `action` on `incident`.

    Raises Conflict when the transition is illegal; the incident is not touched."""
    from_status = incident["status"]
    to_status = next_status(from_status, action)
    cat = category(incident["category"])
    changes = {"status": to_status, "state_since": at,
               "state_deadline": state_deadline(cat, to_status, at)}
    if to_status == ACCEPTED and not incident.get("accepted_at"):
        changes["accepted_at"] = at  # response time counts the first acceptance
    if to_status == RESOLVED:
        changes["resolved_at"] = at  # the latest resolution counts
    if to_status in FINAL:
        changes["closed_at"] = at
    if action == "reopen":
        changes["reopen_count"] = incident.get("reopen_count", 0) + 1
    return changes, history_entry(action, from_status, to_status, at, actor, note)


# ---------------------------------------------------------------- escalation


def overdue_clock(incident: dict, now: datetime):
    """Which clock has run out: "overall", "state:<status>", or None."""
    if incident["status"] not in OPEN:
        return None
    if incident.get("due_at") and now > incident["due_at"]:
        return "overall"
    if incident.get("state_deadline") and now > incident["state_deadline"]:
        return f"state:{incident['status']}"
    return None


def escalation(incident: dict, now: datetime, step_minutes: int):
    """The next rung for an overdue incident, or None.

    An overdue incident climbs one rung per check, and then waits `step_minutes` before it may
    climb the next, so the ladder is climbed one rung per step of lateness, never skipped."""
    clock = overdue_clock(incident, now)
    level = incident.get("escalation_level", 0)
    if clock is None or level >= len(ESCALATION_LADDER) - 1:
        return None
    not_before = incident.get("next_escalation_at")
    if not_before and now < not_before:
        return None
    level += 1
    return {"level": level, "rung": ESCALATION_LADDER[level], "overdue": clock, "at": now,
            "next_escalation_at": now + timedelta(minutes=step_minutes)}


def extend(incident: dict, minutes: int) -> dict:
    """Fields to `$set` when an extension of `minutes` is granted: both clocks move."""
    changes = {"due_at": incident["due_at"] + timedelta(minutes=minutes)}
    if incident.get("state_deadline"):
        changes["state_deadline"] = incident["state_deadline"] + timedelta(minutes=minutes)
    if incident.get("next_escalation_at"):
        changes["next_escalation_at"] = incident["next_escalation_at"] + timedelta(minutes=minutes)
    return changes


def extension_request(incident: dict, minutes: int, reason: str, by: str, now: datetime) -> dict:
    """A new extension request on an open incident (one waiting for a decision at a time)."""
    if incident["status"] not in OPEN:
        raise Conflict(f"no extension for an incident that is {incident['status']}",
                       {"status": [incident["status"]]}, code="illegal_transition")
    if any(e["status"] == "requested" for e in incident["extensions"]):
        raise Conflict("an extension is already waiting for a decision", {"extension": ["pending"]})
    return {"extension_id": f"EXT-{len(incident['extensions']) + 1}", "minutes": minutes, "reason": reason,
            "status": "requested", "requested_at": now, "requested_by": by}


def extension_decision(incident: dict, extension_id: str, granted: bool, reason: str, by: str,
                       now: datetime) -> tuple[dict, str]:
    """(changes to the incident, "granted" | "refused"); a grant moves both clocks."""
    extension = next((e for e in incident["extensions"] if e["extension_id"] == extension_id), None)
    if extension is None:
        raise NotFound("no such extension", {"extension_id": [extension_id]})
    if extension["status"] != "requested":
        raise Conflict(f"extension already {extension['status']}", {"extension_id": [extension["status"]]})
    if granted and incident["status"] not in OPEN:
        raise Conflict(f"no extension for an incident that is {incident['status']}",
                       {"status": [incident["status"]]}, code="illegal_transition")
    decision = "granted" if granted else "refused"
    changes = extend(incident, extension["minutes"]) if granted else {}
    index = incident["extensions"].index(extension)
    changes.update({f"extensions.{index}.status": decision, f"extensions.{index}.decided_at": now,
                    f"extensions.{index}.decided_by": by, f"extensions.{index}.decision_reason": reason})
    return changes, decision


def auto_close_due(incident: dict, now: datetime, days: int) -> bool:
    return incident["status"] == RESOLVED and now >= incident["resolved_at"] + timedelta(days=days)


# ---------------------------------------------------------------- duplicates


def distance_m(a: dict, b: dict) -> float:
    """Great-circle distance in metres between two {"lat","lng"} points."""
    lat1, lat2 = math.radians(a["lat"]), math.radians(b["lat"])
    dlat, dlng = lat2 - lat1, math.radians(b["lng"] - a["lng"])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(h))


def near(new: dict, other: dict, radius_m: float) -> bool:
    """Both located: within the radius. Otherwise: the same building."""
    if new.get("location") and other.get("location"):
        return distance_m(new["location"], other["location"]) <= radius_m
    a, b = new.get("address") or {}, other.get("address") or {}
    return bool(a.get("building")) and a.get("building") == b.get("building")


def possible_duplicate(new: dict, candidates: list, settings: Settings):
    """The most recent open incident `new` may repeat (same grid and category, near, recent)."""
    since = new["reported_at"] - timedelta(hours=settings.duplicate_window_hours)
    matches = [c for c in candidates
               if c["grid_code"] == new["grid_code"] and c["category"] == new["category"]
               and c["status"] in OPEN and c["reported_at"] >= since
               and near(new, c, settings.duplicate_distance_m)]
    return max(matches, key=lambda c: c["reported_at"], default=None)


# ---------------------------------------------------------------- statistics


def _mean_minutes(deltas):
    return round(sum(d.total_seconds() for d in deltas) / 60 / len(deltas), 1) if deltas else None


def _rate(part, whole):
    return {"count": part, "of": whole, "rate": round(part / whole, 4) if whole else None}


def respond_by(cat: Category, reported_at: datetime, dispatched: bool) -> datetime:
    """When the reporter must have seen someone take the incident on: the category's acceptance
    time from the report, plus the dispatch clock when no one could be sent at once."""
    waited = 0 if dispatched else DISPATCH_MINUTES
    return reported_at + timedelta(minutes=waited + cat.accept_minutes)


def response_deadline(incident: dict) -> datetime:
    """`respond_by` as stored at the report (incidents of earlier versions: from the category)."""
    return incident.get("respond_by") or respond_by(category(incident["category"]),
                                                    incident["reported_at"], True)


def grid_statistics(incidents: list, now: datetime) -> dict:
    """The five rates and the times behind them, for `incidents` (one grid's, or every grid's).

    - response time (reported -> first accepted) and resolution time (reported -> latest resolved);
    - response_on_time: first accepted by `respond_by`, among incidents accepted or still waiting
      past that deadline (one rejected or merged before anyone accepted it is not counted);
    - on_time: resolved by the overall deadline (extensions included), among those ever resolved;
    - satisfaction: ratings of 4 or 5 among rated; reopen: reopened at least once among ever
      resolved; escalation: climbed at least one rung of the ladder, among all incidents."""
    by_status = {}
    for i in incidents:
        by_status[i["status"]] = by_status.get(i["status"], 0) + 1
    accepted = [i for i in incidents if i.get("accepted_at")]
    waiting_late = [i for i in incidents if not i.get("accepted_at") and i["status"] in OPEN
                    and now > response_deadline(i)]
    resolved = [i for i in incidents if i.get("resolved_at")]
    rated = [i for i in incidents if i.get("rating")]
    return {
        "incidents": len(incidents),
        "by_status": by_status,
        "response_minutes_avg": _mean_minutes([i["accepted_at"] - i["reported_at"] for i in accepted]),
        "resolution_minutes_avg": _mean_minutes([i["resolved_at"] - i["reported_at"] for i in resolved]),
        "response_on_time": _rate(sum(1 for i in accepted if i["accepted_at"] <= response_deadline(i)),
                                  len(accepted) + len(waiting_late)),
        "on_time": _rate(sum(1 for i in resolved if i["resolved_at"] <= i["due_at"]), len(resolved)),
        "satisfaction": _rate(sum(1 for i in rated if i["rating"] >= 4), len(rated)),
        "rating_avg": round(sum(i["rating"] for i in rated) / len(rated), 2) if rated else None,
        "reopen": _rate(sum(1 for i in resolved if i.get("reopen_count")), len(resolved)),
        "escalation": _rate(sum(1 for i in incidents if i.get("escalation_level")), len(incidents)),
    }


# ---------------------------------------------------------------- CCTV


def fold_alarm(last_alarm_at, now: datetime, fold_minutes: int) -> bool:
    """A camera's alarm folds into its open incident if the previous alarm is recent enough."""
    return last_alarm_at is not None and now - last_alarm_at <= timedelta(minutes=fold_minutes)


# ---------------------------------------------------------------- visits

MOVE_IN, DIFFICULTY, YEAR_END = "move_in", "difficulty", "year_end"
VISIT_KINDS = (MOVE_IN, DIFFICULTY, YEAR_END)


def visit_due_on(kind: str, on: date, settings: Settings) -> date:
    if kind == MOVE_IN:
        return on + timedelta(days=settings.move_in_visit_days)
    if kind == DIFFICULTY:
        return on + timedelta(days=settings.difficulty_visit_days)
    return date(on.year, 12, 31)


def year_end_visits_open(today: date, settings: Settings) -> bool:
    """Year-end visits are set from the configured month (December) to the year's end."""
    return today.month >= settings.year_end_visits_from_month


def visit_overdue(task: dict, today: date) -> bool:
    return task["status"] == "open" and date.fromisoformat(task["due_on"]) < today


# ---------------------------------------------------------------- campaigns


def household_progress(household: dict, reached: set) -> dict:
    """A household is covered once visited and every member reached."""
    members = set(household["members"])
    unknown = reached - members
    if unknown:
        raise InvalidInput("not members of this household",
                           {"residents_reached": [f"{r} is not a member" for r in sorted(unknown)]})
    now_reached = set(household.get("reached", [])) | reached
    return {"reached": sorted(now_reached), "visited": True, "covered": members <= now_reached}


def coverage(campaign: dict, households: list) -> dict:
    """Exactly which households and which people are still missed."""
    missed_households, missed_residents = [], []
    residents = reached = 0
    for h in households:
        members, got = h["members"], set(h.get("reached", []))
        residents += len(members)
        reached += sum(1 for m in members if m in got)
        if not h.get("visited"):
            missed_households.append({k: h.get(k) for k in ("household_id", "grid_code", "building",
                                                            "unit", "room")})
        missed_residents.extend({"resident_id": m, "household_id": h["household_id"]}
                                for m in members if m not in got)
    total = len(households)
    visited = total - len(missed_households)
    return {
        "campaign_id": campaign["campaign_id"], "name": campaign["name"],
        "grid_codes": campaign["grid_codes"],
        "households": {"total": total, "visited": visited, "missed": len(missed_households)},
        "residents": {"total": residents, "reached": reached, "missed": residents - reached},
        "missed_households": sorted(missed_households, key=lambda h: h["household_id"]),
        "missed_residents": sorted(missed_residents, key=lambda r: (r["household_id"], r["resident_id"])),
        "complete": not missed_households and not missed_residents,
    }


# ---------------------------------------------------------------- service windows

WINDOWS = {
    "city_management": "城市管理", "traffic_police": "交警", "talent": "人才",
    "party_community_groups": "党群", "construction_economy": "建设经济", "public_security": "公安",
    "health": "卫健", "floating_population": "流动人口", "labour_social_security": "劳动社保",
    "science_culture_health": "科教文卫", "documents": "证件办理",
    "hk_macau_endorsement": "港澳通行签注", "legal_advice": "法律咨询",
}
WINDOW_OPEN, WINDOW_HANDLED, WINDOW_REFUSED = "open", "handled", "refused"
WINDOW_TRANSFERRED_OUT, WINDOW_ESCALATED = "transferred_out", "escalated"


def window_transfer(request: dict, to: str) -> dict:
    """Where a transfer leaves the request: still open at another window, or out to a department."""
    if request["status"] != WINDOW_OPEN:
        raise Conflict(f"request is {request['status']}", {"status": ["only an open request moves"]},
                       code="illegal_transition")
    if to == request["window"]:
        raise InvalidInput("already at this window", {"to": ["must differ from the current window"]})
    if to in WINDOWS:
        return {"window": to, "status": WINDOW_OPEN}
    return {"status": WINDOW_TRANSFERRED_OUT, "department": to}


def window_completion(request: dict, outcome: str) -> str:
    """The no-veto rule (不说不): a request is never closed as refused unless it was transferred
    to another window/department or escalated first."""
    if request["status"] not in (WINDOW_OPEN, WINDOW_ESCALATED):
        raise Conflict(f"request is {request['status']}", {"status": ["already closed"]},
                       code="illegal_transition")
    if outcome == WINDOW_REFUSED and not (request.get("transfers") or request.get("escalations")):
        raise Conflict("no veto: a request cannot be refused without a transfer or an escalation",
                       {"outcome": ["transfer or escalate the request before refusing it"]},
                       code="no_veto")
    return outcome
