"""Structured JSON logs: one object per line, with the correlation id of the worker that wrote it.

Used from each service's nameko config (`LOGGING:` with `()`: shared.logs.JsonFormatter).
"""

import json
import logging
from datetime import UTC, datetime

from shared.context import current_correlation_id


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        correlation_id = getattr(record, "correlation_id", None) or current_correlation_id()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        for key in ("service", "event_type", "event_id", "queue", "entities",
                    # the gateway's access log
                    "http_method", "route", "status", "ms", "actor_id", "actor_role"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
