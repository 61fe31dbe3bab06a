"""Channels behind one small interface: `send(record) -> provider response`, or `DeliveryFailed`.

- in_app: the recipient's inbox, stored in this service's database (queryable by them).
- email: real SMTP (`smtp_host`, `smtp_port`, `smtp_from`, `smtp_timeout` in the NOTIFICATIONS
  section of the config).
- sms, push: the local implementation records what would be sent (`sms_sent`, `push_sent`);
  a real gateway replaces it behind the same interface. `failing_providers` (a list of
  channel names) makes a provider refuse everything, to exercise retries and fallbacks.
"""

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from nameko.extensions import DependencyProvider
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared import clock
from shared.config import service_settings


class DeliveryFailed(Exception):
    """The provider did not take the message; worth retrying."""


class Provider:
    channel = None

    def send(self, record):
        """Deliver one notification record; return the provider's response (logged)."""
        raise NotImplementedError

    def send_many(self, records):
        """[(ok, response)] for each record. One by one here; a gateway with a bulk API
        overrides it (one call for the lot)."""
        outcomes = []
        for record in records:
            try:
                outcomes.append((True, self.send(record)))
            except DeliveryFailed as exc:
                outcomes.append((False, str(exc)))
        return outcomes


def _insert_many_once(collection, docs, **kwargs):
    """Insert `docs`; those already there (a retried delivery) count as done. The _ids of those."""
    try:
        collection.insert_many(docs, ordered=False, **kwargs)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", ())):
            raise
        return {docs[error["index"]]["_id"] for error in exc.details["writeErrors"]}
    return set()


class InAppInbox(Provider):
    """The inbox lives in this service's database, so it can also be written in the very
    transaction that records the notification (`send_many_in`): no separate delivery step."""

    channel = "in_app"
    STORED = "stored in inbox"

    def __init__(self, db):
        self.db = db

    def send(self, record):
        try:
            self.db.inbox.insert_one(self._message(record))
        except DuplicateKeyError:
            return "already in inbox"
        return self.STORED

    def send_many(self, records):
        there = _insert_many_once(self.db.inbox, [self._message(r) for r in records])
        return [(True, "already in inbox" if r["_id"] in there else self.STORED) for r in records]

    def send_many_in(self, tx, records):
        tx.inbox.insert_many([self._message(r) for r in records])

    @staticmethod
    def _message(record):
        return {"_id": record["_id"], "recipient": record["recipient"], "topic": record["topic"],
                "title": record["title"], "body": record["body"], "critical": record["critical"],
                "event_id": record["event_id"], "created_at": clock.now(), "read_at": None}


class SmtpEmail(Provider):
    channel = "email"

    def __init__(self, host, port, sender, timeout):
        self.host, self.port, self.sender, self.timeout = host, int(port), sender, float(timeout)

    def send(self, record):
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = record["address"]
        mail["Subject"] = record["title"]
        mail["Message-ID"] = make_msgid(idstring=record["_id"])
        mail["X-Notification-Id"] = record["_id"]
        mail.set_content(record["body"])
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                refused = smtp.send_message(mail)
                code, reply = smtp.noop()
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"smtp {self.host}:{self.port}: {exc!r}") from exc
        if refused:
            raise DeliveryFailed(f"smtp refused {refused}")
        return f"smtp accepted for {record['address']} ({code} {reply.decode(errors='replace')})"


class RecordingGateway(Provider):
    """SMS or push, locally: records what would be sent; can be told to fail."""

    def __init__(self, channel, db, failing=False):
        self.channel = channel
        self.db = db
        self.failing = failing

    def send(self, record):
        if self.failing:
            raise DeliveryFailed(f"{self.channel} gateway unavailable (failing_providers)")
        try:
            self.db[f"{self.channel}_sent"].insert_one({
                "_id": record["_id"], "to": record["address"], "title": record["title"],
                "text": record["body"], "at": clock.now(),
            })
        except DuplicateKeyError:
            return f"{self.channel} already accepted"
        return f"{self.channel} accepted by local gateway"

    def send_many(self, records):
        if self.failing:
            return [(False, f"{self.channel} gateway unavailable (failing_providers)")] * len(records)
        there = _insert_many_once(self.db[f"{self.channel}_sent"], [{
            "_id": r["_id"], "to": r["address"], "title": r["title"], "text": r["body"], "at": clock.now(),
        } for r in records])
        return [(True, f"{self.channel} already accepted" if r["_id"] in there
                 else f"{self.channel} accepted by local gateway") for r in records]


class Channels(DependencyProvider):
    """Injects {channel: Provider}. Needs the service's `Mongo` dependency for its database."""

    def __init__(self, mongo_attr="db"):
        self.mongo_attr = mongo_attr

    def start(self):
        config = service_settings(self.container.config, self.container.service_name)
        mongo = next(dep for dep in self.container.dependencies if dep.attr_name == self.mongo_attr)
        failing = set(config.get("failing_providers") or ())
        db = mongo.db
        self.providers = {
            "in_app": InAppInbox(db),
            "email": SmtpEmail(config.get("smtp_host", "127.0.0.1"), int(config.get("smtp_port", 8025)),
                               config.get("smtp_from", "noreply@sunshine.local"),
                               float(config.get("smtp_timeout", 10))),
            "sms": RecordingGateway("sms", db),
            "push": RecordingGateway("push", db),
        }
        for channel in failing:
            if channel in ("sms", "push"):
                self.providers[channel].failing = True
            elif channel in self.providers:
                self.providers[channel] = _Failing(channel)

    def get_dependency(self, worker_ctx):
        return self.providers


class _Failing(Provider):
    def __init__(self, channel):
        self.channel = channel

    def send(self, record):
        raise DeliveryFailed(f"{self.channel} provider unavailable (failing_providers)")
