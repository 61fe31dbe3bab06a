import json
import logging

from shared import context
from shared.logs import JsonFormatter


class _Worker:
    def __init__(self, data):
        self.data = data


def _line(message, **extra):
    record = logging.LogRecord("svc", logging.WARNING, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter().format(record))


def test_a_log_line_is_one_json_object_with_the_workers_correlation_id():
    provider = context.RequestContext()
    worker = _Worker({"correlation_id": "req-7"})
    provider.worker_setup(worker)
    try:
        line = _line("incident %s dispatched", event_type="grid_events.incident_dispatched")
    finally:
        provider.worker_teardown(worker)
    assert line["correlation_id"] == "req-7"
    assert line["level"] == "WARNING" and line["event_type"] == "grid_events.incident_dispatched"
    assert "correlation_id" not in _line("outside any worker")


def test_a_worker_without_a_correlation_id_gets_one_that_sticks():
    worker = _Worker({})
    first = context.ensure_correlation_id(worker)
    assert first and context.ensure_correlation_id(worker) == first
    assert context.Context(worker).correlation_id == first


def test_a_handled_event_names_its_entities_on_its_log_line():
    from shared.handlers import entities

    payload = {"incident_id": "INC-261127-A1B2C3", "grid_code": "G3", "reporter_resident_id": "R-000042",
               "resolved_by": None, "rating": 5}
    line = _line("handled by on_incident_resolved", entities=entities(payload))
    assert line["entities"] == {"incident_id": "INC-261127-A1B2C3", "reporter_resident_id": "R-000042"}
    assert "INC-261127-A1B2C3" in json.dumps(line)  # so `grep INC-...` finds it


def test_every_address_of_a_failover_uri_has_its_password_masked():
    from shared.logs import redact

    line = "Error connecting to broker at pyamqp://guest:********@h1:5681/;pyamqp://app:s3cret@h2:5682/"
    assert "s3cret" not in redact(line)
    assert redact("mongodb://app:s3cret@m1,m2/?replicaSet=rs") == "mongodb://app:********@m1,m2/?replicaSet=rs"
