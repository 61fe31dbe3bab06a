"""Structured JSON logs: one object per line, with the correlation id of the worker that wrote it.

Used from each service's nameko config (`LOGGING:` with `()`: shared.logs.JsonFormatter).
"""

import json
import logging
import re
from datetime import UTC, datetime

from shared.context import current_correlation_id

# nameko masks the password of the first address of an AMQP_URI only; with a cluster's failover
# list (`uri1;uri2;uri3`) the others would reach the logs.
_CREDENTIALS = re.compile(r"(://[^:/@\s;]+:)[^@\s;]+@")


def redact(text):
    return _CREDENTIALS.sub(r"\1********@", text)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
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
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
