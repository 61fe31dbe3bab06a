"""The event catalogue. Importing this package registers every producer's events."""

from shared.events import finance, grid_events, market, notifications, registry  # noqa: F401  (registration)
from shared.events.catalogue import (  # noqa: F401
    EventSpec,
    InvalidEvent,
    UnknownEvent,
    all_specs,
    envelope,
    event,
    parse,
    spec,
)
from shared.events.envelope import Event  # noqa: F401
