"""grid_events' rules, without I/O: lifecycle, clocks, escalation, duplicates, statistics,
visits, campaign coverage, the no-veto rule."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.grid_events import domain
from services.grid_events.domain import Settings
from shared.errors import Conflict, InvalidInput
from shared.events import grid_events as catalogue

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACTIONS = sorted(domain.TRANSITIONS)
LEGAL = {(status, action) for action, moves in domain.TRANSITIONS.items() for status in moves}


def incident(**overrides):
    cat = domain.CATEGORIES["noise"]
    base = {"incident_id": "INC-1", "grid_code": "G1", "category": "noise", "status": domain.DISPATCHED,
            "reported_at": T0, "state_since": T0,
            "state_deadline": domain.state_deadline(cat, domain.DISPATCHED, T0),
            "due_at": domain.overall_deadline(cat, T0), "escalation_level": 0,
            "next_escalation_at": None, "reopen_count": 0, "accepted_at": None, "resolved_at": None,
            "address": {"building": "B1"}, "location": None}
    return {**base, **overrides}


# ---------------------------------------------------------------- lifecycle


def test_categories_and_priorities_are_the_catalogues():
    assert set(domain.CATEGORIES) == set(catalogue.CATEGORIES)
    assert {c.priority for c in domain.CATEGORIES.values()} <= set(catalogue.PRIORITIES)
    assert all(c.label == catalogue.CATEGORIES[c.code] for c in domain.CATEGORIES.values())


def test_the_happy_path_through_the_lifecycle():
    path = [("accept", "accepted"), ("start", "in_progress"), ("resolve", "resolved"), ("rate", "closed")]
    doc = incident()
    for action, expected in path:
        changes, entry = domain.transition(doc, action, T0, {"id": "S1", "role": "grid_worker"}, "ok")
        assert changes["status"] == expected
        assert entry["from"] == doc["status"] and entry["to"] == expected and entry["by"] == "S1"
        doc = {**doc, **changes}
    assert doc["closed_at"] == T0


@pytest.mark.parametrize("status", domain.STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition_is_legal_or_refused(status, action):
    if (status, action) in LEGAL:
        assert domain.next_status(status, action) == domain.TRANSITIONS[action][status]
    else:
        with pytest.raises(Conflict) as refused:
            domain.next_status(status, action)
        assert refused.value.code == "illegal_transition"
        assert f"cannot {action} an incident that is {status}" == refused.value.message


def test_final_states_allow_nothing():
    for status in domain.FINAL:
        assert not [a for a in ACTIONS if (status, a) in LEGAL]


def test_first_acceptance_and_latest_resolution_are_kept():
    doc = incident(status=domain.REOPENED, accepted_at=T0, resolved_at=T0, reopen_count=1)
    later = T0 + timedelta(hours=5)
    changes, _ = domain.transition(doc, "accept", later)
    assert "accepted_at" not in changes  # the first acceptance counts for response time
    doc = {**doc, **changes, "status": domain.IN_PROGRESS}
    changes, _ = domain.transition(doc, "resolve", later)
    assert changes["resolved_at"] == later
    changes, _ = domain.transition({**doc, "status": domain.RESOLVED}, "reopen", later)
    assert changes["reopen_count"] == 2


def test_state_clock_per_state():
    cat = domain.CATEGORIES["public_order"]
    assert domain.state_deadline(cat, domain.DISPATCHED, T0) == T0 + timedelta(minutes=15)
    assert domain.state_deadline(cat, domain.ACCEPTED, T0) == T0 + timedelta(minutes=30)
    assert domain.state_deadline(cat, domain.REPORTED, T0) == T0 + timedelta(minutes=30)
    assert domain.state_deadline(cat, domain.IN_PROGRESS, T0) is None
    assert domain.overall_deadline(cat, T0) == T0 + timedelta(hours=24)


def test_unknown_category_is_invalid_input():
    with pytest.raises(InvalidInput) as refused:
        domain.category("ufo")
    assert "category" in refused.value.fields


# ---------------------------------------------------------------- escalation


def test_escalation_climbs_one_rung_per_step_and_stops_at_the_top():
    doc = incident()
    assert domain.escalation(doc, T0 + timedelta(minutes=30), 30) is None  # exactly on time
    now = T0 + timedelta(minutes=31)
    rungs = []
    for _ in range(5):
        step = domain.escalation(doc, now, 30)
        if step:
            rungs.append((step["level"], step["rung"], step["overdue"]))
            doc = {**doc, "escalation_level": step["level"], "next_escalation_at": step["next_escalation_at"]}
            assert domain.escalation(doc, now, 30) is None  # not twice within one step
        now += timedelta(minutes=30)
    assert rungs == [(1, "branch_secretary", "state:dispatched"), (2, "community_office", "state:dispatched"),
                     (3, "street_office", "state:dispatched")]


def test_the_overall_clock_counts_even_when_the_state_clock_does_not():
    doc = incident(status=domain.IN_PROGRESS, state_deadline=None)
    assert domain.overdue_clock(doc, T0 + timedelta(hours=23)) is None
    assert domain.overdue_clock(doc, T0 + timedelta(hours=24, minutes=1)) == "overall"
    assert domain.overdue_clock({**doc, "status": domain.RESOLVED}, T0 + timedelta(days=9)) is None


def test_an_extension_moves_both_clocks():
    doc = incident()
    changes = domain.extend(doc, 120)
    assert changes["due_at"] == doc["due_at"] + timedelta(minutes=120)
    assert changes["state_deadline"] == doc["state_deadline"] + timedelta(minutes=120)
    assert domain.escalation({**doc, **changes}, T0 + timedelta(minutes=100), 30) is None


def test_auto_close_after_the_configured_days():
    doc = incident(status=domain.RESOLVED, resolved_at=T0)
    assert not domain.auto_close_due(doc, T0 + timedelta(days=6, hours=23), 7)
    assert domain.auto_close_due(doc, T0 + timedelta(days=7), 7)


# ---------------------------------------------------------------- duplicates


def test_distance_is_metres():
    a = {"lat": 22.5431, "lng": 114.0579}
    b = {"lat": 22.5440, "lng": 114.0579}  # 0.0009 degrees of latitude: about 100 m
    assert 99 < domain.distance_m(a, b) < 101


def test_possible_duplicate_same_grid_category_near_and_recent():
    settings = Settings(duplicate_window_hours=24, duplicate_distance_m=150)
    here = {"lat": 22.5431, "lng": 114.0579}
    old = incident(incident_id="OLD", location=here, status=domain.ACCEPTED)
    new = incident(incident_id="NEW", location={"lat": 22.5440, "lng": 114.0579},
                   reported_at=T0 + timedelta(hours=2))
    assert domain.possible_duplicate(new, [old], settings)["incident_id"] == "OLD"
    far = {**new, "location": {"lat": 22.5460, "lng": 114.0579}}
    assert domain.possible_duplicate(far, [old], settings) is None
    assert domain.possible_duplicate({**new, "category": "sanitation"}, [old], settings) is None
    assert domain.possible_duplicate({**new, "grid_code": "G2"}, [old], settings) is None
    assert domain.possible_duplicate(new, [{**old, "status": domain.CLOSED}], settings) is None
    late = {**new, "reported_at": T0 + timedelta(hours=25)}
    assert domain.possible_duplicate(late, [old], settings) is None


def test_without_locations_the_same_building_is_near():
    settings = Settings()
    old = incident(incident_id="OLD")
    assert domain.possible_duplicate(incident(incident_id="NEW"), [old], settings)["incident_id"] == "OLD"
    other = incident(incident_id="NEW", address={"building": "B2"})
    assert domain.possible_duplicate(other, [old], settings) is None


# ---------------------------------------------------------------- statistics


def test_grid_statistics_against_hand_computed_figures():
    def inc(status, accepted=None, resolved=None, due_h=24, rating=None, reopened=0):
        return {"status": status, "category": "noise", "reported_at": T0,
                "accepted_at": T0 + timedelta(minutes=accepted) if accepted is not None else None,
                "resolved_at": T0 + timedelta(hours=resolved) if resolved is not None else None,
                "due_at": T0 + timedelta(hours=due_h), "rating": rating, "reopen_count": reopened}

    stats = domain.grid_statistics([
        inc("closed", accepted=10, resolved=4, rating=5),
        inc("closed", accepted=20, resolved=30, rating=2, reopened=1),  # late
        inc("resolved", accepted=30, resolved=8),
        inc("in_progress", accepted=60),
        inc("rejected"),
    ], T0 + timedelta(days=3))
    assert stats["incidents"] == 5
    assert stats["by_status"] == {"closed": 2, "resolved": 1, "in_progress": 1, "rejected": 1}
    assert stats["response_minutes_avg"] == 30.0  # (10 + 20 + 30 + 60) / 4
    assert stats["resolution_minutes_avg"] == 840.0  # (240 + 1800 + 480) / 3
    assert stats["on_time"] == {"count": 2, "of": 3, "rate": 0.6667}
    assert stats["satisfaction"] == {"count": 1, "of": 2, "rate": 0.5}
    assert stats["rating_avg"] == 3.5
    assert stats["reopen"] == {"count": 1, "of": 3, "rate": 0.3333}


def test_statistics_of_an_empty_grid():
    stats = domain.grid_statistics([], T0)
    assert stats["incidents"] == 0 and stats["response_minutes_avg"] is None
    assert stats["on_time"] == {"count": 0, "of": 0, "rate": None}
    assert stats["response_on_time"] == stats["escalation"] == {"count": 0, "of": 0, "rate": None}


def test_on_time_response_and_escalation_rates_against_hand_computed_figures():
    """noise: accept within 30 min of the report (60 when it first waited for dispatch).
    A accepted at 20 min -> on time; B at 45 min -> late; C reported unassigned, accepted at 50
    min -> on time (30 + 30); D still dispatched at 40 min -> late, counts against;
    E dispatched 10 min ago -> not yet due, not counted; F rejected unaccepted -> not counted.
    response on time 2 / 4. Escalated (level >= 1): B and D -> 2 / 6."""
    now = T0 + timedelta(minutes=40)

    def inc(status, accepted=None, reported=0, dispatched=True, level=0):
        at = T0 + timedelta(minutes=reported)
        return {"status": status, "category": "noise", "reported_at": at,
                "respond_by": domain.respond_by(domain.category("noise"), at, dispatched),
                "accepted_at": T0 + timedelta(minutes=accepted) if accepted is not None else None,
                "resolved_at": None, "due_at": at + timedelta(hours=24), "rating": None,
                "escalation_level": level}

    stats = domain.grid_statistics([
        inc("accepted", accepted=20), inc("in_progress", accepted=45, level=1),
        inc("accepted", accepted=50, dispatched=False), inc("dispatched", level=2),
        inc("dispatched", reported=30), inc("rejected"),
    ], now)
    assert stats["response_on_time"] == {"count": 2, "of": 4, "rate": 0.5}
    assert stats["escalation"] == {"count": 2, "of": 6, "rate": 0.3333}
    assert stats["response_minutes_avg"] == 38.3  # (20 + 45 + 50) / 3
    older = {**inc("accepted", accepted=25), "respond_by": None}  # stored before respond_by existed
    assert domain.grid_statistics([older], now)["response_on_time"]["count"] == 1


# ---------------------------------------------------------------- CCTV, visits


def test_cctv_alarms_fold_within_the_window():
    assert domain.fold_alarm(T0, T0 + timedelta(minutes=30), 30)
    assert not domain.fold_alarm(T0, T0 + timedelta(minutes=31), 30)
    assert not domain.fold_alarm(None, T0, 30)


def test_visit_due_dates_and_overdue():
    s = Settings(move_in_visit_days=30, difficulty_visit_days=3)
    assert domain.visit_due_on(domain.MOVE_IN, date(2026, 11, 2), s) == date(2026, 12, 2)
    assert domain.visit_due_on(domain.DIFFICULTY, date(2026, 11, 2), s) == date(2026, 11, 5)
    assert domain.visit_due_on(domain.YEAR_END, date(2026, 12, 1), s) == date(2026, 12, 31)
    task = {"status": "open", "due_on": "2026-11-05"}
    assert not domain.visit_overdue(task, date(2026, 11, 5))
    assert domain.visit_overdue(task, date(2026, 11, 6))
    assert not domain.visit_overdue({**task, "status": "done"}, date(2026, 12, 6))
    assert domain.year_end_visits_open(date(2026, 12, 1), s) and not domain.year_end_visits_open(
        date(2026, 11, 30), s)


def test_settings_from_config_section():
    s = Settings.from_section({"auto_close_days": "3", "nonsense": 1})
    assert s.auto_close_days == 3 and s.escalation_step_minutes == 30
    assert Settings.from_section({}) == Settings()


# ---------------------------------------------------------------- campaigns


def test_household_progress_refuses_people_of_other_households():
    household = {"members": ["R1", "R2"], "reached": ["R1"]}
    assert domain.household_progress(household, {"R2"}) == {"reached": ["R1", "R2"], "visited": True,
                                                            "covered": True}
    assert domain.household_progress(household, set())["covered"] is False
    with pytest.raises(InvalidInput):
        domain.household_progress(household, {"R9"})


def test_coverage_lists_exactly_the_missed_households_and_people():
    households = [
        {"household_id": "H1", "grid_code": "G1", "building": "B1", "unit": "1", "room": "101",
         "members": ["R1", "R2"], "reached": ["R1", "R2"], "visited": True},
        {"household_id": "H2", "grid_code": "G1", "building": "B1", "unit": "1", "room": "102",
         "members": ["R3", "R4"], "reached": ["R3"], "visited": True},
        {"household_id": "H3", "grid_code": "G2", "building": "B7", "unit": None, "room": "1",
         "members": ["R5"], "reached": [], "visited": False},
    ]
    campaign = {"campaign_id": "C", "name": "anti-fraud", "grid_codes": ["G1", "G2"]}
    report = domain.coverage(campaign, households)
    assert report["households"] == {"total": 3, "visited": 2, "missed": 1}
    assert report["residents"] == {"total": 5, "reached": 3, "missed": 2}
    assert report["missed_households"] == [{"household_id": "H3", "grid_code": "G2", "building": "B7",
                                            "unit": None, "room": "1"}]
    assert report["missed_residents"] == [{"resident_id": "R4", "household_id": "H2"},
                                          {"resident_id": "R5", "household_id": "H3"}]
    assert report["complete"] is False


# ---------------------------------------------------------------- service windows


def test_there_are_thirteen_windows():
    assert len(domain.WINDOWS) == 13


def test_no_veto_refusal_needs_a_transfer_or_an_escalation():
    request = {"status": "open", "window": "documents", "transfers": [], "escalations": []}
    with pytest.raises(Conflict) as refused:
        domain.window_completion(request, "refused")
    assert refused.value.code == "no_veto"
    assert domain.window_completion(request, "handled") == "handled"
    assert domain.window_completion({**request, "transfers": [{"to": "x"}]}, "refused") == "refused"
    assert domain.window_completion({**request, "status": "escalated", "escalations": [{}]}, "refused")
    with pytest.raises(Conflict):
        domain.window_completion({**request, "status": "handled"}, "handled")


def test_window_transfer_to_a_window_stays_open_to_a_department_leaves():
    request = {"status": "open", "window": "documents"}
    assert domain.window_transfer(request, "health") == {"window": "health", "status": "open"}
    assert domain.window_transfer(request, "district civil affairs bureau")["status"] == "transferred_out"
    with pytest.raises(InvalidInput):
        domain.window_transfer(request, "documents")
    with pytest.raises(Conflict):
        domain.window_transfer({**request, "status": "handled"}, "health")


def test_a_report_goes_to_the_latest_holder_of_the_handling_post_in_its_grid():
    from datetime import UTC, datetime

    staff = [{"_id": "S-1", "role": "grid_worker", "assigned_at": datetime(2026, 1, 1, tzinfo=UTC)},
             {"_id": "S-2", "role": "grid_worker", "assigned_at": datetime(2026, 6, 1, tzinfo=UTC)},
             {"_id": "S-3", "role": "branch_secretary", "assigned_at": datetime(2026, 7, 1, tzinfo=UTC)}]
    assert domain.assignee(domain.CATEGORIES["noise"], staff) == "S-2"
    assert domain.assignee(domain.CATEGORIES["noise"], staff[2:]) is None
