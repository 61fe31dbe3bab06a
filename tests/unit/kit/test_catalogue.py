from datetime import UTC, date, datetime

import pytest

from shared import events
from shared.events import InvalidEvent, envelope, parse

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _household(**payload):
    base = {"household_id": "HH-G3-00001", "grid_code": "G3", "building": "B21", "unit": "2",
            "room": "301", "kind": "tenant"}
    return {**base, **payload}


def test_every_event_is_named_producer_dot_fact_and_has_a_description():
    for spec in events.all_specs():
        assert spec.source in {"registry", "grid_events", "notifications", "market", "finance"} \
            or spec.source.startswith("kit_"), spec.type
        assert spec.name and spec.description, spec.type


def test_envelope_carries_ids_time_and_a_json_ready_payload():
    env = envelope("registry.household_registered", _household(), source="registry",
                   correlation_id="c-1", causation_id="e-0", occurred_at=NOW)
    assert env["type"] == "registry.household_registered" and env["version"] == 1
    assert env["occurred_at"] == "2026-11-02T09:00:00+00:00"
    assert env["correlation_id"] == "c-1" and env["causation_id"] == "e-0"
    assert len(env["event_id"]) == 32


def test_a_producer_cannot_emit_an_invalid_payload():
    with pytest.raises(InvalidEvent) as refused:
        envelope("registry.household_registered", _household(kind="castle"), source="registry",
                 correlation_id="c", occurred_at=NOW)
    assert "kind" in refused.value.errors


def test_a_service_cannot_emit_another_services_events():
    with pytest.raises(InvalidEvent, match="only registry"):
        envelope("registry.household_registered", _household(), source="grid_events",
                 correlation_id="c", occurred_at=NOW)


def test_unknown_event_type_is_refused():
    with pytest.raises(InvalidEvent, match="unknown"):
        envelope("registry.household_vanished", {}, source="registry", correlation_id="c",
                 occurred_at=NOW)


def test_parse_loads_payload_types_and_tolerates_added_optional_fields():
    env = envelope("registry.resident_moved_out",
                   {"resident_id": "R-1", "household_id": "HH-1", "grid_code": "G1",
                    "moved_out_on": date(2026, 10, 1)},
                   source="registry", correlation_id="c", occurred_at=NOW)
    env["payload"]["new_optional_fact"] = "x"  # a producer ahead of us within the same version
    event = parse(env, expected_type="registry.resident_moved_out")
    assert event.payload["moved_out_on"] == date(2026, 10, 1)
    assert "new_optional_fact" not in event.payload
    assert event.occurred_at == NOW and event.name == "resident_moved_out"


@pytest.mark.parametrize("mutate, reason", [
    (lambda env: env.update(version=7), "version 7"),
    (lambda env: env["payload"].pop("grid_code"), "grid_code"),
    (lambda env: env.pop("event_id"), "event_id"),
    (lambda env: env.update(type="registry.resident_died"), "expected"),
])
def test_parse_refuses_what_no_retry_can_fix(mutate, reason):
    env = envelope("registry.resident_moved_out",
                   {"resident_id": "R-1", "household_id": "HH-1", "grid_code": "G1",
                    "moved_out_on": date(2026, 10, 1)},
                   source="registry", correlation_id="c", occurred_at=NOW)
    mutate(env)
    with pytest.raises(InvalidEvent, match=reason):
        parse(env, expected_type="registry.resident_moved_out")
