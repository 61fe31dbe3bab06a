"""The notifications use cases, one function per handled event, timer and command:
plan (domain) -> record (one transaction) -> deliver (providers).

Every notification is first committed as `queued` in the delivery log, in the same transaction
that claims the event (so a redelivered event plans nothing twice), then delivered: claimed
with a lease, sent through its channel's provider, and the attempt recorded. A failed attempt
is retried later (`retry_seconds`), then falls back to the next channel. Anything due
and not yet delivered (held by quiet hours, waiting for a retry, or left by a crash) is picked
up by the `release_due` timer.

A use case that notifies takes a `Delivery`: the database, the checked templates, the channel
providers and the settings. Every write goes through `db.run_transaction`.
"""

import logging
import uuid
from dataclasses import dataclass

from services.notifications import domain, store
from services.notifications.domain import LANGUAGES, QUEUED, Message, Post
from shared import clock
from shared.access import OWN_GRID
from shared.errors import InvalidInput, invalid

log = logging.getLogger(__name__)


class RecipientNotYetKnown(Exception):
    """An event names someone this service has not learned of yet (their registry event is still
    on its way): raised so the event is retried with backoff instead of being suppressed."""


@dataclass(frozen=True)
class Delivery:
    """What a use case that notifies works with."""

    db: object
    templates: object  # templates.Templates
    providers: dict  # channel -> providers.Provider
    settings: domain.Settings


# ---------------------------------------------------------------- who is who (registry)


def residents_registered(d, events):
    """Residents registered (a batch: imports register thousands): learned, and welcomed."""
    people = {p["_id"]: p for p in (domain.person_from_resident(e.payload) for e in events)}
    stored = store.people_by_id(d.db, people)
    known = {rid: {**stored.get(rid, {}), **person} for rid, person in people.items()}
    notify(d, events, known=known, apply=lambda tx: store.learn_people(tx, people.values(), stored))


def resident_updated(db, event):
    p = event.payload
    db.run_transaction(lambda tx: store.update_person(tx, p["resident_id"], domain.resident_changes(p),
                                                      upsert=True))


def resident_moved_out(db, event):
    db.run_transaction(lambda tx: store.update_person(tx, event.payload["resident_id"],
                                                      {"status": "moved_out"}))


def resident_died(db, event):
    db.run_transaction(lambda tx: store.update_person(tx, event.payload["resident_id"],
                                                      {"status": "deceased"}))


def grid_staff_assigned(db, event):
    p = event.payload

    def write(tx):
        store.update_person(tx, p["staff_id"], domain.person_from_staff(p), upsert=True)
        store.assign_post(tx, p["staff_id"], p["role"], domain.grid_of_role(p["role"], p["grid_code"]))

    db.run_transaction(write)


def vendor_registered(db, event):
    if event.payload.get("resident_id"):
        return  # a resident vendor is reached as the resident the registry told us of
    person = domain.person_from_vendor(event.payload)
    db.run_transaction(lambda tx: store.update_person(tx, person["_id"], person, upsert=True))


# ---------------------------------------------------------------- grid work (grid_events)


def incidents_dispatched(d, events):
    """Incidents dispatched (a batch: a storm or a sweep of CCTV alarms dispatches many at once):
    the assignee's open work, and the assignee (and the police desk when asked) told."""
    works = [(e.payload["incident_id"], domain.incident_work(e.payload, e.occurred_at)) for e in events]
    notify(d, events, apply=lambda tx: store.open_works(tx, works))


def incident_escalated(d, event):
    notify(d, [event], apply=lambda tx: store.mark_overdue(tx, event.payload))


def incident_resolved(d, event):
    notify(d, [event], apply=lambda tx: store.close_work(tx, event))


def incident_closed(db, event):
    db.run_transaction(lambda tx: store.close_work(tx, event))


def visit_work(d, event, overdue):
    """A visit task created or overdue: open work for the digest, and its assignee (or the grid
    worker) told."""
    work = domain.visit_work(event.payload, event.occurred_at, overdue=overdue)
    notify(d, [event], apply=lambda tx: store.open_work(tx, event.payload["task_id"], work))


def event_told(d, event):
    """An event that only tells someone something (an incident no one can handle, a market
    violation, a dividend paid): its audience notified."""
    notify(d, [event])


# ---------------------------------------------------------------- notifying


def notify(d, events, apply=None, known=None):
    """Notify whoever each of `events` concerns, in one transaction with what `apply(tx)` records
    (what the events teach us), then deliver in bulk. `known`: people not stored yet (learned
    from these very events). The recipients of the whole batch are read at once."""
    now = clock.now()
    told = [(event, *d.templates.message(event)) for event in events]
    told = [(event, message, who) for event, message, who in told if message is not None]
    audiences = store.resolve_many(d.db, [who.selectors for _, _, who in told], known)
    routed = []
    for (event, message, who), recipients in zip(told, audiences, strict=True):
        unknown = [rid for rid, person in recipients if person is None]
        if unknown and who.may_become_known and now - event.occurred_at < d.settings.recipient_wait:
            raise RecipientNotYetKnown(f"{event.type} {event.event_id}: {', '.join(unknown)} not known yet")
        routed += [domain.route(message, person, now, recipient_id=rid) for rid, person in recipients]
    causes = {event.event_id: event for event in events}
    # The transaction claims these events: none of their notifications can be recorded yet.
    return commit(d, routed, apply, causes=causes, claimed=True)


def commit(d, routed, apply=None, inline_limit=None, causes=None, claimed=False):
    """Record the notifications (and what `apply` writes) in one transaction, then deliver
    those that are due. The in-app inbox is written in that same transaction.

    Those to be sent at once are recorded already leased to this worker (no claim after the
    commit: a write fewer each); past `inline_limit`, the `release_due` timer sends them.
    `claimed`: the transaction claims the events the records are for (so they are inserted
    without a look-up, rather than each upserted unless its event, recipient and channel has one)."""
    now = clock.now()
    causes = causes or {}
    lease = {"lease": store.new_lease(), "lease_until": now + d.settings.lease}
    records, visits, inline = [], [], []
    to_send = inline_limit if inline_limit is not None else len(routed)
    for record, in_person in routed:
        inbox = _inline(d, record, now)
        if inbox is not None:
            changes, attempt, _ = domain.after_attempt(record, True, inbox.STORED, now)
            record = {**record, **changes, "attempts": [attempt]}
        elif record["status"] == QUEUED and record["due_at"] <= now and to_send > 0:
            record = {**record, **lease}
            to_send -= 1
        records.append(record)
        visits.append(in_person)
        inline.append(inbox)

    def write(tx):
        if apply is not None:
            apply(tx)
        if claimed:
            store.insert_new(tx, records)
            saved = range(len(records))
        else:
            saved = store.save_many(tx, records)
        inbox_messages = [records[i] for i in saved if inline[i] is not None]
        if inbox_messages:
            d.providers["in_app"].send_many_in(tx, inbox_messages)
        for i in saved:
            if visits[i]:
                _request_visit(tx, records[i], causes)
        return [records[i] for i in saved]

    new = d.db.run_transaction(write)
    deliver_leased(d, [r for r in new if r.get("lease") == lease["lease"]], causes)
    return new


def _inline(d, record, now):
    provider = d.providers.get(record["channel"])
    if record["status"] == QUEUED and record["due_at"] <= now and hasattr(provider, "send_many_in"):
        return provider
    return None


def _request_visit(tx, record, causes):
    tx.emit("notifications.in_person_delivery_requested", {
        "resident_id": record["recipient"], "grid_code": record.get("grid_code"),
        "topic": record["topic"], "message": record["body"] or "",
        "source_event_id": record["event_id"],
    }, cause=causes.get(record["event_id"]))


# ---------------------------------------------------------------- delivery


def deliver(d, ids, causes=None, chunk=500):
    """Attempt each due notification once (falling back at once where it says so), a chunk
    at a time: one claim, one provider call per channel and one recording transaction each."""
    sent = 0
    for start in range(0, len(ids), chunk):
        claimed = store.claim_many(d.db, ids[start:start + chunk], clock.now(), d.settings.lease)
        sent += _attempt_until_settled(d, claimed, causes or {})
    return sent


def deliver_leased(d, records, causes=None, chunk=500):
    """`deliver` for records this worker already holds the lease of (recorded leased)."""
    sent = 0
    for start in range(0, len(records), chunk):
        sent += _attempt_until_settled(d, records[start:start + chunk], causes or {})
    return sent


def _attempt_until_settled(d, records, causes):
    sent = 0
    while records:
        again, ok = attempt_many(d, records, causes)
        sent += ok
        records = store.claim_many(d.db, again, clock.now(), d.settings.lease) if again else []
    return sent


def attempt_many(d, records, causes):
    """One delivery attempt for each of `records`, claimed by this worker (they hold its lease).
    Returns (ids of fallbacks to try now, how many were sent).

    Outcomes are recorded in one transaction, one update for each group of records with the
    same outcome (a batch of welcomes sent: one update for the lot)."""
    if not records:
        return [], 0
    outcomes = {}
    for channel in dict.fromkeys(r["channel"] for r in records):
        group = [r for r in records if r["channel"] == channel]
        outcomes.update(zip([r["_id"] for r in group], _send(d, channel, group), strict=True))
    now = clock.now()
    same_outcome, fallbacks = {}, []
    for record in records:
        ok, response = outcomes[record["_id"]]
        changes, attempt, fall_back = domain.after_attempt(record, ok, response, now,
                                                           d.settings.retry_seconds)
        key = repr((sorted(changes.items()), sorted(attempt.items())))
        same_outcome.setdefault(key, (changes, attempt, []))[2].append(record["_id"])
        if fall_back:
            fallbacks.append(_fallback(d, record, now))
    # released with a new lease token: a claimer holding the old one loses
    updates = [(ids, {"$set": {**changes, "lease": store.new_lease()}, "$push": {"attempts": attempt}})
               for changes, attempt, ids in same_outcome.values()]

    def record_outcomes(tx):
        for ids, update in updates:
            store.update_by_ids(tx, ids, update)
        saved = [fallbacks[i] for i in store.save_many(tx, [f for f, _ in fallbacks])]
        for fallback, in_person in saved:
            if in_person:
                _request_visit(tx, fallback, causes)
        return saved

    # The providers have acted: losing this record to a write conflict would send again once
    # the lease ends, so a conflict reruns the recording (database work only).
    saved = d.db.run_transaction(record_outcomes)
    again = [f["_id"] for f, _ in saved if f["status"] == QUEUED and f["due_at"] <= now]
    return again, sum(ok for ok, _ in outcomes.values())


def _send(d, channel, records):
    """[(ok, response)] per record from the channel's provider; a provider bug is a failure
    like any other (retried), never a lost record."""
    provider = d.providers.get(channel)
    if provider is None:
        return [(False, f"no provider for channel {channel!r}")] * len(records)
    try:
        return provider.send_many(records)
    except Exception as exc:
        log.exception("provider %s raised on %d record(s), first %s", channel, len(records),
                      records[0]["_id"])
        return [(False, repr(exc))] * len(records)


def _fallback(d, record, now):
    person = store.person(d.db, record["recipient"])
    tried = [*record.get("fallback_from", []), record["channel"]]
    text = (record["title"], record["body"])
    message = Message(record["event_id"], record["event_type"], record["topic"], record["critical"],
                      {lang: text for lang in LANGUAGES}, grid_code=record.get("grid_code"))
    return domain.route(message, person, now, recipient_id=record["recipient"], tried=tried)


def release_due(d):
    """Deliver what is due: held by quiet hours until now, or waiting for a retry."""
    return deliver(d, store.due_ids(d.db, clock.now(), d.settings.release_batch))


# ---------------------------------------------------------------- the morning digest


def morning_digest(d):
    """Each staff member's open and overdue work, once a day from `digest_hour` local."""
    now = clock.now()
    day = domain.digest_day(now, d.settings.digest_hour)
    if day is None:
        return 0
    staff = store.staff(d.db)
    by_staff = domain.digests(staff, store.grid_workers(d.db), store.open_work_items(d.db), now)
    routed = []
    for person in staff:
        items = by_staff.get(person["_id"])
        if not items:
            continue
        overdue = sum(1 for i in items if i["is_overdue"])
        texts = d.templates.local_texts("notifications.digest", {
            lang: {"name": person["name"], "open": len(items), "overdue": overdue,
                   "items": domain.digest_lines(items, lang)} for lang in LANGUAGES})
        message = Message(f"digest-{day.isoformat()}", "notifications.digest", "digest", False, texts)
        routed.append(domain.route(message, person, now))
    return len(commit(d, routed))


# ---------------------------------------------------------------- announcements (commands)


def send(d, command, grant):
    """An announcement (通知公告) to a person, a grid's staff or every household of a grid. A big
    one returns at once: beyond `inline_limit` its messages go out with the next `release_due`
    tick, and the caller follows them with `announcement_progress(announcement_id)`."""
    target = command["target"]
    grid = target.get("grid_code")
    if target["kind"] == "person":
        person = store.person(d.db, target["person_id"])
        grids = domain.grids_of(person, store.post_grids(d.db, person["_id"])) if person else ()
        domain.check_send(grant, grids)  # before saying whether the person exists
        if person is None:
            raise InvalidInput("invalid target", {"target": {"person_id": [
                f"unknown person {target['person_id']!r}"]}})
        grid = grant.grid if grant.rule == OWN_GRID else None  # else the person's own (route)
    else:
        domain.check_send(grant, (grid,))
    announcement_id = f"ANN-{command.get('request_id') or uuid.uuid4().hex[:12].upper()}"
    texts = {lang: (command["title"], command["body"]) for lang in LANGUAGES}
    message = Message(announcement_id, "notifications.announcement", "announcement",
                      command["critical"], texts, grid_code=grid)
    now = clock.now()
    if target["kind"] == "person":
        people = [(person["_id"], person)]
    elif target["kind"] == "grid_staff":
        people = store.resolve(d.db, [Post(role, grid) for role in store.roles_in_grid(d.db, grid)])
    else:  # grid_households: once per household, not once per member
        residents = store.residents_of_grid(d.db, grid)
        people = [(p["_id"], p) for p in domain.household_representatives(residents, now)]
    new = commit(d, [domain.route(message, person, now, recipient_id=rid) for rid, person in people],
                 inline_limit=d.settings.inline_limit)
    return {"announcement_id": announcement_id, "recipients": len(people),
            "notifications": [r["_id"] for r in new],
            "progress": store.progress(d.db, announcement_id)}


def announcement_progress(db, announcement_id, grant):
    return store.progress(db, announcement_id, grant.query(grid_field="grid_code"))


def delivery_log(db, query, grant):
    """The newest records matching the filters, within the caller's grant, addresses masked for
    those who do not need them."""
    limit = query.pop("limit")
    flt = domain.log_filter(query, grant.query(grid_field="grid_code"))
    records = store.log(db, flt, limit) if flt is not None else []
    return [domain.present_notification(record, grant.role) for record in records]


# ---------------------------------------------------------------- a person's inbox and preferences


def inbox(db, query, grant):
    domain.check_own(grant, query["person_id"])
    messages = store.inbox(db, query["person_id"], query["unread_only"], query["limit"])
    return messages, store.unread_count(db, query["person_id"])


def mark_read(db, command, grant, now):
    person_id = command["person_id"]
    domain.check_own(grant, person_id)
    return db.run_transaction(lambda tx: store.mark_read(tx, person_id, command["message_ids"], now))


def set_preferences(db, command, grant):
    """Set some of a known person's preferences; someone unknown is refused, never created."""
    person_id = command.pop("person_id")
    domain.check_own(grant, person_id)

    def write(tx):
        if not store.set_preferences(tx, person_id, command):
            raise invalid("person_id", f"unknown person {person_id!r}")

    db.run_transaction(write)
    return get_preferences(db, person_id, grant)


def get_preferences(db, person_id, grant):
    """A person's preferences (the defaults for someone not known yet)."""
    domain.check_own(grant, person_id)
    person = store.person(db, person_id) or {"_id": person_id}
    return {"person_id": person_id, **domain.preferences(person)}
