"""The notifications use cases: plan (domain) -> record (one transaction) -> deliver (providers).

Every notification is first committed as `queued` in the delivery log, in the same transaction
that claims the event (so a redelivered event plans nothing twice), then delivered: claimed
with a lease, sent through its channel's provider, and the attempt recorded. A failed attempt
is retried later (`retry_seconds`), then falls back to the next channel. Anything due
and not yet delivered (held by quiet hours, waiting for a retry, or left by a crash) is picked
up by the `release_due` timer.
"""

import logging
import uuid
from datetime import timedelta

from pymongo import UpdateOne

from services.notifications import domain, store
from services.notifications.domain import LANGUAGES, QUEUED, Message, Person, Post
from shared import clock

log = logging.getLogger(__name__)


class RecipientNotYetKnown(Exception):
    """An event names someone this service has not learned of yet (their registry event is still
    on its way): raised so the event is retried with backoff instead of being suppressed."""


class Notifier:
    def __init__(self, db, templates, providers, config):
        self.db = db
        self.templates = templates
        self.providers = providers
        # `config`: the NOTIFICATIONS section of the nameko config (shared.config)
        self.retry = tuple(config.get("retry_seconds", domain.DEFAULT_RETRY_SECONDS))
        self.lease = timedelta(seconds=float(config.get("lease_seconds", 120)))
        self.batch = int(config.get("release_batch", 500))
        self.digest_hour = int(config.get("digest_hour", 7))
        # a big announcement (every household of a grid) returns at once: beyond this many,
        # its messages go out with the next `release_due` tick instead of in the RPC call
        self.inline_limit = int(config.get("inline_limit", 50))
        # events come from several producers in no guaranteed order: a dispatch may arrive before
        # the staff assignment that tells us who the assignee is. Within this window an unknown
        # recipient means "not yet", and the event is retried; after it, "nobody we know".
        self.recipient_wait = timedelta(seconds=float(config.get("recipient_wait_seconds", 600)))
        self._causes = {}  # event id -> the event being handled (a batch has many)

    # ------------------------------------------------------------ events

    def on_event(self, event, apply=None, known=None):
        """Notify whoever `event` concerns; `apply(tx)` records what it teaches us, in the same
        transaction. `known`: people not stored yet (learned from this very event)."""
        return self.on_events([event], apply, known)

    def on_events(self, events, apply=None, known=None):
        """`on_event` for a batch (a batch handler's events): one transaction, bulk delivery."""
        routed = []
        now = clock.now()
        self._causes = {event.event_id: event for event in events}
        for event in events:
            message, who = self.templates.message(event)
            if message is None:
                continue
            recipients = store.resolve(self.db, who.selectors, known)
            unknown = [rid for rid, person in recipients if person is None]
            if unknown and now - event.occurred_at < self.recipient_wait:
                raise RecipientNotYetKnown(
                    f"{event.type} {event.event_id}: {', '.join(unknown)} not known yet")
            routed += [domain.route(message, person, now, recipient_id=rid) for rid, person in recipients]
        return self.commit(routed, apply)

    def commit(self, routed, apply=None, inline_limit=None):
        """Record the notifications (and what `apply` writes) in one transaction, then deliver
        those that are due. The in-app inbox is written in that same transaction."""
        now = clock.now()
        records, visits, inline = [], [], []
        for record, in_person in routed:
            inbox = self._inline(record, now)
            if inbox is not None:
                changes, attempt, _ = domain.after_attempt(record, True, inbox.STORED, now)
                record = {**record, **changes, "attempts": [attempt]}
            records.append(record)
            visits.append(in_person)
            inline.append(inbox)
        with self.db.transaction() as tx:
            if apply is not None:
                apply(tx)
            saved = store.save_many(tx, records)
            new = [records[i] for i in saved]
            inbox_messages = [records[i] for i in saved if inline[i] is not None]
            if inbox_messages:
                self.providers["in_app"].send_many_in(tx, inbox_messages)
            for i in saved:
                if visits[i]:
                    self._request_visit(tx, records[i])
        due = [r["_id"] for r in new if r["status"] == QUEUED and r["due_at"] <= now]
        self.deliver(due if inline_limit is None else due[:inline_limit])
        return new

    def _inline(self, record, now):
        provider = self.providers.get(record["channel"])
        if record["status"] == QUEUED and record["due_at"] <= now and hasattr(provider, "send_many_in"):
            return provider
        return None

    def _request_visit(self, tx, record):
        tx.emit("notifications.in_person_delivery_requested", {
            "resident_id": record["recipient"], "grid_code": record.get("grid_code"),
            "topic": record["topic"], "message": record["body"] or "",
            "source_event_id": record["event_id"],
        }, cause=self._causes.get(record["event_id"]))

    # ------------------------------------------------------------ delivery

    def deliver(self, ids, chunk=500):
        """Attempt each due notification once (falling back at once where it says so), a chunk
        at a time: one claim, one provider call per channel and one recording transaction each."""
        sent = 0
        for start in range(0, len(ids), chunk):
            pending = list(ids[start:start + chunk])
            while pending:
                pending, ok = self.attempt_many(pending)
                sent += ok
        return sent

    def attempt_many(self, ids):
        """One delivery attempt for each of `ids` that is due and not claimed by another worker.
        Returns (ids of fallbacks to try now, how many were sent)."""
        records = store.claim_many(self.db, ids, clock.now(), self.lease)
        if not records:
            return [], 0  # not due, already delivered, or another worker has them
        outcomes = {}
        for channel in dict.fromkeys(r["channel"] for r in records):
            group = [r for r in records if r["channel"] == channel]
            outcomes.update(zip([r["_id"] for r in group], self._send(channel, group), strict=True))
        now = clock.now()
        updates, fallbacks = [], []
        for record in records:
            ok, response = outcomes[record["_id"]]
            changes, attempt, fall_back = domain.after_attempt(record, ok, response, now, self.retry)
            changes["lease"] = store.new_lease()  # released: a claimer holding the old token loses
            updates.append(UpdateOne({"_id": record["_id"]},
                                     {"$set": changes, "$push": {"attempts": attempt}}))
            if fall_back:
                fallbacks.append(self._fallback(record, now))

        def record_outcomes(tx):
            tx.notifications.bulk_write(updates, ordered=False)
            saved = [fallbacks[i] for i in store.save_many(tx, [f for f, _ in fallbacks])]
            for fallback, in_person in saved:
                if in_person:
                    self._request_visit(tx, fallback)
            return saved

        # The providers have acted: losing this record to a write conflict would send again once
        # the lease ends, so a conflict reruns the recording (database work only).
        saved = self.db.run_transaction(record_outcomes)
        again = [f["_id"] for f, _ in saved if f["status"] == QUEUED and f["due_at"] <= now]
        return again, sum(ok for ok, _ in outcomes.values())

    def _send(self, channel, records):
        """[(ok, response)] per record from the channel's provider; a provider bug is a failure
        like any other (retried), never a lost record."""
        provider = self.providers.get(channel)
        if provider is None:
            return [(False, f"no provider for channel {channel!r}")] * len(records)
        try:
            return provider.send_many(records)
        except Exception as exc:
            log.exception("provider %s raised on %d record(s), first %s", channel, len(records),
                          records[0]["_id"])
            return [(False, repr(exc))] * len(records)

    def _fallback(self, record, now):
        person = self.db.people.find_one({"_id": record["recipient"]})
        tried = [*record.get("fallback_from", []), record["channel"]]
        text = (record["title"], record["body"])
        message = Message(record["event_id"], record["event_type"], record["topic"], record["critical"],
                          {lang: text for lang in LANGUAGES}, grid_code=record.get("grid_code"))
        return domain.route(message, person, now, recipient_id=record["recipient"], tried=tried)

    def release_due(self):
        """Deliver what is due: held by quiet hours until now, or waiting for a retry."""
        return self.deliver(store.due_ids(self.db, clock.now(), self.batch))

    # ------------------------------------------------------------ announcements

    def announce(self, command, actor):
        target = command["target"]
        announcement_id = f"ANN-{command.get('request_id') or uuid.uuid4().hex[:12].upper()}"
        grid = target.get("grid_code")
        texts = {lang: (command["title"], command["body"]) for lang in LANGUAGES}
        message = Message(announcement_id, "notifications.announcement", "announcement",
                          command["critical"], texts, grid_code=grid)
        now = clock.now()
        if target["kind"] == "person":
            people = store.resolve(self.db, [Person(target["person_id"])])
        elif target["kind"] == "grid_staff":
            roles = self.db.posts.distinct("role", {"grid_code": grid})
            people = store.resolve(self.db, [Post(role, grid) for role in sorted(roles)])
        else:  # grid_households: once per household, not once per member
            residents = list(self.db.people.find({"kind": "resident", "grid_code": grid}))
            people = [(p["_id"], p) for p in domain.household_representatives(residents, now)]
        new = self.commit([domain.route(message, person, now, recipient_id=rid) for rid, person in people],
                          inline_limit=self.inline_limit)
        # beyond `inline_limit` the messages go out with the next `release_due` tick: the caller
        # follows them with `announcement_progress(announcement_id)`
        return {"announcement_id": announcement_id, "recipients": len(people),
                "notifications": [r["_id"] for r in new],
                "progress": store.progress(self.db, announcement_id)}

    # ------------------------------------------------------------ morning digest

    def morning_digest(self):
        """Each staff member's open and overdue work, once a day from `digest_hour` local."""
        now = clock.now()
        day = domain.digest_day(now, self.digest_hour)
        if day is None:
            return 0
        staff = list(self.db.people.find({"kind": "staff"}))
        by_staff = domain.digests(staff, store.grid_workers(self.db), list(self.db.work.find({})), now)
        routed = []
        for person in staff:
            items = by_staff.get(person["_id"])
            if not items:
                continue
            overdue = sum(1 for i in items if i["is_overdue"])
            texts = self.templates.local_texts("notifications.digest", {
                lang: {"name": person["name"], "open": len(items), "overdue": overdue,
                       "items": domain.digest_lines(items, lang)} for lang in LANGUAGES})
            message = Message(f"digest-{day.isoformat()}", "notifications.digest", "digest", False, texts)
            routed.append(domain.route(message, person, now))
        return len(self.commit(routed))
