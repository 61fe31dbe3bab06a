"""Who hears about what: recipients learned from registry events, messages from grid events."""

from datetime import date, timedelta

from tests.support import queue_depth, wait_until


def _known(ndb, *ids):
    wait_until(lambda: ndb.people.count_documents({"_id": {"$in": list(ids)}}) == len(ids),
               message=f"people {ids} learned")


def _notes(ndb, event_id, count):
    return wait_until(lambda: (lambda found: found if len(found) >= count else None)(
        list(ndb.notifications.find({"event_id": event_id}))), message=f"{count} notification(s)")


def _staff_of_three_grids(events, ndb):
    for grid in ("1", "2", "3"):
        events.staff(f"W{grid}", "grid_worker", grid, phone=f"1380000000{grid}")
        events.staff(f"S{grid}", "branch_secretary", grid)
    events.staff("CO1", "community_office", None)
    events.staff("PD1", "police_desk", None)
    _known(ndb, "W1", "W2", "W3", "S1", "S2", "S3", "CO1", "PD1")
    wait_until(lambda: ndb.posts.count_documents({}) == 8)


def test_an_incident_dispatched_in_grid_3_reaches_grid_3s_worker_and_no_one_else(service, events, ndb):
    _staff_of_three_grids(events, ndb)

    dispatched = events.dispatched("INC-1", "W3", "3")

    [note] = _notes(ndb, dispatched["event_id"], 1)
    wait_until(lambda: ndb.notifications.find_one({"_id": note["_id"], "status": "sent"}))
    marker = events.dispatched("INC-2", "W1", "1")  # a later event: once it is done, INC-1 is too
    _notes(ndb, marker["event_id"], 1)
    assert ndb.notifications.count_documents({"event_id": dispatched["event_id"]}) == 1
    assert note["recipient"] == "W3" and note["channel"] == "in_app"
    [message] = list(ndb.inbox.find({"event_id": dispatched["event_id"]}))
    assert message["recipient"] == "W3" and "INC-1" in message["title"]
    assert "rubbish piled at the gate" in message["body"] and "20:00" in message["body"]  # local time
    assert ndb.inbox.count_documents({"recipient": {"$ne": "W3"}, "event_id": dispatched["event_id"]}) == 0
    assert ndb.sms_sent.count_documents({}) == 0


def test_an_incident_no_one_in_its_grid_can_handle_reaches_the_community_office(service, events, ndb):
    _staff_of_three_grids(events, ndb)
    reported = {"grid_code": "3", "category": "noise", "priority": "normal", "source": "resident",
                "summary": "drums at midnight"}

    unassigned = events.emit("grid_events.incident_reported",
                             {**reported, "incident_id": "INC-8", "unassigned": True})
    routed = events.emit("grid_events.incident_reported", {**reported, "incident_id": "INC-9"})

    [note] = _notes(ndb, unassigned["event_id"], 1)
    assert note["recipient"] == "CO1" and "INC-8" in note["title"]
    marker = events.dispatched("INC-10", "W1", "1")  # once a later event is done, INC-9 is too
    _notes(ndb, marker["event_id"], 1)
    assert ndb.notifications.count_documents({"event_id": routed["event_id"]}) == 0


def test_overdue_rent_reaches_a_resident_tenant_and_the_community_office_and_a_company_tenants_too(
        service, events, ndb):
    _staff_of_three_grids(events, ndb)
    events.resident("R-7", phone="13800000077")
    _known(ndb, "R-7")
    overdue = {"lease_id": "L-S01", "unit_id": "U-S01", "open_fen": 400_000, "due_on": date(2026, 10, 1),
               "days_overdue": 35, "bucket": "31-60"}
    resident = events.emit("finance.rent_overdue", {**overdue, "invoice_id": "INV-1", "tenant_id": "R-7"})
    company = events.emit("finance.rent_overdue", {**overdue, "invoice_id": "INV-2", "tenant_id": "T-0007"})

    assert sorted(n["recipient"] for n in _notes(ndb, resident["event_id"], 2)) == ["CO1", "R-7"]
    # a company tenant has no contact here: the office that chases arrears still hears of it
    notes = {n["recipient"]: n for n in _notes(ndb, company["event_id"], 2)}
    assert sorted(notes) == ["CO1", "T-0007"] and notes["T-0007"]["status"] == "suppressed"
    [message] = wait_until(lambda: list(ndb.inbox.find({"event_id": company["event_id"]})))
    assert "T-0007" in message["body"] and "U-S01" in message["body"]


def test_also_police_adds_the_police_desk_and_escalation_reaches_the_next_rung_of_that_grid(
        service, events, ndb):
    _staff_of_three_grids(events, ndb)

    with_police = events.dispatched("INC-7", "W3", "3", also_police=True)
    to_secretary = events.emit("grid_events.incident_escalated", {
        "incident_id": "INC-7", "grid_code": "3", "category": "sanitation", "level": 1,
        "rung": "branch_secretary", "overdue": "accept", "summary": "rubbish piled at the gate"})
    to_office = events.emit("grid_events.incident_escalated", {
        "incident_id": "INC-7", "grid_code": "3", "category": "sanitation", "level": 2,
        "rung": "community_office", "overdue": "overall", "summary": "rubbish piled at the gate"})

    assert sorted(n["recipient"] for n in _notes(ndb, with_police["event_id"], 2)) == ["PD1", "W3"]
    assert [n["recipient"] for n in _notes(ndb, to_secretary["event_id"], 1)] == ["S3"]
    assert [n["recipient"] for n in _notes(ndb, to_office["event_id"], 1)] == ["CO1"]
    wait_until(lambda: ndb.notifications.count_documents({"status": "sent"}) == 4)
    assert ndb.notifications.count_documents({}) == 4


def test_a_new_grid_worker_replaces_the_previous_one_for_unassigned_visits(service, events, ndb):
    events.staff("W3", "grid_worker", "3")
    _known(ndb, "W3")
    events.staff("W3B", "grid_worker", "3")
    _known(ndb, "W3B")
    wait_until(lambda: ndb.posts.find_one({"staff_id": "W3B"}))

    task = events.emit("grid_events.visit_task_created", {
        "task_id": "VT-1", "kind": "moved_in", "resident_id": "R1", "grid_code": "3",
        "due_on": date(2026, 11, 9)})

    [note] = _notes(ndb, task["event_id"], 1)
    assert note["recipient"] == "W3B" and note["topic"] == "visit"
    assert list(ndb.posts.find({"role": "grid_worker", "grid_code": "3"}, {"_id": 0})) == [
        {"grid_code": "3", "role": "grid_worker", "staff_id": "W3B"}]


def test_a_redelivered_event_sends_nothing_twice(service, events, ndb, config):
    events.resident("R1", phone="13900000001")
    _known(ndb, "R1")
    resolved = events.envelope("grid_events.incident_resolved", {
        "incident_id": "INC-3", "grid_code": "3", "category": "noise", "resolution": "talked to them",
        "reporter_resident_id": "R1"})

    queue = "evt-grid_events-incident_resolved--notifications.on_incident_resolved"

    events.publish(resolved)
    events.publish(resolved)  # the same event_id again, as a redelivery brings it

    wait_until(lambda: ndb.notifications.find_one({"event_id": resolved["event_id"], "status": "sent"}))
    wait_until(lambda: queue_depth(config, queue) == 0)  # both copies taken by workers
    service.stop()  # waits for every running worker: both copies are settled after this
    assert queue_depth(config, queue) == 0
    [note] = list(ndb.notifications.find({"event_id": resolved["event_id"]}))
    assert note["status"] == "sent" and note["attempt_count"] == 1 and note["topic"] == "rating"
    assert ndb.sms_sent.count_documents({"title": "您反映的问题已处理"}) == 1
    assert "请为本次服务评分" in ndb.sms_sent.find_one({"_id": note["_id"]})["text"]


def test_moved_out_and_dead_residents_are_not_messaged(service, events, ndb):
    welcomes = [events.resident("R1", phone="13900000001"), events.resident("R2", phone="13900000002")]
    _known(ndb, "R1", "R2")
    # the welcome SMSs go out after the people are recorded: counted once they are out, not before
    wait_until(lambda: ndb.notifications.count_documents(
        {"event_id": {"$in": [w["event_id"] for w in welcomes]}, "status": "sent"}) == 2,
        message="both welcomes sent")
    events.emit("registry.resident_moved_out", {"resident_id": "R1", "household_id": "H-R1",
                                                "grid_code": "3", "moved_out_on": date(2026, 11, 1)})
    events.emit("registry.resident_died", {"resident_id": "R2", "household_id": "H-R2",
                                           "grid_code": "3", "died_on": date(2026, 11, 1)})
    wait_until(lambda: ndb.people.count_documents({"status": {"$in": ["moved_out", "deceased"]}}) == 2)
    sms_before = ndb.sms_sent.count_documents({})

    for rid in ("R1", "R2"):
        resolved = events.emit("grid_events.incident_resolved", {
            "incident_id": f"INC-{rid}", "grid_code": "3", "category": "noise",
            "resolution": "done", "reporter_resident_id": rid})
        [note] = _notes(ndb, resolved["event_id"], 1)
        assert note["status"] == "suppressed"
        assert note["reason"] == {"R1": "recipient is moved_out", "R2": "recipient is deceased"}[rid]
        assert ndb.sms_sent.find_one({"_id": note["_id"]}) is None
    assert ndb.sms_sent.count_documents({}) == sms_before == 2


def test_an_unknown_recipient_is_logged_as_suppressed_once_the_wait_is_over(service, events, ndb,
                                                                            frozen_clock):
    # an event from 11 minutes ago still naming nobody we know: nobody will come
    old = events.envelope("grid_events.incident_dispatched", {
        "incident_id": "INC-9", "grid_code": "3", "category": "sanitation", "priority": "normal",
        "assignee_staff_id": "NOBODY", "accept_by": frozen_clock.current, "summary": "rubbish"},
        occurred_at=frozen_clock.current - timedelta(minutes=11))
    events.publish(old)
    [note] = _notes(ndb, old["event_id"], 1)
    assert (note["status"], note["reason"]) == ("suppressed", "unknown recipient")


def test_a_dispatch_that_arrives_before_its_assignee_is_known_waits_for_them(start_service, events,
                                                                              ndb, caplog):
    start_service(EVENT_RETRY={"schedule_ms": [300, 1000, 2000, 4000]})
    dispatched = events.dispatched("INC-10", "W-LATE", "3")  # the registry's fact is still on its way
    wait_until(lambda: "W-LATE not known yet" in caplog.text, message="the first, refused attempt")
    assert ndb.notifications.count_documents({"event_id": dispatched["event_id"]}) == 0

    events.staff("W-LATE", "grid_worker", "3", phone="13800000099")

    [note] = _notes(ndb, dispatched["event_id"], 1)  # a retry finds them
    assert note["recipient"] == "W-LATE" and note["status"] != "suppressed"
