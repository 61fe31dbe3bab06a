"""The notifications use cases: plan (domain) -> record (one transaction) -> deliver (providers).

Every notification is first committed as `queued` in the delivery log, in the same transaction
that claims the event (so a redelivered event plans nothing twice), then delivered: claimed
with a lease, sent through its channel's provider, and the attempt recorded. A failed attempt
is retried later (`NOTIFY_RETRY_SECONDS`), then falls back to the next channel. Anything due
and not yet delivered (held by quiet hours, waiting for a retry, or left by a crash) is picked
up by the `release_due` timer.
"""

import logging
import uuid
from datetime import timedelta

from services.notifications import domain, store
from services.notifications.domain import LANGUAGES, QUEUED, Message, Person, Post
from services.notifications.providers import DeliveryFailed
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
        self.retry = tuple(config.get("NOTIFY_RETRY_SECONDS", domain.DEFAULT_RETRY_SECONDS))
        self.lease = timedelta(seconds=float(config.get("NOTIFY_LEASE_SECONDS", 120)))
        self.batch = int(config.get("NOTIFY_RELEASE_BATCH", 500))
        self.digest_hour = int(config.get("NOTIFY_DIGEST_HOUR", 7))
        # a big announcement (every household of a grid) returns at once: beyond this many,
        # its messages go out with the next `release_due` tick instead of in the RPC call
        self.inline_limit = int(config.get("NOTIFY_INLINE_LIMIT", 50))
        # events come from several producers in no guaranteed order: a dispatch may arrive before
        # the staff assignment that tells us who the assignee is. Within this window an unknown
        # recipient means "not yet", and the event is retried; after it, "nobody we know".
        self.recipient_wait = timedelta(seconds=float(config.get("NOTIFY_RECIPIENT_WAIT_SECONDS", 600)))

    # ------------------------------------------------------------ events

    def on_event(self, event, apply=None, known=None):
        """Notify whoever `event` concerns; `apply(tx)` records what it teaches us, in the same
        transaction. `known`: people not stored yet (learned from this very event)."""
        message, who = self.templates.message(event)
        routed = []
        if message is not None:
            now = clock.now()
            recipients = store.resolve(self.db, who.selectors, known)
            unknown = [rid for rid, person in recipients if person is None]
            if unknown and now - event.occurred_at < self.recipient_wait:
                raise RecipientNotYetKnown(f"{event.type}: {', '.join(unknown)} not known yet")
            routed = [domain.route(message, person, now, recipient_id=rid) for rid, person in recipients]
        return self.commit(routed, apply)

    def commit(self, routed, apply=None, inline_limit=None):
        """Record the notifications (and what `apply` writes) in one transaction, then deliver
        those that are due. The in-app inbox is written in that same transaction."""
        new = []
        now = clock.now()
        with self.db.transaction() as tx:
            if apply is not None:
                apply(tx)
            for record, in_person in routed:
                inbox = self._inline(record, now)
                if inbox is not None:
                    changes, attempt, _ = domain.after_attempt(record, True, inbox.STORED, now)
                    record = {**record, **changes, "attempts": [attempt]}
                if store.save(tx, record):
                    new.append(record)
                    if inbox is not None:
                        inbox.send_in(tx, record)
                    if in_person:
                        self._request_visit(tx, record)
        due = [r["_id"] for r in new if r["status"] == QUEUED and r["due_at"] <= now]
        self.deliver(due if inline_limit is None else due[:inline_limit])
        return new

    def _inline(self, record, now):
        provider = self.providers.get(record["channel"])
        if record["status"] == QUEUED and record["due_at"] <= now and hasattr(provider, "send_in"):
            return provider
        return None

    def _request_visit(self, tx, record):
        tx.emit("notifications.in_person_delivery_requested", {
            "resident_id": record["recipient"], "grid_code": record.get("grid_code"),
            "topic": record["topic"], "message": record["body"] or "",
            "source_event_id": record["event_id"],
        })

    # ------------------------------------------------------------ delivery

    def deliver(self, ids):
        sent = 0
        for notification_id in ids:
            while notification_id:
                notification_id, ok = self.attempt(notification_id)
                sent += ok
        return sent

    def attempt(self, notification_id):
        """One delivery attempt. Returns (id of a fallback to try now or None, sent?)."""
        record = store.claim(self.db, notification_id, clock.now(), self.lease)
        if record is None:
            return None, False  # not due, already delivered, or another worker has it
        provider = self.providers.get(record["channel"])
        try:
            if provider is None:
                raise DeliveryFailed(f"no provider for channel {record['channel']!r}")
            response, ok = provider.send(record), True
        except DeliveryFailed as exc:
            response, ok = str(exc), False
        except Exception as exc:  # a provider bug must not lose the record: retried like a failure
            log.exception("provider %s raised on %s", record["channel"], notification_id)
            response, ok = repr(exc), False
        now = clock.now()
        changes, attempt, fall_back = domain.after_attempt(record, ok, response, now, self.retry)
        changes["lease"] = store.new_lease()  # released: a claimer holding the old token loses
        fallback = in_person = None
        if fall_back:
            fallback, in_person = self._fallback(record, now)

        def record(tx):
            tx.notifications.update_one({"_id": notification_id},
                                        {"$set": changes, "$push": {"attempts": attempt}})
            saved = fallback is not None and store.save(tx, fallback)
            if saved and in_person:
                self._request_visit(tx, fallback)
            return saved

        # The provider has acted: losing this record to a write conflict would send it again
        # once the lease ends, so a conflict reruns the recording (database work only).
        saved = self.db.run_transaction(record)
        if saved and fallback["status"] == QUEUED and fallback["due_at"] <= now:
            return fallback["_id"], ok
        return None, ok

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
        return {"announcement_id": announcement_id, "recipients": len(people),
                "notifications": [r["_id"] for r in new]}

    # ------------------------------------------------------------ morning digest

    def morning_digest(self):
        """Each staff member's open and overdue work, once a day from `NOTIFY_DIGEST_HOUR` local."""
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
