"""The rules of notification (通知), with no I/O: who hears about an event, on which channel,
when, and what happens after a delivery attempt.

A *person* is a plain dict as stored in `people` (see `store.py`): residents and staff, their
contact points as learned from registry events, their status, and their `preferences`.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from shared.access import (
    ALL,
    ANYONE,
    COMMUNITY_ADMIN,
    GRID_WORKER,
    OWN,
    OWN_GRID,
    POLICE_DESK,
    ROLES,
    SYSTEM,
    Policy,
)
from shared.clock import LOCAL_TZ
from shared.errors import Forbidden
from shared.events.grid_events import HIGH, URGENT
from shared.personal import mask_email, mask_phone

CHANNELS = ("sms", "push", "email", "in_app")
IN_PERSON = "in_person"  # not a provider: a grid worker is asked to call (an event)
QUIET_CHANNELS = ("sms", "push")  # the channels that wake people up
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_QUIET_HOURS = {"start": "22:00", "end": "07:00"}
DEFAULT_CHANNELS = {"resident": ["sms", "in_app"], "staff": ["in_app", "sms"], "vendor": ["sms", "in_app"]}
ELDERLY_AGE = 60

QUEUED, SENT, FAILED, SUPPRESSED = "queued", "sent", "failed", "suppressed"
STATUSES = (QUEUED, SENT, FAILED, SUPPRESSED)

# registry statuses after which a person is no longer messaged
INACTIVE_STATUSES = ("moved_out", "died", "deceased", "inactive", "deregistered")

# Topics a person may opt out of (critical messages reach them anyway).
TOPICS = ("incident", "rating", "visit", "welcome", "announcement", "digest",
          "market", "finance")  # market/finance: for the subscriptions still to come


@dataclass(frozen=True)
class Message:
    """What to say about one fact, already rendered in every language."""

    event_id: str
    event_type: str
    topic: str
    critical: bool
    texts: dict  # language -> (title, body)
    grid_code: str | None = None

    def text(self, language):
        return self.texts.get(language) or self.texts[DEFAULT_LANGUAGE]


# ---------------------------------------------------------------- who: audience of an event


@dataclass(frozen=True)
class Person:
    """A named recipient."""

    id: str


@dataclass(frozen=True)
class Post:
    """Whoever currently holds `role` in grid `grid_code` (None: a community-wide post)."""

    role: str
    grid_code: str | None


@dataclass(frozen=True)
class Audience:
    selectors: tuple
    topic: str
    critical: bool = False
    # Whether an unknown recipient may still become known (a resident registered a moment ago):
    # then the event waits for them (`recipient_wait_seconds`); otherwise it is told to those known.
    may_become_known: bool = True


CRITICAL_PRIORITIES = (HIGH, URGENT)  # grid_events' own vocabulary, from the catalogue
COMMUNITY_WIDE_ROLES = ("community_office", "street_office", "police_desk")


def grid_of_role(role, grid_code):
    """Grid posts are found by grid; community-wide posts have no grid."""
    return None if role in COMMUNITY_WIDE_ROLES else grid_code


def _visit_audience(payload):
    if payload.get("assignee_staff_id"):
        return (Person(payload["assignee_staff_id"]),)
    return (Post("grid_worker", payload["grid_code"]),)


def audience(event_type, payload):
    """Who must hear about an event. None: this event tells nobody anything."""
    if event_type == "grid_events.incident_dispatched":
        selectors = [Person(payload["assignee_staff_id"])]
        if payload.get("also_police"):
            selectors.append(Post("police_desk", None))
        return Audience(tuple(selectors), "incident",
                        critical=payload["priority"] in CRITICAL_PRIORITIES)
    if event_type == "grid_events.incident_reported":
        # a grid with no one to handle it: the community office dispatches by hand
        if not payload.get("unassigned"):
            return None
        return Audience((Post("community_office", None),), "incident",
                        critical=payload["priority"] in CRITICAL_PRIORITIES)
    if event_type == "grid_events.incident_escalated":
        # grid_events names who stands on the rung when it knows; else the post decides
        rung = payload["rung"]
        selectors = tuple(Person(s) for s in payload.get("staff_ids") or ()) or (
            Post(rung, grid_of_role(rung, payload["grid_code"])),)
        return Audience(selectors, "incident", critical=True)  # a deadline has already passed
    if event_type == "grid_events.incident_resolved":
        reporter = payload.get("reporter_resident_id")
        return Audience((Person(reporter),), "rating") if reporter else None
    if event_type == "grid_events.visit_task_created":
        return Audience(_visit_audience(payload), "visit")
    if event_type == "grid_events.visit_overdue":
        return Audience(_visit_audience(payload), "visit")
    if event_type == "registry.resident_registered":
        return Audience((Person(payload["resident_id"]),), "welcome")
    if event_type in MARKET_VENDOR_EVENTS:
        return Audience((Person(vendor_recipient(payload)),), "market",
                        critical=event_type == "market.vendor_suspended")
    if event_type in ("finance.dividend_paid", "finance.allowance_paid"):
        return Audience((Person(payload["resident_id"]),), "finance")  # the shareholder, the pensioner
    if event_type == "finance.rent_overdue":
        # the tenant, when a person we know (a resident renting a shop), and the community office,
        # which lets the collective's property and chases its arrears: a company tenant has no
        # contact here and never will (nothing to wait for), so without the office no one heard
        return Audience((Person(payload["tenant_id"]), Post("community_office", None)), "finance",
                        may_become_known=False)
    return None


# What the night market tells a vendor: a violation, a suspension, a licence expiring, a fee due.
MARKET_VENDOR_EVENTS = ("market.violation_recorded", "market.vendor_suspended", "market.licence_expiring",
                        "market.fee_charged")


def vendor_recipient(payload):
    """A vendor who is a resident is reached as that resident; an outside vendor by vendor id
    (known from `market.vendor_registered`)."""
    return payload.get("resident_id") or payload["vendor_id"]


def person_from_vendor(payload):
    return {"_id": payload["vendor_id"], "kind": "vendor", "name": payload["name"],
            "phone": payload.get("phone"), "language": payload.get("language") or DEFAULT_LANGUAGE,
            "status": "active"}


def unique_recipients(people):
    """One entry per person, order kept (a person holding two matching posts hears once)."""
    seen, out = set(), []
    for person in people:
        if person["_id"] not in seen:
            seen.add(person["_id"])
            out.append(person)
    return out


# ---------------------------------------------------------------- people and preferences


def person_from_resident(payload):
    return {
        "_id": payload["resident_id"], "kind": "resident", "name": payload["name"],
        "phone": payload.get("phone"), "email": payload.get("email"),
        "language": payload.get("language") or DEFAULT_LANGUAGE,
        "household_id": payload["household_id"], "grid_code": payload["grid_code"],
        "birth_date": payload["birth_date"].isoformat(), "tags": list(payload.get("tags") or []),
        "status": "active",
    }


def person_from_staff(payload):
    return {
        "_id": payload["staff_id"], "kind": "staff", "name": payload["name"],
        "phone": payload.get("phone"), "email": payload.get("email"),
        "language": payload.get("language") or DEFAULT_LANGUAGE,
        "resident_id": payload.get("resident_id"), "status": "active",
    }


UPDATABLE = ("phone", "email", "language", "status", "name", "household_id", "grid_code", "tags")


def resident_changes(payload):
    """The `$set` a resident_updated event asks for (only fields we keep)."""
    changes = {k: v for k, v in payload["changes"].items() if k in UPDATABLE}
    changes["grid_code"] = payload["grid_code"]
    if "birth_date" in payload["changes"]:
        changes["birth_date"] = str(payload["changes"]["birth_date"])
    return changes


def is_active(person):
    return (person.get("status") or "active") not in INACTIVE_STATUSES


def age_on(birth_date_iso, day):
    born = date.fromisoformat(birth_date_iso)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_elderly(person, now):
    if "elderly" in (person.get("tags") or ()):
        return True
    birth = person.get("birth_date")
    return bool(birth) and age_on(birth, now.astimezone(LOCAL_TZ).date()) >= ELDERLY_AGE


def preferences(person):
    prefs = person.get("preferences") or {}
    return {
        "channels": prefs.get("channels") or DEFAULT_CHANNELS.get(person.get("kind"), ["in_app"]),
        "opt_outs": list(prefs.get("opt_outs") or []),
        "language": prefs.get("language") or person.get("language") or DEFAULT_LANGUAGE,
        "quiet_hours": prefs.get("quiet_hours", DEFAULT_QUIET_HOURS),
    }


def address(person, channel):
    """Where `channel` reaches `person`, or None if it cannot."""
    if channel in ("sms", "push"):
        return person.get("phone")
    if channel == "email":
        return person.get("email")
    if channel == "in_app":  # an app account is opened with a phone or an email; staff have one
        if person.get("kind") == "staff" or person.get("phone") or person.get("email"):
            return person["_id"]
    return None


def channel_chain(person):
    """The channels to try, in order: the preferred ones that can reach the person, then the
    in-app inbox as the last resort."""
    chain = [c for c in preferences(person)["channels"] if c in CHANNELS and address(person, c)]
    if "in_app" not in chain and address(person, "in_app"):
        chain.append("in_app")
    return chain


# ---------------------------------------------------------------- when: quiet hours


def _hhmm(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now, quiet_hours):
    """If `now` falls in the quiet hours (local time), the UTC instant they end; else None."""
    if not quiet_hours:
        return None
    start, end = _hhmm(quiet_hours["start"]), _hhmm(quiet_hours["end"])
    if start == end:
        return None
    local = now.astimezone(LOCAL_TZ)
    t = local.time()
    if start < end:  # e.g. 13:00-14:00, within one day
        if not start <= t < end:
            return None
        day = local.date()
    else:  # e.g. 22:00-07:00, across midnight
        if end <= t < start:
            return None
        day = local.date() + timedelta(days=1) if t >= start else local.date()
    return datetime.combine(day, end, tzinfo=LOCAL_TZ).astimezone(UTC)


# ---------------------------------------------------------------- the notification record


def new_notification_id():
    return f"NTF-{uuid.uuid4().hex[:12].upper()}"


def _record(message, recipient_id, now, **fields):
    record = {
        "_id": new_notification_id(),
        "event_id": message.event_id, "event_type": message.event_type,
        "topic": message.topic, "critical": message.critical,
        "recipient": recipient_id, "grid_code": message.grid_code,
        "channel": None, "address": None, "language": DEFAULT_LANGUAGE,
        "title": None, "body": None,
        "status": QUEUED, "reason": None, "due_at": now, "attempts": [], "attempt_count": 0,
        "lease": "new", "lease_until": None,
        "created_at": now, "updated_at": now,
    }
    record.update(fields)
    return record


def route(message, person, now, recipient_id=None, tried=()):
    """The notification record for one recipient: its channel, status and due time.

    `person` None means the recipient is unknown here. `tried`: channels that already failed
    for this message (a fallback). Returns (record, in_person) where `in_person` is True when
    nothing can reach the person and a grid worker must call instead."""
    if person is None:
        return _record(message, recipient_id, now, status=SUPPRESSED, reason="unknown recipient",
                       channel="none"), False
    rid = person["_id"]
    prefs = preferences(person)
    language = prefs["language"] if prefs["language"] in LANGUAGES else DEFAULT_LANGUAGE
    title, body = message.text(language)
    base = {"language": language, "title": title, "body": body,
            "household_id": person.get("household_id"),
            "grid_code": message.grid_code or person.get("grid_code")}
    if not is_active(person):
        return _record(message, rid, now, status=SUPPRESSED, channel="none",
                       reason=f"recipient is {person.get('status')}", **base), False
    if message.topic in prefs["opt_outs"] and not message.critical:
        return _record(message, rid, now, status=SUPPRESSED, channel="none",
                       reason=f"opted out of {message.topic}", **base), False
    chain = [c for c in channel_chain(person) if c not in tried]
    if not chain:
        if person.get("kind") == "resident" and is_elderly(person, now):
            return _record(message, rid, now, status=SENT, channel=IN_PERSON,
                           reason="no channel reaches this elderly resident: grid worker asked to call",
                           **base), True
        reason = "every channel failed" if tried else "no channel reaches this person"
        return _record(message, rid, now, status=SUPPRESSED if not tried else FAILED,
                       channel="none", reason=reason, **base), False
    channel = chain[0]
    record = _record(message, rid, now, channel=channel, address=address(person, channel), **base)
    if tried:
        record["fallback_from"] = list(tried)
    if channel in QUIET_CHANNELS and not message.critical:
        held = quiet_until(now, prefs["quiet_hours"])
        if held:
            record.update(due_at=held, reason="quiet hours")
    return record, False


# ---------------------------------------------------------------- after an attempt


DEFAULT_RETRY_SECONDS = (30, 120, 600)


@dataclass(frozen=True)
class Settings:
    """The NOTIFICATIONS section of the config, read once per worker."""

    retry_seconds: tuple = DEFAULT_RETRY_SECONDS  # between delivery attempts, then fall back
    lease: timedelta = timedelta(seconds=120)  # a claimed delivery is another worker's after this
    release_batch: int = 500  # due notifications one `release_due` tick takes
    digest_hour: int = 7  # local hour of the staff morning digest
    # a big announcement (every household of a grid) returns at once: beyond this many, its
    # messages go out with the next `release_due` tick instead of in the RPC call
    inline_limit: int = 50
    # events come from several producers in no guaranteed order: a dispatch may arrive before the
    # staff assignment that tells us who the assignee is. Within this window an unknown recipient
    # means "not yet", and the event is retried; after it, "nobody we know".
    recipient_wait: timedelta = timedelta(seconds=600)

    @classmethod
    def from_config(cls, config):
        return cls(
            retry_seconds=tuple(config.get("retry_seconds", DEFAULT_RETRY_SECONDS)),
            lease=timedelta(seconds=float(config.get("lease_seconds", 120))),
            release_batch=int(config.get("release_batch", 500)),
            digest_hour=int(config.get("digest_hour", 7)),
            inline_limit=int(config.get("inline_limit", 50)),
            recipient_wait=timedelta(seconds=float(config.get("recipient_wait_seconds", 600))),
        )


def after_attempt(record, ok, response, now, retry_seconds=DEFAULT_RETRY_SECONDS):
    """What an attempt changes: the `$set` for the record, the attempt entry, and whether to
    fall back to the next channel (the retries are used up)."""
    attempt_no = record.get("attempt_count", 0) + 1
    attempt = {"no": attempt_no, "at": now, "channel": record["channel"], "ok": ok,
               "response": str(response)[:500]}
    if ok:
        return {"status": SENT, "reason": None, "sent_at": now, "attempt_count": attempt_no,
                "updated_at": now, "lease_until": None}, attempt, False
    if attempt_no <= len(retry_seconds):
        due = now + timedelta(seconds=retry_seconds[attempt_no - 1])
        return {"status": QUEUED, "reason": f"retrying after: {attempt['response']}",
                "due_at": due, "attempt_count": attempt_no, "updated_at": now,
                "lease_until": None}, attempt, False
    return {"status": FAILED, "reason": f"gave up after {attempt_no} attempts: {attempt['response']}",
            "attempt_count": attempt_no, "updated_at": now, "lease_until": None}, attempt, True


# ---------------------------------------------------------------- households and digests


def household_representatives(residents, now):
    """One member per household: an active adult who can be reached, else any active member."""
    by_household = {}
    for person in residents:
        if is_active(person) and person.get("household_id"):
            by_household.setdefault(person["household_id"], []).append(person)

    def rank(person):
        adult = bool(person.get("birth_date")) and age_on(person["birth_date"],
                                                          now.astimezone(LOCAL_TZ).date()) >= 18
        return (not channel_chain(person), not adult, person["_id"])

    return [sorted(members, key=rank)[0] for _, members in sorted(by_household.items())]


def work_item_open(item):
    """Events arrive on separate queues, so an incident's resolution may be seen before its
    dispatch: the latest of the two facts (by occurred_at) decides."""
    closed, opened = item.get("closed_at"), item.get("opened_at")
    return closed is None or (opened is not None and opened > closed)


def work_item_overdue(item, now):
    if item.get("overdue"):
        return True
    due = item.get("due_at")
    return due is not None and due < now


def digests(staff, grid_workers, work, now):
    """Each staff member's open work: {staff_id: [item, ...]} (only those with any).

    `grid_workers`: {grid_code: staff_id}; unassigned work goes to its grid's worker."""
    active = {p["_id"] for p in staff if is_active(p)}
    out = {}
    for item in filter(work_item_open, work):
        owner = item.get("assignee") or grid_workers.get(item.get("grid_code"))
        if owner in active:
            out.setdefault(owner, []).append({**item, "is_overdue": work_item_overdue(item, now)})
    return out


def digest_lines(items, language):
    lines = []
    for item in sorted(items, key=lambda i: (not i["is_overdue"], str(i.get("due_at")))):
        flag = ("[逾期] " if language == "zh-CN" else "[OVERDUE] ") if item["is_overdue"] else ""
        lines.append(f"- {flag}{item['_id']} {item.get('summary') or item.get('kind', '')}".rstrip())
    return "\n".join(lines)


def digest_day(now, hour):
    """The local date whose digest is due at `now`, or None before `hour` (local)."""
    local = now.astimezone(LOCAL_TZ)
    return local.date() if local.hour >= hour else None


# ---------------------------------------------------------------- who may do what

# Staff send announcements and read the delivery log: the community office and the police desk
# everywhere, a grid worker in their own grid. A person's inbox and preferences are their own
# (actor id = person id: resident, staff, vendor); the community office may act for anyone.
# Services (SYSTEM) may do everything. Roles a row does not name are refused by the kit.
STAFF = {COMMUNITY_ADMIN: ALL, POLICE_DESK: ALL, GRID_WORKER: OWN_GRID, SYSTEM: ALL}
OWN_RECORDS = {**dict.fromkeys(ROLES - {SYSTEM}, OWN), COMMUNITY_ADMIN: ALL, SYSTEM: ALL}
POLICY = Policy({
    "send": STAFF,
    "announcement_progress": STAFF,
    "delivery_log": STAFF,
    "inbox": OWN_RECORDS,
    "mark_read": OWN_RECORDS,
    "get_preferences": OWN_RECORDS,
    "set_preferences": OWN_RECORDS,
    "health": ANYONE,
})

# Who sees the addresses of the delivery log in clear (phones and e-mails are personal data; the
# last digits tell a reader which number a message went to).
CLEAR_ADDRESSES = frozenset({SYSTEM})


def check_send(grant, grids):
    """Raise Forbidden unless the caller's grant covers a target in one of `grids` (a grid target:
    its grid; a person: the grid they live in or hold a post in; none for someone unknown)."""
    if not grant.is_all and not any(grant.covers(grid=grid) for grid in grids):
        raise Forbidden("a grid worker sends only to their own grid", {"target": ["not in your grid"]})


def check_own(grant, person_id):
    """Raise Forbidden unless `person_id`'s inbox and preferences are within the caller's grant."""
    if not grant.covers(owners=person_id):
        raise Forbidden("only the person themselves (or the community office) may do this",
                        {"person_id": ["not yours"]})


def grids_of(person, post_grids=()):
    """The grids a person belongs to: where a resident lives, where staff hold a post."""
    return tuple(g for g in (person.get("grid_code"), *post_grids) if g)


def log_filter(filters, scope):
    """The delivery-log query: the caller's filters within their grant's `scope` (`grant.query`);
    None when the filters ask for what the grant does not cover (nothing to show)."""
    query = {k: v for k, v in filters.items() if v is not None}
    for field, value in scope.items():
        if query.get(field, value) != value:
            return None
        query[field] = value
    return query


def present_notification(record, role):
    """A delivery-log record as `role` may see it: phone and e-mail addresses masked (in the
    provider responses too) unless the role needs them."""
    address = record.get("address")
    if role in CLEAR_ADDRESSES or not address or record.get("channel") not in ("sms", "push", "email"):
        return record
    masked = mask_email(address) if record["channel"] == "email" else mask_phone(address)
    attempts = [{**a, "response": str(a.get("response", "")).replace(address, masked)}
                for a in record.get("attempts") or ()]
    return {**record, "address": masked, "attempts": attempts,
            "reason": record["reason"].replace(address, masked) if record.get("reason") else None}


# ---------------------------------------------------------------- open work, for the digest


def end_of_local_day(day):
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def incident_work(payload, occurred_at):
    return {"kind": "incident", "opened_at": occurred_at, "assignee": payload["assignee_staff_id"],
            "grid_code": payload["grid_code"], "summary": payload["summary"],
            "due_at": payload["accept_by"]}


def visit_work(payload, occurred_at, overdue=False):
    return {"kind": "visit", "opened_at": occurred_at, "assignee": payload.get("assignee_staff_id"),
            "grid_code": payload["grid_code"],
            "summary": f"{payload['kind']} visit to {payload['resident_id']}",
            "due_at": end_of_local_day(payload["due_on"]), "overdue": overdue}
