"""The rules of notification, without I/O."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.notifications import domain
from services.notifications.domain import Message, Person, Post
from shared.errors import Forbidden
from shared.events import grid_events as grid_catalogue

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 17:00 in the community


def local(hour, minute=0, day=2):
    """A UTC instant given in community time (UTC+8) on `day` November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=domain.LOCAL_TZ).astimezone(UTC)


def resident(rid="R1", **kw):
    return {"_id": rid, "kind": "resident", "name": "Li", "phone": "139", "email": None,
            "language": "zh-CN", "household_id": "H1", "grid_code": "3", "birth_date": "1985-05-01",
            "tags": [], "status": "active", **kw}


def staff(sid="W3", **kw):
    return {"_id": sid, "kind": "staff", "name": "Wang", "phone": None, "email": None,
            "language": "zh-CN", "status": "active", **kw}


def message(topic="rating", critical=False, event_id="E1"):
    return Message(event_id, "grid_events.incident_resolved", topic, critical,
                   {"zh-CN": ("标题", "正文"), "en": ("Title", "Body")}, grid_code="3")


# ------------------------------------------------------------ quiet hours

@pytest.mark.parametrize("now, until", [
    (local(23, 30), local(7, 0, day=3)),
    (local(22, 0), local(7, 0, day=3)),
    (local(0, 5), local(7, 0)),
    (local(6, 59), local(7, 0)),
    (local(7, 0), None),
    (local(21, 59), None),
    (local(12, 0), None),
])
def test_default_quiet_hours_run_from_22_to_7_local_time(now, until):
    assert domain.quiet_until(now, domain.DEFAULT_QUIET_HOURS) == until


def test_quiet_hours_within_one_day_and_disabled():
    nap = {"start": "13:00", "end": "14:30"}
    assert domain.quiet_until(local(13, 10), nap) == local(14, 30)
    assert domain.quiet_until(local(14, 30), nap) is None
    assert domain.quiet_until(local(23, 0), None) is None
    assert domain.quiet_until(local(23, 0), {"start": "08:00", "end": "08:00"}) is None


# ------------------------------------------------------------ routing one recipient

def test_a_resident_gets_sms_by_default_and_staff_the_inbox():
    record, in_person = domain.route(message(), resident(), T0)
    assert (record["channel"], record["address"], record["status"]) == ("sms", "139", "queued")
    assert in_person is False
    assert (record["title"], record["due_at"], record["recipient"]) == ("标题", T0, "R1")
    record, _ = domain.route(message(), staff(), T0)
    assert (record["channel"], record["address"]) == ("in_app", "W3")


def test_the_recipients_language_picks_the_text():
    record, _ = domain.route(message(), resident(preferences={"language": "en"}), T0)
    assert (record["language"], record["title"], record["body"]) == ("en", "Title", "Body")
    record, _ = domain.route(message(), resident(language="fr"), T0)
    assert record["language"] == "zh-CN"


def test_a_non_critical_sms_in_quiet_hours_is_held_a_critical_one_is_not():
    held, _ = domain.route(message(), resident(), local(23, 30))
    assert (held["status"], held["reason"], held["due_at"]) == ("queued", "quiet hours", local(7, 0, day=3))
    urgent, _ = domain.route(message(critical=True), resident(), local(23, 30))
    assert (urgent["due_at"], urgent["reason"]) == (local(23, 30), None)


def test_quiet_hours_do_not_hold_the_inbox_or_email_and_follow_the_persons_own_hours():
    inbox, _ = domain.route(message(), staff(), local(23, 30))
    assert inbox["due_at"] == local(23, 30)
    night_owl = resident(preferences={"quiet_hours": {"start": "02:00", "end": "06:00"}})
    record, _ = domain.route(message(), night_owl, local(23, 30))
    assert record["due_at"] == local(23, 30)
    record, _ = domain.route(message(), resident(preferences={"quiet_hours": None}), local(3, 0))
    assert record["due_at"] == local(3, 0)


def test_opt_outs_suppress_non_critical_messages_only():
    opted = resident(preferences={"opt_outs": ["rating"]})
    record, _ = domain.route(message(), opted, T0)
    assert (record["status"], record["reason"]) == ("suppressed", "opted out of rating")
    record, _ = domain.route(message(critical=True), opted, T0)
    assert record["status"] == "queued"


@pytest.mark.parametrize("status", ["moved_out", "deceased"])
def test_people_who_left_or_died_are_not_messaged(status):
    record, in_person = domain.route(message(critical=True), resident(status=status), T0)
    assert (record["status"], record["reason"], in_person) == ("suppressed", f"recipient is {status}", False)


def test_an_unknown_recipient_is_suppressed_under_its_id():
    record, _ = domain.route(message(), None, T0, recipient_id="GHOST")
    assert (record["recipient"], record["status"], record["reason"]) == ("GHOST", "suppressed",
                                                                          "unknown recipient")


def test_no_phone_no_email_elderly_means_in_person_younger_means_unreachable():
    old = resident(phone=None, birth_date="1950-01-01")
    record, in_person = domain.route(message(), old, T0)
    assert (record["channel"], record["status"], in_person) == ("in_person", "sent", True)
    record, in_person = domain.route(message(), resident(phone=None), T0)
    assert (record["status"], record["reason"], in_person) == ("suppressed", "no channel reaches this person",
                                                               False)
    record, in_person = domain.route(message(), resident(phone=None, tags=["elderly"]), T0)
    assert in_person is True


def test_the_chain_keeps_preferred_reachable_channels_and_ends_with_the_inbox():
    assert domain.channel_chain(resident(preferences={"channels": ["email", "sms"]})) == ["sms", "in_app"]
    assert domain.channel_chain(resident(email="a@b.c", preferences={"channels": ["email"]})) == [
        "email", "in_app"]
    assert domain.channel_chain(resident(phone=None, email=None)) == []
    assert domain.channel_chain(staff(preferences={"channels": ["push"]})) == ["in_app"]
    assert domain.channel_chain(staff(phone="138", preferences={"channels": ["push"]})) == ["push", "in_app"]


def test_a_fallback_skips_the_channels_tried_and_ends_failed_or_in_person():
    record, _ = domain.route(message(), resident(), T0, tried=["sms"])
    assert (record["channel"], record["fallback_from"]) == ("in_app", ["sms"])
    record, in_person = domain.route(message(), resident(), T0, tried=["sms", "in_app"])
    assert (record["status"], record["reason"], in_person) == ("failed", "every channel failed", False)
    elderly = resident(birth_date="1940-01-01")
    record, in_person = domain.route(message(), elderly, T0, tried=["sms", "in_app"])
    assert (record["channel"], in_person) == ("in_person", True)


# ------------------------------------------------------------ attempts

def test_attempts_retry_with_the_schedule_then_give_up_and_fall_back():
    record = {"channel": "sms", "attempt_count": 0}
    changes, attempt, fall_back = domain.after_attempt(record, False, "busy", T0, (60, 300))
    assert (changes["status"], changes["due_at"], changes["attempt_count"], fall_back) == (
        "queued", T0 + timedelta(seconds=60), 1, False)
    assert attempt == {"no": 1, "at": T0, "channel": "sms", "ok": False, "response": "busy"}
    changes, _, fall_back = domain.after_attempt({**record, "attempt_count": 1}, False, "busy", T0, (60, 300))
    assert changes["due_at"] == T0 + timedelta(seconds=300) and not fall_back
    changes, attempt, fall_back = domain.after_attempt({**record, "attempt_count": 2}, False, "busy", T0,
                                                       (60, 300))
    assert (changes["status"], attempt["no"], fall_back) == ("failed", 3, True)
    assert changes["reason"] == "gave up after 3 attempts: busy"


def test_a_successful_attempt_is_sent_and_no_schedule_means_fall_back_at_once():
    changes, attempt, fall_back = domain.after_attempt({"channel": "sms"}, True, "ok", T0)
    assert (changes["status"], changes["sent_at"], attempt["ok"], fall_back) == ("sent", T0, True, False)
    _, _, fall_back = domain.after_attempt({"channel": "email"}, False, "refused", T0, ())
    assert fall_back


# ------------------------------------------------------------ audiences

def dispatched(**kw):
    return {"incident_id": "I1", "grid_code": "3", "category": "c", "priority": "normal",
            "assignee_staff_id": "W3", "also_police": False, "summary": "s", **kw}


def test_a_dispatched_incident_goes_to_its_assignee_and_the_police_desk_if_asked():
    who = domain.audience("grid_events.incident_dispatched", dispatched())
    assert (who.selectors, who.topic, who.critical) == ((Person("W3"),), "incident", False)
    who = domain.audience("grid_events.incident_dispatched", dispatched(also_police=True, priority="urgent"))
    assert who.selectors == (Person("W3"), Post("police_desk", None)) and who.critical


def test_only_priorities_grid_events_sends_count_as_critical():
    assert set(domain.CRITICAL_PRIORITIES) <= set(grid_catalogue.PRIORITIES)
    assert [p for p in grid_catalogue.PRIORITIES if p in domain.CRITICAL_PRIORITIES] == ["high", "urgent"]


def test_an_incident_no_one_can_handle_goes_to_the_community_office():
    reported = {"incident_id": "I1", "grid_code": "3", "category": "noise", "priority": "high"}
    assert domain.audience("grid_events.incident_reported", reported) is None
    who = domain.audience("grid_events.incident_reported", {**reported, "unassigned": True})
    assert (who.selectors, who.topic, who.critical) == ((Post("community_office", None),), "incident", True)


@pytest.mark.parametrize("rung, grid", [("grid_worker", "3"), ("branch_secretary", "3"),
                                        ("community_office", None), ("street_office", None)])
def test_an_escalation_goes_to_the_post_of_the_next_rung(rung, grid):
    who = domain.audience("grid_events.incident_escalated", {"rung": rung, "grid_code": "3"})
    assert who.selectors == (Post(rung, grid),) and who.critical


def test_an_escalation_naming_its_staff_goes_to_them():
    who = domain.audience("grid_events.incident_escalated", {"rung": "branch_secretary", "grid_code": "3",
                                                            "staff_ids": ["S3", "S3B"]})
    assert who.selectors == (Person("S3"), Person("S3B"))


def test_resolution_asks_the_reporter_visits_go_to_assignee_or_grid_worker():
    assert domain.audience("grid_events.incident_resolved", {"reporter_resident_id": None}) is None
    who = domain.audience("grid_events.incident_resolved", {"reporter_resident_id": "R1"})
    assert (who.selectors, who.topic) == ((Person("R1"),), "rating")
    for kind in ("visit_task_created", "visit_overdue"):
        assert domain.audience(f"grid_events.{kind}", {"grid_code": "3", "assignee_staff_id": None}
                               ).selectors == (Post("grid_worker", "3"),)
        assert domain.audience(f"grid_events.{kind}", {"grid_code": "3", "assignee_staff_id": "W9"}
                               ).selectors == (Person("W9"),)
    assert domain.audience("registry.resident_registered", {"resident_id": "R1"}).topic == "welcome"
    assert domain.audience("grid_events.incident_rated", {}) is None


# ------------------------------------------------------------ people

def test_elderly_from_the_60th_birthday_local_date():
    born = {"birth_date": "1966-11-03"}
    assert not domain.is_elderly(born, local(23, 59))
    assert domain.is_elderly(born, local(0, 0, day=3))


def test_resident_changes_keep_known_fields_and_the_grid():
    changes = domain.resident_changes({"resident_id": "R1", "grid_code": "4",
                                       "changes": {"phone": "1", "status": "moved_out", "id_number": "x"}})
    assert changes == {"phone": "1", "status": "moved_out", "grid_code": "4"}


def test_one_representative_per_household_preferring_a_reachable_adult():
    members = [resident("A3", household_id="HA", birth_date="2018-01-01"),
               resident("A2", household_id="HA", phone=None),
               resident("A1", household_id="HA"),
               resident("B1", household_id="HB", phone=None, birth_date="2015-01-01"),
               resident("C1", household_id="HC", status="moved_out")]
    assert [p["_id"] for p in domain.household_representatives(members, T0)] == ["A1", "B1"]


# ------------------------------------------------------------ digest

def test_digest_items_go_to_assignee_or_grid_worker_and_skip_closed_work():
    work = [{"_id": "I1", "assignee": "W3", "due_at": T0 - timedelta(hours=1)},
            {"_id": "V1", "assignee": None, "grid_code": "3", "due_at": T0 + timedelta(days=3)},
            {"_id": "I2", "assignee": "W3", "opened_at": T0, "closed_at": T0 + timedelta(minutes=5)},
            {"_id": "I3", "assignee": "W3", "opened_at": T0 + timedelta(minutes=9), "closed_at": T0},
            {"_id": "I4", "assignee": "GONE"}]
    out = domain.digests([staff("W3"), staff("GONE", status="inactive")], {"3": "W3"}, work, T0)
    assert {k: [(i["_id"], i["is_overdue"]) for i in v] for k, v in out.items()} == {
        "W3": [("I1", True), ("V1", False), ("I3", False)]}


def test_digest_day_starts_at_the_hour_local():
    assert domain.digest_day(local(6, 59), 7) is None
    assert domain.digest_day(local(7, 0), 7) == date(2026, 11, 2)


# ------------------------------------------------------------ permissions

def grant(rpc, **actor):
    return domain.POLICY.grant(rpc, actor)


def test_who_may_send_read_and_see_the_log():
    domain.check_send(grant("send", id="ticket", role="system"), ("3",))
    domain.check_send(grant("send", id="CA1", role="community_admin"), ())
    with pytest.raises(Forbidden):
        grant("send", id="R1", role="resident")
    domain.check_send(grant("send", id="W3", role="grid_worker", grid="3"), ("3",))
    domain.check_send(grant("send", id="W3", role="grid_worker", grid="3"), ("4", "3"))
    with pytest.raises(Forbidden):
        domain.check_send(grant("send", id="W3", role="grid_worker", grid="3"), ("4",))
    with pytest.raises(Forbidden):  # someone unknown is in no grid
        domain.check_send(grant("send", id="W3", role="grid_worker", grid="3"), ())
    with pytest.raises(Forbidden):  # a grid worker without a grid: refused by the kit
        grant("send", id="W3", role="grid_worker")
    domain.check_own(grant("inbox", id="R1", role="resident"), "R1")
    with pytest.raises(Forbidden):
        domain.check_own(grant("inbox", id="W3", role="grid_worker"), "R1")
    domain.check_own(grant("inbox", id="A", role="community_admin"), "R1")
    with pytest.raises(Forbidden):
        grant("delivery_log", id="R1", role="resident")
    assert grant("delivery_log", id="W3", role="grid_worker", grid="3").query(grid_field="grid_code") == {
        "grid_code": "3"}


def test_the_log_shows_a_grid_worker_their_grid_and_nothing_when_asked_for_another():
    assert domain.log_filter({"topic": "visit", "grid_code": None}, {"grid_code": "3"}) == {
        "topic": "visit", "grid_code": "3"}
    assert domain.log_filter({"grid_code": "3"}, {"grid_code": "3"}) == {"grid_code": "3"}
    assert domain.log_filter({"grid_code": "4"}, {"grid_code": "3"}) is None
    assert domain.log_filter({"grid_code": "4"}, {}) == {"grid_code": "4"}


def test_addresses_in_the_log_are_masked_for_everyone_but_the_services():
    sms = {"channel": "sms", "address": "13912345678", "reason": None,
           "attempts": [{"no": 1, "response": "sms accepted by local gateway"}]}
    email = {"channel": "email", "address": "li.na@example.org",
             "reason": "retrying after: x li.na@example.org",
             "attempts": [{"no": 1, "response": "smtp accepted for li.na@example.org (250 OK)"}]}
    inbox = {"channel": "in_app", "address": "R1", "reason": None, "attempts": []}
    assert domain.present_notification(sms, "community_admin")["address"] == "*******5678"
    shown = domain.present_notification(email, "police_desk")
    assert shown["address"] == "l***@example.org"
    assert shown["attempts"][0]["response"] == "smtp accepted for l***@example.org (250 OK)"
    assert "li.na" not in shown["reason"]
    assert domain.present_notification(inbox, "grid_worker") == inbox
    assert domain.present_notification(sms, "system") == sms


def test_a_company_tenant_is_not_waited_for_but_a_new_resident_is():
    overdue = domain.audience("finance.rent_overdue", {"tenant_id": "T-0007"})
    assert not overdue.may_become_known
    # a company tenant has no contact here: the community office, which chases arrears, hears too
    assert overdue.selectors == (Person("T-0007"), Post("community_office", None))
    welcome = domain.audience("registry.resident_registered", {"resident_id": "R-000001"})
    assert welcome.may_become_known
