from datetime import UTC, date, datetime

import pytest
from marshmallow import ValidationError
from nameko.exceptions import deserialize, serialize
from pymongo.errors import OperationFailure

from shared import clock, mongo
from shared.config import service_settings
from shared.context import actor_grid, actor_id, actor_role
from shared.errors import Busy, Conflict, InvalidInput, check_each, invalid
from shared.queries import Paged


def _write_conflict():
    return OperationFailure("WriteConflict", 112, {"errorLabels": ["TransientTransactionError"]})


def test_a_conflicted_use_case_runs_again_until_it_wins():
    runs = []

    def use_case():
        runs.append(1)
        if len(runs) < 4:
            raise _write_conflict()
        return "done"

    assert mongo.rerun_on_conflict(use_case, budget=5) == "done"
    assert len(runs) == 4


def test_conflicts_that_outlast_the_budget_end_as_busy_retriable_503(caplog):
    def always_conflicts():
        raise _write_conflict()

    with pytest.raises(Busy) as refused:
        mongo.rerun_on_conflict(always_conflicts, budget=0.05, name="enroll")
    received = deserialize(serialize(refused.value))
    assert isinstance(received, Busy) and received.retriable and received.http_status == 503
    assert [r.levelname for r in caplog.records if "enroll" in r.getMessage()] == ["WARNING"]


def test_other_errors_are_not_rerun():
    runs = []

    def broken():
        runs.append(1)
        raise OperationFailure("bad query", 2)

    with pytest.raises(OperationFailure):
        mongo.rerun_on_conflict(broken)
    assert len(runs) == 1


def test_a_batch_is_refused_with_every_items_reasons_at_once():
    def check(index, item):
        if item < 0:
            raise invalid("amount", "negative")
        return item * 2

    assert check_each([1, 2], check, "refused") == [2, 4]
    with pytest.raises(InvalidInput) as refused:
        check_each([1, -1, -2], check, "refused")
    assert refused.value.fields == {"items.1.amount": ["negative"], "items.2.amount": ["negative"]}
    with pytest.raises(InvalidInput) as single:
        check_each([-1], check, "refused")
    assert single.value.fields == {"amount": ["negative"]}


def test_a_batch_of_one_keeps_its_own_kind_of_refusal():
    def clash(index, item):
        raise Conflict("already there", {"id": ["taken"]})

    with pytest.raises(Conflict):
        check_each([1], clash, "refused", refusals=(InvalidInput, Conflict))
    with pytest.raises(InvalidInput) as many:
        check_each([1, 2], clash, "refused", refusals=(InvalidInput, Conflict))
    assert set(many.value.fields) == {"items.0.id", "items.1.id"}


def test_the_local_date_is_shanghais_not_utcs():
    assert clock.local_date(datetime(2026, 11, 2, 16, 30, tzinfo=UTC)) == date(2026, 11, 3)
    assert clock.local_date(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == date(2027, 1, 1)


def test_actor_helpers_tolerate_a_missing_actor():
    assert actor_id(None) is None and actor_id(None, "system") == "system"
    assert actor_role({"id": "S1", "role": "grid_worker", "grid": "G3"}) == "grid_worker"
    assert actor_grid({"id": "S1"}) is None


def test_a_service_reads_its_own_section():
    config = {"GRID_EVENTS": {"auto_close_days": 2}, "NOTIFICATIONS": {"tick_seconds": 5}}
    assert service_settings(config, "grid_events") == {"auto_close_days": 2}
    assert service_settings(config, "market") == {}


def test_paged_inputs_are_bounded():
    schema = Paged(default=20, maximum=200)()
    assert schema.load({}) == {"page": 1, "page_size": 20}
    with pytest.raises(ValidationError):
        schema.load({"page_size": 201})
    for bad in ({"page": "2"}, {"page_size": "50"}, {"page": 0}, {"page": 2.5}, {"page": 10**7}):
        with pytest.raises(ValidationError):
            schema.load(bad)
