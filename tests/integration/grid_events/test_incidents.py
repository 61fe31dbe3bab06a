"""Incidents end to end: routing through the registry, the lifecycle, illegal transitions,
escalation with injected time, extensions, duplicates, auto-close, statistics."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.amqp import ConfirmedPublisher
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import envelope
from tests.support import wait_until

NOISE_AT_B1 = {"category": "noise", "description": "KTV 凌晨还在唱",
               "address": {"building": "B1", "unit": "1", "room": "101"}}


def report(ge, **overrides):
    return ge.report_incident({**NOISE_AT_B1, **overrides})


def test_report_is_routed_to_the_grid_worker_and_walks_the_whole_lifecycle(community, rpc, emitted,
                                                                          frozen_clock):
    ge = rpc("grid_events")
    incident = report(ge, reporter_resident_id="R-1", location={"lat": 22.5431, "lng": 114.0579})
    assert incident["grid_code"] == "G1" and incident["grid_name"] == "阳光一格"
    assert incident["status"] == "dispatched" and incident["assignee_staff_id"] == community.worker1
    assert incident["priority"] == "normal" and incident["also_police"] is False
    assert incident["state_deadline"] == "2026-11-02T09:30:00+00:00"  # accept within 30 minutes
    assert incident["respond_by"] == "2026-11-02T09:30:00+00:00"  # the on-time response deadline
    assert incident["due_at"] == "2026-11-03T09:00:00+00:00"  # noise: 24 hours overall
    iid = incident["incident_id"]

    frozen_clock.advance(minutes=10)
    assert ge.accept({"incident_id": iid})["status"] == "accepted"
    frozen_clock.advance(minutes=5)
    assert ge.start({"incident_id": iid, "note": "on my way"})["status"] == "in_progress"
    frozen_clock.advance(hours=1)
    assert ge.resolve({"incident_id": iid, "resolution": "talked to the KTV owner"})["status"] == "resolved"
    closed = ge.rate({"incident_id": iid, "rating": 5})
    assert closed["status"] == "closed" and closed["rating"] == 5

    got = ge.get_incident(iid)
    assert [(h["action"], h["from"], h["to"]) for h in got["history"]] == [
        ("report", None, "reported"), ("dispatch", "reported", "dispatched"),
        ("accept", "dispatched", "accepted"), ("start", "accepted", "in_progress"),
        ("resolve", "in_progress", "resolved"), ("rate", "resolved", "closed")]
    assert got["history"][2]["by"] == "test" and got["history"][2]["at"] == "2026-11-02T09:10:00+00:00"
    assert got["history"][3]["note"] == "on my way"
    assert got["accepted_at"] == "2026-11-02T09:10:00+00:00"
    assert got["resolved_at"] == "2026-11-02T10:15:00+00:00"

    [reported] = emitted("grid_events.incident_reported")
    assert reported == {"incident_id": iid, "grid_code": "G1", "category": "noise", "priority": "normal",
                        "source": "resident", "reporter_resident_id": "R-1", "possible_duplicate_of": None,
                        "unassigned": False, "summary": "KTV 凌晨还在唱"}
    [dispatched] = emitted("grid_events.incident_dispatched")
    assert dispatched["assignee_staff_id"] == community.worker1
    assert dispatched["accept_by"] == "2026-11-02T09:30:00+00:00"
    assert [e["staff_id"] for e in emitted("grid_events.incident_accepted")] == ["test"]
    assert emitted("grid_events.incident_resolved")[0]["resolution"] == "talked to the KTV owner"
    assert [e["rating"] for e in emitted("grid_events.incident_rated")] == [5]
    assert emitted("grid_events.incident_closed") == [
        {"incident_id": iid, "grid_code": "G1", "category": "noise", "rating": 5, "automatic": False}]


def test_police_categories_also_go_to_the_police_desk(community, rpc, emitted):
    incident = rpc("grid_events").report_incident(
        {"category": "fraud_prevention", "description": "冒充公检法电话", "grid_code": "G2"})
    assert incident["assignee_staff_id"] == community.worker2
    assert incident["also_police"] is True and incident["police_staff_ids"] == [community.police]
    assert incident["priority"] == "high"
    assert emitted("grid_events.incident_dispatched")[0]["also_police"] is True


def test_an_address_outside_every_grid_is_refused_and_nothing_written(community, rpc, gdb, emitted):
    with pytest.raises(InvalidInput) as refused:
        report(rpc("grid_events"), address={"building": "Z99", "room": "1"})
    assert list(refused.value.fields) == ["address"]  # the caller's field, not the registry's "building"
    with pytest.raises(InvalidInput) as refused:
        rpc("grid_events").report_incident({"category": "ufo", "description": "x", "grid_code": "G1"})
    assert "category" in refused.value.fields
    assert gdb.incidents.count_documents({}) == 0 and gdb.outbox.count_documents({}) == 0
    assert emitted("grid_events.incident_reported", 0) == []


def test_a_grid_heard_of_through_registry_events_is_routed_without_asking_the_registry(
        services, rpc, config, gdb):
    """G9 exists only in registry events published here (the running registry has never heard of
    it, so a registry RPC would refuse): the report is routed from grid_events' read models."""
    at = datetime(2026, 11, 2, tzinfo=UTC)
    facts = [envelope("registry.grid_defined", {"code": "G9", "name": "九格", "buildings": ["B91", "B92"]},
                      source="registry", correlation_id="c-9", occurred_at=at),
             envelope("registry.grid_staff_assigned", {"staff_id": "ST-9001", "grid_code": "G9",
                                                       "role": "grid_worker", "name": "九号网格员"},
                      source="registry", correlation_id="c-9", occurred_at=at)]
    publisher = ConfirmedPublisher(config["AMQP_URI"])
    try:
        publisher.publish_batch([("registry.events", e["type"].split(".")[1], e, {}) for e in facts])
    finally:
        publisher.close()
    wait_until(lambda: gdb.grids.find_one({"_id": "G9"}) and gdb.staff.find_one({"_id": "ST-9001"}),
               message="grid_events heard of G9 and its worker")

    incident = report(rpc("grid_events"), address={"building": "B92", "room": "3"})
    assert (incident["grid_code"], incident["grid_name"]) == ("G9", "九格")
    assert incident["status"] == "dispatched" and incident["assignee_staff_id"] == "ST-9001"


def test_without_a_grid_worker_the_incident_waits_to_be_dispatched(community, rpc, emitted, frozen_clock):
    ge = rpc("grid_events")
    incident = ge.report_incident(
        {"category": "market_disorder", "description": "占道经营", "grid_code": "G3"})
    assert incident["status"] == "reported" and incident["assignee_staff_id"] is None
    assert incident["respond_by"] == "2026-11-02T10:00:00+00:00"  # 30 min to dispatch + 30 to accept
    [reported] = emitted("grid_events.incident_reported")
    assert reported["unassigned"] is True  # the community office hears of it (notifications)
    staff = community.staff("G3", "grid_worker", "赵网格")
    dispatched = ge.dispatch({"incident_id": incident["incident_id"], "assignee_staff_id": staff})
    assert dispatched["status"] == "dispatched" and dispatched["assignee_staff_id"] == staff


def _in_state(ge, community, state):
    """An incident brought to `state` through the RPCs."""
    if state == "reported":
        return ge.report_incident({"category": "other", "description": "s", "grid_code": "G3"})["incident_id"]
    iid = report(ge, address={"building": "B2", "room": state})["incident_id"]
    steps = {"dispatched": [], "accepted": ["accept"], "in_progress": ["accept", "start"],
             "resolved": ["accept", "start", "resolve"], "closed": ["accept", "start", "resolve", "close"],
             "reopened": ["accept", "start", "resolve", "reopen"], "rejected": ["reject"]}
    if state == "duplicate":
        other = report(ge, address={"building": "B1", "room": "dup"})["incident_id"]
        ge.merge_duplicate({"incident_id": iid, "into_incident_id": other})
        return iid
    for step in steps[state]:
        getattr(ge, step)({"incident_id": iid, **EXTRA.get(step, {})})
    return iid


LEGAL = {"reported": {"dispatch", "reject", "merge_duplicate"},
         "dispatched": {"accept", "reject", "merge_duplicate"},
         "accepted": {"start", "reject", "merge_duplicate"},
         "in_progress": {"resolve"},
         "resolved": {"close", "rate", "reopen"},
         "reopened": {"accept"},
         "closed": set(), "rejected": set(), "duplicate": set()}
EXTRA = {"resolve": {"resolution": "done"}, "reject": {"reason": "not ours"}, "reopen": {"reason": "again"},
         "rate": {"rating": 3}}
ACTIONS = ("dispatch", "accept", "start", "resolve", "close", "rate", "reopen", "reject", "merge_duplicate")


def test_every_illegal_transition_is_refused_and_changes_nothing(community, rpc, gdb):
    ge = rpc("grid_events")
    target = report(ge, address={"building": "B1", "room": "target"})["incident_id"]
    extra = {**EXTRA, "dispatch": {"assignee_staff_id": community.worker1},
             "merge_duplicate": {"into_incident_id": target}}
    refused = 0
    for state, legal in LEGAL.items():
        iid = _in_state(ge, community, state)
        before = gdb.incidents.find_one({"_id": iid})
        assert before["status"] == state
        outbox_before = gdb.outbox.count_documents({"status": "pending"})
        for action in sorted(set(ACTIONS) - legal):
            with pytest.raises(Conflict) as exc:
                getattr(ge, action)({"incident_id": iid, **extra.get(action, {})})
            assert exc.value.code == "illegal_transition", (state, action)
            assert state in exc.value.message
            refused += 1
        assert gdb.incidents.find_one({"_id": iid}) == before
        assert gdb.outbox.count_documents({"status": "pending"}) <= outbox_before  # nothing new to send
    assert refused == 9 * 9 - sum(len(v) for v in LEGAL.values())


def test_a_reject_needs_a_reason_residents_may_not_handle_workers_may_not_close(community, rpc, as_actor):
    ge = rpc("grid_events")
    iid = report(ge)["incident_id"]
    with pytest.raises(InvalidInput) as refused:
        ge.reject({"incident_id": iid})
    assert "reason" in refused.value.fields
    resident = as_actor({"id": "R-9", "role": "resident"}).grid_events
    with pytest.raises(Forbidden):
        resident.accept({"incident_id": iid})
    other_worker = as_actor({"id": community.worker2, "role": "grid_worker", "grid": "G2"}).grid_events
    with pytest.raises(NotFound):  # another grid's incident does not exist for them
        other_worker.accept({"incident_id": iid})
    assert ge.get_incident(iid)["status"] == "dispatched"
    worker = as_actor({"id": community.worker1, "role": "grid_worker", "grid": "G1"}).grid_events
    worker.accept({"incident_id": iid})
    worker.start({"incident_id": iid})
    worker.resolve({"incident_id": iid, "resolution": "done"})
    with pytest.raises(Forbidden):
        worker.close({"incident_id": iid})  # the handler does not close their own work
    assert ge.get_incident(iid)["status"] == "resolved"


def test_the_reporter_rates_or_reopens_only_their_own(community, rpc, as_actor):
    ge = rpc("grid_events")
    me = as_actor({"id": "R-7", "role": "resident"}).grid_events
    iid = me.report_incident(NOISE_AT_B1)["incident_id"]
    assert ge.get_incident(iid)["reporter_resident_id"] == "R-7"
    for step in ("accept", "start", "resolve"):
        getattr(ge, step)({"incident_id": iid, **EXTRA.get(step, {})})
    other = as_actor({"id": "R-8", "role": "resident"}).grid_events
    with pytest.raises(NotFound):  # another resident's report does not exist for them
        other.rate({"incident_id": iid, "rating": 1})
    with pytest.raises(NotFound):
        other.get_incident(iid)  # residents see only their own reports
    report(ge)
    assert other.list_incidents()["total"] == 0 and me.list_incidents()["total"] == 1
    assert ge.list_incidents()["total"] == 2
    reopened = me.reopen({"incident_id": iid, "reason": "still loud"})
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1


def test_overdue_incident_climbs_the_escalation_ladder_one_rung_at_a_time(community, rpc, tick, emitted,
                                                                          frozen_clock):
    ge = rpc("grid_events")
    iid = report(ge)["incident_id"]
    frozen_clock.advance(minutes=30)
    assert tick()["escalated"] == 0  # exactly at the deadline: not late yet
    frozen_clock.advance(minutes=1)
    assert tick()["escalated"] == 1
    assert tick()["escalated"] == 0  # not again within the same step
    for _ in range(3):
        frozen_clock.advance(minutes=30)
        tick()
    escalations = sorted(emitted("grid_events.incident_escalated", 3), key=lambda e: e["level"])
    assert [(e["level"], e["rung"], e["overdue"]) for e in escalations] == [
        (1, "branch_secretary", "state:dispatched"), (2, "community_office", "state:dispatched"),
        (3, "street_office", "state:dispatched")]
    assert [e["staff_ids"] for e in escalations] == [[community.secretary1], [community.office],
                                                     [community.street]]
    got = ge.get_incident(iid)
    assert got["escalation_level"] == 3 and got["status"] == "dispatched"
    assert [h["action"] for h in got["history"]].count("escalate") == 3
    overdue = ge.list_incidents({"grid_code": "G1", "overdue": True})
    assert [i["incident_id"] for i in overdue["items"]] == [iid] and overdue["total"] == 1


def test_the_overall_clock_escalates_in_progress_work_and_a_granted_extension_holds_it(
        community, rpc, tick, emitted, frozen_clock):
    ge = rpc("grid_events")
    late = report(ge, address={"building": "B1", "room": "201"})["incident_id"]
    extended = report(ge, address={"building": "B2", "room": "202"})["incident_id"]
    for iid in (late, extended):
        ge.accept({"incident_id": iid})
        ge.start({"incident_id": iid})
    ext = ge.request_extension({"incident_id": extended, "minutes": 240, "reason": "需要物业配合"})
    with pytest.raises(Conflict):
        ge.request_extension({"incident_id": extended, "minutes": 60, "reason": "again"})
    granted = ge.grant_extension({"incident_id": extended, "extension_id": ext["extension_id"],
                                  "reason": "物业周一才上班"})
    assert granted["due_at"] == "2026-11-03T13:00:00+00:00"  # 24 h + 4 h
    assert granted["extensions"][0]["status"] == "granted"

    frozen_clock.advance(hours=24, minutes=1)
    tick()
    assert [(e["incident_id"], e["overdue"]) for e in emitted("grid_events.incident_escalated")] == [
        (late, "overall")]
    frozen_clock.advance(hours=4)
    tick()
    # the late one climbs its next rung; the extended one is now late too
    climbed = emitted("grid_events.incident_escalated", 3)
    assert sorted((e["incident_id"], e["level"]) for e in climbed) == sorted(
        [(late, 1), (late, 2), (extended, 1)])


def test_only_the_office_grants_extensions(community, rpc, as_actor):
    ge = rpc("grid_events")
    iid = report(ge)["incident_id"]
    worker = as_actor({"id": community.worker1, "role": "grid_worker", "grid": "G1"}).grid_events
    ext = worker.request_extension({"incident_id": iid, "minutes": 30, "reason": "r"})
    with pytest.raises(Forbidden):
        worker.grant_extension({"incident_id": iid, "extension_id": ext["extension_id"], "reason": "r"})
    assert ge.get_incident(iid)["extensions"][0]["status"] == "requested"


def test_a_repeated_report_nearby_is_flagged_and_can_be_merged(community, rpc, emitted, frozen_clock):
    ge = rpc("grid_events")
    first = report(ge, location={"lat": 22.5431, "lng": 114.0579})["incident_id"]
    frozen_clock.advance(hours=2)
    near = report(ge, location={"lat": 22.5435, "lng": 114.0580})
    assert near["possible_duplicate_of"] == first
    far = report(ge, location={"lat": 22.5531, "lng": 114.0579})
    other_kind = report(ge, category="sanitation", location={"lat": 22.5431, "lng": 114.0579})
    assert far["possible_duplicate_of"] is None and other_kind["possible_duplicate_of"] is None
    frozen_clock.advance(hours=23)
    later = report(ge, location={"lat": 22.5431, "lng": 114.0579})
    assert later["possible_duplicate_of"] == near["incident_id"]  # the first is now outside 24 h
    reported = emitted("grid_events.incident_reported", 5)
    flagged = {e["incident_id"]: e["possible_duplicate_of"] for e in reported}
    assert flagged == {first: None, near["incident_id"]: first, far["incident_id"]: None,
                       other_kind["incident_id"]: None, later["incident_id"]: near["incident_id"]}

    merged = ge.merge_duplicate({"incident_id": near["incident_id"], "into_incident_id": first})
    assert merged["status"] == "duplicate" and merged["merged_into"] == first
    assert ge.get_incident(first)["duplicates"] == [near["incident_id"]]
    with pytest.raises(Conflict):
        ge.merge_duplicate({"incident_id": far["incident_id"], "into_incident_id": near["incident_id"]})


def test_a_resolved_incident_closes_itself_after_the_configured_days(community, rpc, tick, emitted,
                                                                    frozen_clock):
    ge = rpc("grid_events")
    iid = report(ge)["incident_id"]
    for step in ("accept", "start", "resolve"):
        getattr(ge, step)({"incident_id": iid, **EXTRA.get(step, {})})
    frozen_clock.advance(days=6, hours=23)
    assert tick()["auto_closed"] == 0
    frozen_clock.advance(hours=1)
    assert tick()["auto_closed"] == 1
    got = ge.get_incident(iid)
    assert got["status"] == "closed" and got["history"][-1]["action"] == "auto_close"
    assert emitted("grid_events.incident_closed")[0]["automatic"] is True


def test_grid_statistics_match_hand_computed_figures(community, rpc, as_actor, tick, frozen_clock):
    """Grid G2, noise (24 h overall, accept within 30 min):
    A: accepted after 10 min, resolved after 2 h, rated 5            -> on time
    B: accepted after 40 min, resolved after 30 h (late), reopened, resolved again at 31 h, rated 2
    C: accepted after 70 min, resolved after 4 h, not rated yet
    D: rejected; E: still dispatched. Another grid's incident does not count.
    response = (10 + 40 + 70) / 3 = 40.0 min; resolution = (120 + 1860 + 240) / 3 = 740.0 min
    on time 2/3; satisfaction 1/2 (ratings 5 and 2); average rating 3.5; reopened 1/3.
    At 240 min the timer escalates E (still not accepted): escalation 1/5. Response on time: A
    only, of A, B, C and E (late, not accepted; D was rejected unaccepted): 1/4.
    Every grid together (G1's one incident, also escalated, also unaccepted): 2/6 and 1/5."""
    ge = rpc("grid_events")
    t0 = frozen_clock.current
    ids = {k: ge.report_incident({"category": "noise", "description": k, "grid_code": "G2"})["incident_id"]
           for k in "ABCDE"}
    report(ge)  # G1

    def at(minutes, action, key, **extra):
        frozen_clock.current = t0 + timedelta(minutes=minutes)
        return getattr(ge, action)({"incident_id": ids[key], **EXTRA.get(action, {}), **extra})

    at(5, "reject", "D")
    at(10, "accept", "A"), at(11, "start", "A"), at(120, "resolve", "A"), at(130, "rate", "A", rating=5)
    at(40, "accept", "B"), at(41, "start", "B"), at(1800, "resolve", "B"), at(1801, "reopen", "B")
    at(1802, "accept", "B"), at(1803, "start", "B"), at(1860, "resolve", "B"), at(1870, "rate", "B", rating=2)
    at(70, "accept", "C"), at(71, "start", "C"), at(240, "resolve", "C")
    assert tick()["escalated"] == 2  # E and G1's

    stats = ge.grid_stats({"grid_code": "G2"})
    assert stats["incidents"] == 5
    assert stats["by_status"] == {"closed": 2, "resolved": 1, "rejected": 1, "dispatched": 1}
    assert stats["response_minutes_avg"] == 40.0
    assert stats["resolution_minutes_avg"] == 740.0
    assert stats["on_time"] == {"count": 2, "of": 3, "rate": 0.6667}
    assert stats["satisfaction"] == {"count": 1, "of": 2, "rate": 0.5}
    assert stats["rating_avg"] == 3.5
    assert stats["reopen"] == {"count": 1, "of": 3, "rate": 0.3333}
    assert stats["response_on_time"] == {"count": 1, "of": 4, "rate": 0.25}
    assert stats["escalation"] == {"count": 1, "of": 5, "rate": 0.2}
    overall = ge.grid_stats({})
    assert overall["grid_code"] is None and overall["incidents"] == 6
    assert overall["escalation"] == {"count": 2, "of": 6, "rate": 0.3333}
    assert overall["response_on_time"] == {"count": 1, "of": 5, "rate": 0.2}
    worker = as_actor({"id": community.worker1, "role": "grid_worker", "grid": "G1"}).grid_events
    assert worker.grid_stats({})["grid_code"] == "G1"  # a grid worker's figures are their grid's
    assert ge.grid_stats({"grid_code": "G1"})["incidents"] == 1
    everything = ge.all_grid_stats()
    assert sorted(everything) == ["G1", "G2"] and everything["G2"] == {k: v for k, v in stats.items()
                                                                         if k != "grid_code"}
    before = ge.grid_stats({"grid_code": "G2", "reported_to": "2026-11-02T09:00:00+00:00"})
    assert before["incidents"] == 0  # the period filter: nothing was reported before t0


def test_list_incidents_filters_and_pages(community, rpc):
    ge = rpc("grid_events")
    for room in ("1", "2", "3"):
        report(ge, address={"building": "B1", "room": room})
    report(ge, category="sanitation")
    page = ge.list_incidents({"grid_code": "G1", "category": "noise", "page": 2, "page_size": 2})
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    assert ge.list_incidents({"status": "closed"})["total"] == 0
    with pytest.raises(InvalidInput):
        ge.list_incidents({"status": "lost"})



def test_health_and_settings_from_config(runner_factory, config, rpc, frozen_clock):
    """GRID_EVENTS in the nameko config sets the rules: here auto-close after 2 days, not 7."""
    from nameko.testing.services import entrypoint_hook
    from nameko.testing.utils import get_container

    from services.grid_events.service import GridEventsService
    from services.registry.service import RegistryService

    runner = runner_factory({**config, "GRID_EVENTS": {"auto_close_days": 2}}, GridEventsService,
                            RegistryService)
    runner.start()
    ge = rpc("grid_events")
    health = ge.health()
    assert health["service"] == "grid_events" and health["status"] == "ok"
    assert health["database"] is True and health["broker"] is True
    categories = {c["code"]: c for c in ge.categories()}
    assert len(categories) == 11 and categories["public_order"]["police"] is True

    rpc("registry").define_grid({"code": "G1", "name": "一格", "buildings": ["B1"]})
    iid = ge.report_incident({"category": "other", "description": "x", "grid_code": "G1"})["incident_id"]
    ge.dispatch({"incident_id": iid, "assignee_staff_id": "S-1"})
    for step in ("accept", "start", "resolve"):
        getattr(ge, step)({"incident_id": iid, **EXTRA.get(step, {})})
    frozen_clock.advance(days=2)
    with entrypoint_hook(get_container(runner, GridEventsService), "tick") as tick:
        assert tick()["auto_closed"] == 1
    assert ge.get_incident(iid)["status"] == "closed"
