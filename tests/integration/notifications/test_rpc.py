"""Announcements, households, inbox, preferences, the delivery log, the digest, and who may."""

from datetime import UTC, date, datetime

import pytest
from nameko.testing.services import entrypoint_hook

from shared.errors import Forbidden, InvalidInput
from tests.support import wait_until


def _known(ndb, *ids):
    wait_until(lambda: ndb.people.count_documents({"_id": {"$in": list(ids)}}) == len(ids))


def _grid_5(events, ndb):
    # household A: two adults and a child; household B: one adult; C: one adult, moved out
    events.resident("A1", "5", "HA", phone="13900000011")
    events.resident("A2", "5", "HA", phone="13900000012")
    events.resident("A3", "5", "HA", birth_date=date(2018, 1, 1))
    events.resident("B1", "5", "HB", email="b1@example.org")
    events.resident("C1", "5", "HC", phone="13900000031")
    events.resident("X1", "6", "HX", phone="13900000041")  # another grid
    _known(ndb, "A1", "A2", "A3", "B1", "C1", "X1")
    events.emit("registry.resident_moved_out", {"resident_id": "C1", "household_id": "HC",
                                                "grid_code": "5", "moved_out_on": date(2026, 11, 1)})
    wait_until(lambda: ndb.people.find_one({"_id": "C1", "status": "moved_out"}))


def test_a_household_notice_goes_once_per_household_of_the_grid(service, events, ndb, rpc):
    _grid_5(events, ndb)

    sent = rpc("notifications").send({"target": {"kind": "grid_households", "grid_code": "5"},
                                      "title": "消防检查", "body": "本周六上午入户检查燃气。"})

    assert sent["recipients"] == 2
    notes = list(ndb.notifications.find({"event_id": sent["announcement_id"]}))
    assert sorted((n["household_id"], n["recipient"], n["channel"]) for n in notes) == [
        ("HA", "A1", "sms"), ("HB", "B1", "in_app")]
    assert all(n["status"] == "sent" for n in notes)


def test_a_large_announcement_returns_at_once_and_the_rest_goes_out_with_the_next_tick(
        start_service, events, ndb, rpc):
    service = start_service(inline_limit=0)  # the in-app inbox is written in the transaction anyway
    _grid_5(events, ndb)

    sent = rpc("notifications").send({"target": {"kind": "grid_households", "grid_code": "5"},
                                      "title": "Fire drill", "body": "Saturday 9:00."})

    statuses = sorted(n["status"] for n in ndb.notifications.find({"event_id": sent["announcement_id"]}))
    assert statuses == ["queued", "sent"]
    assert (sent["progress"]["total"], sent["progress"]["queued"], sent["progress"]["done"]) == (2, 1, False)
    with entrypoint_hook(service, "release_due") as release_due:
        assert release_due() == 1
    assert ndb.notifications.count_documents({"event_id": sent["announcement_id"], "status": "sent"}) == 2
    later = rpc("notifications").announcement_progress({"announcement_id": sent["announcement_id"]})
    assert (later["sent"], later["queued"], later["done"]) == (2, 0, True)


def test_send_with_a_request_id_is_idempotent_and_grid_staff_are_everyone_posted_there(
        service, events, ndb, rpc):
    events.staff("W3", "grid_worker", "3")
    events.staff("S3", "branch_secretary", "3")
    events.staff("L3", "liaison", "3")
    events.staff("W2", "grid_worker", "2")
    _known(ndb, "W3", "S3", "L3", "W2")
    wait_until(lambda: ndb.posts.count_documents({}) == 4)
    command = {"target": {"kind": "grid_staff", "grid_code": "3"}, "title": "Typhoon",
               "body": "All hands at 18:00.", "critical": True, "request_id": "typhoon-7"}

    first = rpc("notifications").send(command)
    again = rpc("notifications").send(command)

    assert first["announcement_id"] == again["announcement_id"] == "ANN-typhoon-7"
    assert len(first["notifications"]) == 3 and again["notifications"] == []
    assert sorted(n["recipient"] for n in ndb.notifications.find({"event_id": "ANN-typhoon-7"})) == [
        "L3", "S3", "W3"]


def test_who_may_send_read_and_set(service, events, ndb, as_actor):
    events.resident("R1", phone="13900000001")
    _known(ndb, "R1")
    resident = as_actor({"id": "R1", "role": "resident"}).notifications
    worker = as_actor({"id": "W3", "role": "grid_worker", "grid": "3"}).notifications

    with pytest.raises(Forbidden):
        resident.send({"target": {"kind": "grid_households", "grid_code": "3"}, "title": "t", "body": "b"})
    with pytest.raises(Forbidden):
        worker.send({"target": {"kind": "grid_households", "grid_code": "5"}, "title": "t", "body": "b"})
    with pytest.raises(Forbidden):
        worker.inbox({"person_id": "R1"})
    with pytest.raises(Forbidden):
        resident.delivery_log({})
    with pytest.raises(InvalidInput) as bad:
        resident.set_preferences({"person_id": "R1", "channels": ["pigeon"],
                                  "quiet_hours": {"start": "25:00", "end": "07:00"}})
    assert set(bad.value.fields) == {"channels", "quiet_hours"}
    with pytest.raises(InvalidInput) as bad:
        worker.send({"target": {"kind": "person"}, "title": "", "body": "b"})
    assert set(bad.value.fields) == {"target", "title"}
    assert ndb.notifications.count_documents({"event_type": "notifications.announcement"}) == 0

    worker.send({"target": {"kind": "grid_households", "grid_code": "3"}, "title": "t", "body": "b"})
    assert [n["grid_code"] for n in worker.delivery_log({"topic": "announcement"})] == ["3"]


def test_inbox_opt_outs_and_mark_read(service, events, ndb, as_actor, rpc):
    events.resident("R1", phone="13900000001")
    _known(ndb, "R1")
    me = as_actor({"id": "R1", "role": "resident"}).notifications
    prefs = me.set_preferences({"person_id": "R1", "channels": ["in_app"], "opt_outs": ["announcement"],
                                "language": "en", "quiet_hours": None})
    assert prefs == {"person_id": "R1", "channels": ["in_app"], "opt_outs": ["announcement"],
                     "language": "en", "quiet_hours": None}
    target = {"kind": "person", "person_id": "R1"}

    rpc("notifications").send({"target": target, "title": "Flea market", "body": "Sunday."})
    rpc("notifications").send({"target": target, "title": "Gas leak", "body": "Leave now.", "critical": True})

    log = {n["title"]: n for n in rpc("notifications").delivery_log({"recipient": "R1",
                                                                     "topic": "announcement"})}
    assert (log["Flea market"]["status"], log["Flea market"]["reason"]) == (
        "suppressed", "opted out of announcement")
    assert log["Gas leak"]["status"] == "sent"  # critical: opt-outs do not hold it back
    inbox = me.inbox({"person_id": "R1"})
    assert inbox["unread"] == 1 and [m["title"] for m in inbox["messages"]] == ["Gas leak"]
    assert me.mark_read({"person_id": "R1", "message_ids": [inbox["messages"][0]["id"]]}) == {"marked": 1}
    assert me.inbox({"person_id": "R1", "unread_only": True}) == {"messages": [], "unread": 0}


def test_the_morning_digest_lists_each_staff_members_open_and_overdue_work_once(
        service, events, ndb, frozen_clock):
    events.staff("W3", "grid_worker", "3")
    events.staff("W2", "grid_worker", "2", language="en")
    _known(ndb, "W3", "W2")
    wait_until(lambda: ndb.posts.count_documents({}) == 2)
    events.dispatched("INC-1", "W3", accept_by=datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    events.dispatched("INC-2", "W3")
    events.emit("grid_events.incident_resolved", {"incident_id": "INC-2", "grid_code": "3",
                                                  "category": "sanitation", "resolution": "cleared"})
    events.emit("grid_events.visit_task_created", {"task_id": "VT-1", "kind": "moved_in",
                                                   "resident_id": "R1", "grid_code": "3",
                                                   "due_on": date(2026, 11, 9)})
    events.emit("grid_events.visit_task_created", {"task_id": "VT-2", "kind": "in_difficulty",
                                                   "resident_id": "R2", "grid_code": "2",
                                                   "due_on": date(2026, 11, 9), "assignee_staff_id": "W2"})
    wait_until(lambda: ndb.work.count_documents({"opened_at": {"$exists": True}}) == 4
               and ndb.work.find_one({"_id": "INC-2", "closed_at": {"$exists": True}}))

    frozen_clock.current = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)  # 06:30 local: too early
    with entrypoint_hook(service, "morning_digest") as digest:
        assert digest() == 0
    frozen_clock.current = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 07:30 local
    with entrypoint_hook(service, "morning_digest") as digest:
        assert digest() == 2
        assert digest() == 0  # once a day

    w3 = ndb.inbox.find_one({"recipient": "W3", "topic": "digest"})
    assert w3["title"] == "今日待办：2项（逾期1项）"
    assert w3["body"].splitlines()[1:] == ["- [逾期] INC-1 rubbish piled at the gate",
                                          "- VT-1 moved_in visit to R1"]
    w2 = ndb.inbox.find_one({"recipient": "W2", "topic": "digest"})
    assert w2["title"] == "Today: 1 open (0 overdue)"
    assert ndb.notifications.count_documents({"event_id": "digest-2026-11-03"}) == 2
