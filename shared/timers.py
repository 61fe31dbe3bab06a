"""Timers whose interval is a setting, firing once across a service's instances.

    @timer("tick_seconds", 30)          # NOTIFICATIONS: {tick_seconds: 30} in deploy/nameko.yaml
    def release_due(self): ...

Interval: tests set it long and fire the use case by hand.

Once across instances: with several instances of a service (`make run SCALE=2`, replicas in
Kubernetes) every instance runs the timer, but a tick does its work only in the instance holding
the timer's lease (shared/lease.py, in the service's own database). The holder renews the lease at
each tick; the lease lasts 1.5 intervals (at least the interval + 10 s, so a holder slowed by a
busy machine keeps it), so the others skip while it lives, and take over within about two
intervals of the holder dying (at once after a clean stop, which releases it). A
service without a database runs every tick. The work itself stays idempotent (claims, markers):
the lease keeps it from running N times, not from ever running twice.
"""

import logging

from nameko.timer import Timer
from pymongo.errors import PyMongoError

from shared.config import service_settings
from shared.lease import Lease
from shared.mongo import Mongo

log = logging.getLogger(__name__)

LEASE_INTERVALS = 1.5
LEASE_GRACE_SECONDS = 10


class ConfigTimer(Timer):
    """A nameko timer reading its interval from the service's config section at start."""

    def __init__(self, config_key, default, **kwargs):
        self.config_key = config_key
        self.lease = None
        super().__init__(interval=default, **kwargs)

    def setup(self):
        config = self.container.config
        section = service_settings(config, self.container.service_name)
        # A top-level key of the same name is the old flat style, read until no config uses it.
        self.interval = float(section.get(self.config_key, config.get(self.config_key, self.interval)))

    def start(self):
        mongo = next((dep for dep in self.container.dependencies if isinstance(dep, Mongo)), None)
        if mongo is not None:
            length = max(self.interval * LEASE_INTERVALS, self.interval + LEASE_GRACE_SECONDS)
            self.lease = Lease(mongo.db, f"timer:{self.method_name}", length)
        super().start()

    def stop(self):
        super().stop()
        if self.lease is not None:
            self.lease.release()

    def handle_timer_tick(self):
        if self.lease is not None and not self._holds_lease():
            self.worker_complete.send()  # another instance does this tick's work
            return
        super().handle_timer_tick()

    def _holds_lease(self):
        try:
            return self.lease.hold()
        except PyMongoError as exc:
            log.warning("timer %s skipped a tick: its lease is unreachable (%r)", self.method_name, exc)
            return False


timer = ConfigTimer.decorator
