"""The three must-visits, from REAL registry events end to end (registry in the same runner)."""

from datetime import UTC, date, datetime

import pytest

from shared.amqp import ConfirmedPublisher
from shared.errors import Conflict
from shared.events import envelope
from tests.integration.grid_events.conftest import CAUSES
from tests.support import queue_depth, wait_until

QUEUE = "evt-registry-party_member_registered--grid_events.on_party_member_registered"


def tasks(ge, **query):
    return ge.list_visit_tasks(query)["items"]


def test_three_must_visits_from_registry_events_overdue_and_cancel_on_moving_out(
        community, rpc, tick, emitted, frozen_clock):
    ge, registry = rpc("grid_events"), community.registry
    r1 = community.resident(community.household("B1", "101"), "老党员甲")
    r2 = community.resident(community.household("B3", "301"), "老党员乙")

    # 1. moving in: registry.party_member_registered
    registry.register_party_member({"resident_id": r1, "branch_code": "BR-1", "joined_on": "1998-07-01"})
    [move_in] = wait_until(lambda: tasks(ge, resident_id=r1), message="move-in visit task")
    assert move_in["kind"] == "move_in" and move_in["grid_code"] == "G1"
    assert move_in["due_on"] == "2026-12-02"  # 30 days from 2 Nov
    assert move_in["assignee_staff_id"] == community.worker1 and move_in["status"] == "open"
    registry.register_party_member({"resident_id": r2, "branch_code": "BR-2", "joined_on": "2005-07-01"})
    wait_until(lambda: tasks(ge, resident_id=r2), message="second move-in task")

    # 2. in difficulty: registry.party_member_in_difficulty
    registry.flag_difficulty({"resident_id": r1, "reason": "重病住院"})
    [difficulty] = wait_until(lambda: tasks(ge, resident_id=r1, kind="difficulty"), message="difficulty task")
    assert difficulty["due_on"] == "2026-11-05" and difficulty["reason"] == "重病住院"
    created = emitted("grid_events.visit_task_created", 3)
    assert sorted((t["resident_id"], t["kind"]) for t in created) == sorted(
        [(r1, "move_in"), (r2, "move_in"), (r1, "difficulty")])

    # overdue: the difficulty visit is due on 5 Nov; on 6 Nov (Shanghai) it is late, once
    frozen_clock.current = datetime(2026, 11, 5, 15, 59, tzinfo=UTC)  # 23:59 on 5 Nov local
    assert tick()["visits_overdue"] == 0
    frozen_clock.current = datetime(2026, 11, 5, 16, 1, tzinfo=UTC)  # 00:01 on 6 Nov local
    assert tick()["visits_overdue"] == 1
    assert tick()["visits_overdue"] == 0
    [overdue] = emitted("grid_events.visit_overdue")
    assert overdue["task_id"] == difficulty["task_id"] and overdue["kind"] == "difficulty"
    assert tasks(ge, overdue=True)[0]["task_id"] == difficulty["task_id"]

    done = ge.record_visit({"task_id": difficulty["task_id"], "notes": "送去慰问金，病情稳定"})
    assert done["status"] == "done" and done["visited_on"] == "2026-11-06"
    with pytest.raises(Conflict):
        ge.record_visit({"task_id": difficulty["task_id"], "notes": "again"})
    [log] = ge.list_visit_logs({"resident_id": r1})
    assert log["task_id"] == difficulty["task_id"] and log["notes"] == "送去慰问金，病情稳定"
    assert log["staff_id"] == "test" and log["visited_on"] == "2026-11-06"

    # 3. year end: from 1 December every party member living here gets a year-end visit, once
    frozen_clock.current = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert tick()["year_end_visits"] == 2
    assert tick()["year_end_visits"] == 0
    year_end = tasks(ge, kind="year_end")
    assert sorted(t["resident_id"] for t in year_end) == sorted([r1, r2])
    assert {t["due_on"] for t in year_end} == {"2026-12-31"}

    # moving out cancels the open tasks (move-in and year-end), not the done one
    registry.move_out({"resident_id": r2, "moved_out_on": "2026-12-01"})
    wait_until(lambda: not tasks(ge, resident_id=r2, status="open"), message="r2's tasks cancelled")
    assert sorted(t["kind"] for t in tasks(ge, resident_id=r2, status="cancelled")) == ["move_in", "year_end"]
    assert len(tasks(ge, resident_id=r1, status="open")) == 2
    assert ge.create_year_end_visits({"year": 2026})["created"] == 0
    assert ge.create_year_end_visits({"year": 2027})["created"] == 1  # r1 only: r2 moved out



def _publish(config, envelopes):
    publisher = ConfirmedPublisher(config["AMQP_URI"])
    try:
        publisher.publish_batch([("registry.events", e["type"].split(".")[1], e, {}) for e in envelopes])
    finally:
        publisher.close()


def _registered(resident_id):
    return envelope("registry.party_member_registered",
                    {"resident_id": resident_id, "grid_code": "G1", "branch_code": "BR-1",
                     "joined_on": date(1990, 7, 1)},
                    source="registry", correlation_id="c-1", occurred_at=datetime(2026, 11, 2, tzinfo=UTC))


def test_a_redelivered_registry_event_creates_one_visit_task(services, rpc, config, emitted):
    ge = rpc("grid_events")
    env = _registered("R-42")
    _publish(config, [env, env])  # the same event_id twice, as a redelivery brings it
    _publish(config, [_registered("R-43")])  # once this one is handled, so were the copies before it
    wait_until(lambda: tasks(ge, resident_id="R-43"), message="the later event's task")
    wait_until(lambda: queue_depth(config, QUEUE) == 0)
    assert [t["kind"] for t in tasks(ge, resident_id="R-42")] == ["move_in"]
    assert sorted(e["resident_id"] for e in emitted("grid_events.visit_task_created", 2)) == ["R-42", "R-43"]


def test_a_bulk_import_of_party_members_opens_a_move_in_visit_for_each(services, rpc, config, emitted):
    ge = rpc("grid_events")
    registrations = [_registered(f"R-{n:03d}") for n in range(150)]  # more than one batch of 100
    _publish(config, registrations)
    wait_until(lambda: queue_depth(config, QUEUE) == 0 and len(tasks(ge, page_size=200)) == 150,
               message="a move-in visit each")
    assert sorted(t["resident_id"] for t in tasks(ge, page_size=200)) == [f"R-{n:03d}" for n in range(150)]
    emitted("grid_events.visit_task_created", 150)
    # each task's event names the registration it follows from
    causes = CAUSES["grid_events.visit_task_created"]
    assert sorted((p["resident_id"], cause) for p, cause in causes) == sorted(
        (r["payload"]["resident_id"], r["event_id"]) for r in registrations)
