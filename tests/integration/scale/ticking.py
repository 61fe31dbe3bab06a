"""A service with a kit timer that records every tick it runs, with the instance that ran it."""

import uuid
from datetime import UTC, datetime

from shared.mongo import Mongo
from shared.timers import timer


class TickingService:
    name = "kit_ticking"
    db = Mongo()
    instance = None  # set per container by the test, through a subclass

    @timer("tick_seconds", 60)
    def tick(self):
        self.db.ticks.insert_one({"instance": self.instance or uuid.uuid4().hex,
                                  "at": datetime.now(UTC)})


def instance_of(tag):
    """The same service under another instance tag (two containers of one service)."""
    return type(f"TickingService{tag}", (TickingService,), {"instance": tag})
