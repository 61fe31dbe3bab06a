"""When and how: quiet hours, retries and fallback, in-person delivery, real SMTP, the log."""

from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from services.notifications import use_cases
from services.notifications.service import NotificationsService
from services.notifications.templates import TEMPLATES, TemplateBook, TemplateError
from tests.support import wait_until


def _known(ndb, *ids):
    wait_until(lambda: ndb.people.count_documents({"_id": {"$in": list(ids)}}) == len(ids))


def _note(ndb, event_id, **match):
    return wait_until(lambda: ndb.notifications.find_one({"event_id": event_id, **match}),
                      message=f"notification of {event_id} {match}")


def _resolved(events, reporter, incident_id="INC-1"):
    return events.emit("grid_events.incident_resolved", {
        "incident_id": incident_id, "grid_code": "3", "category": "noise",
        "resolution": "talked to the neighbours", "reporter_resident_id": reporter})


def _fire(container, method):
    with entrypoint_hook(container, method) as hook:
        return hook()


def test_quiet_hours_hold_a_non_critical_sms_until_7_and_let_a_critical_one_through(
        service, events, ndb, frozen_clock):
    frozen_clock.current = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)  # 23:30 in the community
    events.resident("R1", phone="13900000001")
    events.staff("W3", "grid_worker", "3", phone="13800000003")
    _known(ndb, "R1", "W3")
    wait_until(lambda: ndb.notifications.count_documents({"event_type": "registry.resident_registered"}))
    service_rpc_prefs = {"person_id": "W3", "channels": ["sms"]}
    w3 = {"actor": {"id": "W3", "role": "grid_worker", "grid": "3"}}
    with entrypoint_hook(service, "set_preferences", context_data=w3) as set_preferences:
        set_preferences(service_rpc_prefs)

    resolved = _resolved(events, "R1")
    urgent = events.dispatched("INC-2", "W3", priority="urgent")

    held = _note(ndb, resolved["event_id"])
    assert (held["channel"], held["status"], held["reason"]) == ("sms", "queued", "quiet hours")
    assert held["due_at"] == datetime(2026, 11, 2, 23, 0, tzinfo=UTC)  # 07:00 on 3 Nov, local
    critical = _note(ndb, urgent["event_id"], status="sent")
    assert critical["channel"] == "sms" and critical["critical"] is True
    assert ndb.sms_sent.find_one({"_id": critical["_id"]})["to"] == "13800000003"

    frozen_clock.current = datetime(2026, 11, 2, 22, 59, tzinfo=UTC)  # 06:59: still quiet
    _fire(service, "release_due")
    assert ndb.sms_sent.find_one({"_id": held["_id"]}) is None

    frozen_clock.current = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)  # 07:00
    assert _fire(service, "release_due") == 2  # this SMS and the welcome held since 23:30
    released = ndb.notifications.find_one({"_id": held["_id"]})
    assert released["status"] == "sent" and released["sent_at"] == frozen_clock.current
    assert ndb.sms_sent.find_one({"_id": held["_id"]})["to"] == "13900000001"


def test_a_welcome_recorded_leased_by_a_worker_that_died_goes_out_once_when_the_lease_is_over(
        service, events, ndb, frozen_clock, monkeypatch):
    # the worker that recorded it (already leased to itself, no claim after) dies before sending
    monkeypatch.setattr(use_cases, "deliver_leased", lambda *args, **kwargs: 0)
    welcome = events.resident("R1", phone="13900000001")
    held = _note(ndb, welcome["event_id"], channel="sms")
    assert held["status"] == "queued" and held["lease_until"] == frozen_clock.current + timedelta(seconds=120)
    monkeypatch.undo()

    assert _fire(service, "release_due") == 0  # leased: no other worker takes it meanwhile
    frozen_clock.advance(seconds=121)
    assert _fire(service, "release_due") == 1
    assert _fire(service, "release_due") == 0
    assert ndb.sms_sent.count_documents({}) == 1 and ndb.sms_sent.find_one({"_id": held["_id"]})
    assert ndb.notifications.find_one({"_id": held["_id"]})["attempt_count"] == 1


def test_a_failing_provider_retries_with_backoff_then_falls_back_and_every_attempt_is_logged(
        start_service, events, ndb, frozen_clock, rpc):
    service = start_service(failing_providers=["sms"], retry_seconds=[60, 300])
    welcome = events.resident("R1", phone="13900000001")

    first = _note(ndb, welcome["event_id"], channel="sms", attempt_count=1)
    assert first["status"] == "queued" and "sms gateway unavailable" in first["reason"]
    assert first["due_at"] == datetime(2026, 11, 2, 9, 1, tzinfo=UTC)  # backoff: 60 s

    frozen_clock.advance(seconds=30)
    assert _fire(service, "release_due") == 0  # not due yet: no attempt
    assert ndb.notifications.find_one({"_id": first["_id"]})["attempt_count"] == 1
    frozen_clock.advance(seconds=30)
    _fire(service, "release_due")  # second attempt fails, next in 300 s
    assert ndb.notifications.find_one({"_id": first["_id"]})["attempt_count"] == 2
    frozen_clock.advance(seconds=300)
    assert _fire(service, "release_due") == 1  # third attempt fails: give up, in-app gets it

    log = {n["channel"]: n for n in rpc("notifications").delivery_log({"event_id": welcome["event_id"]})}
    assert set(log) == {"sms", "in_app"}
    sms, in_app = log["sms"], log["in_app"]
    assert sms["status"] == "failed" and sms["attempt_count"] == 3
    assert [(a["no"], a["ok"]) for a in sms["attempts"]] == [(1, False), (2, False), (3, False)]
    assert [a["at"] for a in sms["attempts"]] == [
        "2026-11-02T09:00:00+00:00", "2026-11-02T09:01:00+00:00", "2026-11-02T09:06:00+00:00"]
    assert all("sms gateway unavailable" in a["response"] for a in sms["attempts"])
    assert in_app["status"] == "sent" and in_app["fallback_from"] == ["sms"]
    assert in_app["attempts"][0]["response"] == "stored in inbox"
    inbox = rpc("notifications").inbox({"person_id": "R1"})
    assert inbox["unread"] == 1 and inbox["messages"][0]["title"] == "欢迎来到阳光社区"
    assert ndb.sms_sent.count_documents({}) == 0


def test_an_elderly_resident_with_no_phone_gets_a_grid_worker_visit_requested(service, events, ndb,
                                                                               listen):
    requests = listen("notifications", "in_person_delivery_requested")
    welcome = events.resident("R9", birth_date=date(1940, 3, 1), grid_code="5")

    note = _note(ndb, welcome["event_id"])
    assert (note["channel"], note["status"]) == ("in_person", "sent")
    [request] = wait_until(requests, message="in_person_delivery_requested published")
    assert request["type"] == "notifications.in_person_delivery_requested"
    assert request["payload"] == {"resident_id": "R9", "grid_code": "5", "topic": "welcome",
                                  "message": note["body"], "source_event_id": welcome["event_id"]}
    assert request["causation_id"] == welcome["event_id"]
    # a younger resident with no contact point is simply unreachable: logged, no visit
    young = events.resident("R10", grid_code="5")
    assert _note(ndb, young["event_id"])["reason"] == "no channel reaches this person"
    marker = events.resident("R11", phone="13900000011")  # behind R10 on the same queue
    _note(ndb, marker["event_id"], status="sent")
    wait_until(lambda: ndb.outbox.count_documents({"status": "pending"}) == 0)
    assert requests() == []


def test_email_goes_through_a_real_smtp_server(service, events, ndb, rpc, smtp_server):
    events.resident("R5", email="li.na@example.org")
    _known(ndb, "R5")
    rpc("notifications").set_preferences({"person_id": "R5", "channels": ["email"], "language": "en"})

    sent = rpc("notifications").send({"target": {"kind": "person", "person_id": "R5"},
                                      "title": "Water off on Tuesday 王", "body": "From 9:00 to 12:00."})

    [notification_id] = sent["notifications"]
    note = ndb.notifications.find_one({"_id": notification_id})
    assert note["status"] == "sent" and note["channel"] == "email", note
    assert note["attempts"][0]["response"].startswith("smtp accepted for li.na@example.org (250")
    mail = wait_until(lambda: [m for m in smtp_server["mailbox"]()
                               if m["X-Notification-Id"] == notification_id])
    assert mail[0]["To"] == "li.na@example.org"
    from email.header import decode_header, make_header
    assert str(make_header(decode_header(mail[0]["Subject"]))) == "Water off on Tuesday 王"


def test_an_unreachable_smtp_server_falls_back_to_the_inbox(start_service, events, ndb, rpc):
    start_service(smtp_port=1, retry_seconds=[])  # nothing listens on port 1
    events.resident("R5", email="li.na@example.org")
    _known(ndb, "R5")
    rpc("notifications").set_preferences({"person_id": "R5", "channels": ["email"]})

    sent = rpc("notifications").send({"target": {"kind": "person", "person_id": "R5"},
                                      "title": "停水通知", "body": "周二9点至12点停水。"})

    [email] = [ndb.notifications.find_one({"_id": i}) for i in sent["notifications"]]
    assert email["status"] == "failed" and "smtp 127.0.0.1:1" in email["attempts"][0]["response"]
    assert ndb.notifications.find_one({"event_id": sent["announcement_id"], "channel": "in_app"})[
        "status"] == "sent"


def test_a_broken_template_stops_the_service_at_start_with_a_clear_error(start_service):
    broken = {**TEMPLATES, "grid_events.incident_dispatched": {
        "zh-CN": ("新事件：{incident_id}", "请处理：{summary}，地点{location}"),
        "en": ("New incident {incident_id}", "Please handle: {summary}")}}

    class BrokenTemplates(NotificationsService):
        templates = TemplateBook(templates=broken)

    with pytest.raises(TemplateError) as error:
        start_service(BrokenTemplates)

    message = str(error.value)
    assert "notifications cannot start" in message
    assert ("template grid_events.incident_dispatched v1[zh-CN] body uses {location}, "
            "which is not a field of grid_events.incident_dispatched v1") in message
