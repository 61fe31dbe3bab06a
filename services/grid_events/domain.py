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

from shared.access import COMMUNITY_ADMIN, GRID_WORKER, POLICE_DESK, SYSTEM
from shared.clock import local_date
from shared.context import actor_grid, actor_id, actor_role
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import grid_events as catalogue
from shared.events.grid_events import ESCALATION_LADDER, HIGH, LOW, NORMAL, URGENT


def new_id(prefix: str, moment: datetime) -> str:
    """A readable id: INC-261102-7F3A9C (prefix, local date, random part)."""
    return f"{prefix}-{local_date(moment):%y%m%d}-{secrets.token_hex(3).upper()}"


# ---------------------------------------------------------------- who may do what

STAFF_ROLES = (COMMUNITY_ADMIN, GRID_WORKER, POLICE_DESK)
SUPERVISORS = (COMMUNITY_ADMIN,)


def check_staff(actor, incident=None):
    """Residents only report, rate and reopen; a grid worker acts in their own grid only.
    No actor: the service itself (timers, handlers) acts."""
    if actor is None or actor.get("role") == SYSTEM:
        return
    role = actor_role(actor)
    if role not in STAFF_ROLES:
        raise Forbidden("only staff may do this", {"role": [f"{role} may not"]})
    if role == "grid_worker" and incident is not None and actor_grid(actor) != incident["grid_code"]:
        raise Forbidden("this incident belongs to another grid", {"grid_code": [incident["grid_code"]]})


def check_not_resident(actor, what):
    """Visits and campaigns are recorded by staff (or the service); residents may not."""
    if actor_role(actor) == "resident":
        raise Forbidden(f"only staff {what}", {"role": ["resident"]})


def check_reporter(actor, incident):
    """Rating, reopening and closing are the reporter's (or the office's, recording it for them)."""
    if actor is None or actor.get("role") == SYSTEM or actor_role(actor) in SUPERVISORS:
        return
    reporter = incident.get("reporter_resident_id")
    if actor_role(actor) == "resident" and reporter and actor_id(actor) == reporter:
        return
    raise Forbidden("only the reporter may do this", {"actor": ["not the reporter"]})


def check_supervisor(actor):
    if actor is not None and actor_role(actor) not in SUPERVISORS:
        raise Forbidden("only the community office may do this", {"role": [str(actor_role(actor))]})


def check_lifecycle(actor, action, incident):
    """Who may apply a lifecycle action: the reporter's actions, or staff of the incident's grid."""
    if action in ("rate", "reopen", "close"):
        check_reporter(actor, incident)  # the handler does not close their own work
    elif action != "auto_close":
        check_staff(actor, incident)


def reader_scope(actor):
    """A resident sees only what they reported; staff and services see everything."""
    if actor is not None and actor_role(actor) not in STAFF_ROLES:
        return {"reporter_resident_id": actor_id(actor, "-")}
    return {}


def visible(incident, actor):
    """The incident if `actor` may see it; to a resident, others' reports do not exist."""
    scope = reader_scope(actor)
    if scope and incident.get("reporter_resident_id") != scope["reporter_resident_id"]:
        raise NotFound("no such incident", {"incident_id": [incident["incident_id"]]})
    return incident


def reporter_of(data, actor):
    """A resident reports as themself; staff may name the resident they report for."""
    return actor_id(actor) if actor_role(actor) == "resident" else data.get("reporter_resident_id")


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


def grid_statistics(incidents: list) -> dict:
    """Response time (reported -> first accepted), resolution time (reported -> latest resolved),
    on-time rate (resolved by the overall deadline, extensions included), satisfaction rate
    (ratings of 4 or 5 among rated), reopen rate (reopened at least once among ever resolved)."""
    by_status = {}
    for i in incidents:
        by_status[i["status"]] = by_status.get(i["status"], 0) + 1
    accepted = [i for i in incidents if i.get("accepted_at")]
    resolved = [i for i in incidents if i.get("resolved_at")]
    rated = [i for i in incidents if i.get("rating")]
    return {
        "incidents": len(incidents),
        "by_status": by_status,
        "response_minutes_avg": _mean_minutes([i["accepted_at"] - i["reported_at"] for i in accepted]),
        "resolution_minutes_avg": _mean_minutes([i["resolved_at"] - i["reported_at"] for i in resolved]),
        "on_time": _rate(sum(1 for i in resolved if i["resolved_at"] <= i["due_at"]), len(resolved)),
        "satisfaction": _rate(sum(1 for i in rated if i["rating"] >= 4), len(rated)),
        "rating_avg": round(sum(i["rating"] for i in rated) / len(rated), 2) if rated else None,
        "reopen": _rate(sum(1 for i in resolved if i.get("reopen_count")), len(resolved)),
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
