"""A lease in the service's own database: one instance of a service does a job at a time.

    lease = Lease(db, "outbox_relay", seconds=15)
    if lease.hold():        # held by us, or free, or expired: now ours until now + 15 s
        ...
    lease.release()         # on a clean stop, so a peer takes over at once

With several instances of a service (competing consumers on the same queues), work that must
happen once — publishing the outbox in order, a timer's run — is done by whoever holds its
lease. The holder renews it each time it calls `hold()`; if it dies, the lease expires and the
next instance to ask takes it over. The lease is one document in the `locks` collection,
claimed with one atomic `find_one_and_update`: the database is the arbiter, so it works the
same for two processes on one machine and for pods on several nodes.

Expiry is judged by the clocks of the instances (wall time, not `shared.clock`, which tests
freeze): their skew must stay well below the lease length (NTP keeps it to milliseconds).
"""

import logging
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

log = logging.getLogger(__name__)

LOCKS = "locks"


class Lease:
    def __init__(self, db, name, seconds, owner=None):
        self.collection = db[LOCKS]
        self.name = name
        self.length = timedelta(seconds=float(seconds))
        self.owner = owner or uuid.uuid4().hex

    def hold(self):
        """Take or renew the lease; True if this owner holds it until now + its length."""
        now = datetime.now(UTC)
        for _ in range(3):  # an upsert racing another first use may return None: ask again
            try:
                lease = self.collection.find_one_and_update(
                    {"_id": self.name, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                    {"$set": {"owner": self.owner, "until": now + self.length, "renewed_at": now}},
                    upsert=True, return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # another owner holds a live lease (the upsert lost)
                return False
            if lease is not None:
                return lease["owner"] == self.owner
        return False

    def release(self):
        """Give the lease up (a clean stop): the next peer to ask takes it without waiting."""
        try:
            self.collection.delete_one({"_id": self.name, "owner": self.owner})
        except PyMongoError:
            log.debug("could not release lease %s; it will expire", self.name, exc_info=True)

    def holder(self):
        """The current owner, or None when free or expired (for health reports and tests)."""
        doc = self.collection.find_one({"_id": self.name})
        if doc and doc["until"] > datetime.now(UTC):
            return doc["owner"]
        return None
