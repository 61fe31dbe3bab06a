"""One injectable clock. Services read time only through `now()`; tests move it, never sleep."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # the community's wall clock: dates of birth, office hours, days

_override = None


def now():
    """The current time, timezone-aware UTC (or the time a test has set)."""
    return _override() if _override else datetime.now(UTC)


def local_date(moment):
    """The community's calendar date at `moment` (an aware datetime)."""
    return moment.astimezone(LOCAL_TZ).date()


def today():
    """Today's date in the community (not in UTC: 00:30 in Shanghai is still yesterday in UTC)."""
    return local_date(now())


def set_clock(source):
    """Tests: `set_clock(lambda: some_datetime)`; `set_clock(None)` returns to real time."""
    global _override
    _override = source


class FrozenClock:
    """A clock a test can set and advance: `clock = FrozenClock(t0); clock.advance(minutes=31)`."""

    def __init__(self, start):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **delta):
        from datetime import timedelta

        self.current += timedelta(**delta)
        return self.current


class Clock(DependencyProvider):
    """Injects `now` into a service: `self.clock()`."""

    def get_dependency(self, worker_ctx):
        return now
