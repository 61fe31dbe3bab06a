"""Who may do what in grid_events (domain.POLICY and the pure rules beside it, no I/O).

The expected outcomes are written here by hand; each test asserts what a check decides."""

import pytest

from services.grid_events import domain
from shared.access import ALL, OWN, OWN_GRID, Grant
from shared.errors import Forbidden, InvalidInput, NotFound

INCIDENT = {"incident_id": "INC-1", "grid_code": "G1", "reporter_resident_id": "R-1"}
RESIDENT = {"id": "R-1", "role": "resident"}
NEIGHBOUR = {"id": "R-2", "role": "resident"}
WORKER = {"id": "S-1", "role": "grid_worker", "grid": "G1"}
OTHER_WORKER = {"id": "S-2", "role": "grid_worker", "grid": "G2"}
OFFICE = {"id": "S-9", "role": "community_admin"}
POLICE = {"id": "P", "role": "police_desk"}
SERVICE = {"id": "market", "role": "system"}


def decision(operation, actor):
    """The rule a caller gets for `operation`, or "forbidden"."""
    try:
        return domain.POLICY.grant(operation, actor).rule
    except Forbidden:
        return "forbidden"


def grant(operation, actor):
    return domain.POLICY.grant(operation, actor)


@pytest.mark.parametrize("operation, actor, expected", [
    ("accept", WORKER, OWN_GRID), ("accept", OFFICE, ALL), ("accept", POLICE, ALL), ("accept", SERVICE, ALL),
    ("accept", RESIDENT, "forbidden"), ("accept", {"id": "x", "role": "stranger"}, "forbidden"),
    ("accept", None, "forbidden"), ("accept", {"id": "S-3", "role": "grid_worker"}, "forbidden"),
    ("close", RESIDENT, OWN), ("close", OFFICE, ALL), ("close", WORKER, "forbidden"),
    ("close", POLICE, "forbidden"), ("rate", RESIDENT, OWN), ("reopen", WORKER, "forbidden"),
    ("grant_extension", OFFICE, ALL), ("grant_extension", WORKER, "forbidden"),
    ("grant_extension", POLICE, "forbidden"), ("grant_extension", SERVICE, ALL),
    ("report_incident", RESIDENT, OWN), ("report_incident", WORKER, OWN_GRID),
    ("report_incident", {"id": "V-1", "role": "vendor"}, "forbidden"),
    ("all_grid_stats", WORKER, "forbidden"), ("all_grid_stats", {"id": "SO", "role": "street_office"}, ALL),
    ("grid_stats", {"id": "GL", "role": "grid_liaison", "grid": "G1"}, OWN_GRID),
    ("start_campaign", WORKER, "forbidden"), ("record_household_visit", WORKER, OWN_GRID),
    ("list_visit_tasks", RESIDENT, "forbidden"), ("record_visit", POLICE, "forbidden"),
    ("submit_window_request", RESIDENT, OWN), ("transfer_window_request", WORKER, "forbidden"),
    ("register_camera", WORKER, "forbidden"), ("cctv_alarm", POLICE, ALL),
    ("health", {"id": "op", "role": "operator"}, ALL), ("categories", NEIGHBOUR, ALL),
])
def test_the_policy_row_decides_whether_and_how_far(operation, actor, expected):
    assert decision(operation, actor) == expected


def test_every_rpc_of_the_service_has_a_row():
    from services.grid_events.service import GridEventsService

    rpcs = {name for name, method in vars(GridEventsService).items()
            if any(type(e).__name__ == "Rpc" for e in getattr(method, "nameko_entrypoints", ()))}
    assert domain.POLICY.missing(rpcs) == [] and set(domain.POLICY.rows) == rpcs


def visible(operation, actor, record):
    try:
        domain.check_visible(grant(operation, actor), "incident", "incident_id", record["incident_id"],
                             grid=record["grid_code"], owners=[record.get("reporter_resident_id")])
    except NotFound as refused:
        assert refused.fields == {"incident_id": ["unknown incident 'INC-1'"]}  # as if it did not exist
        return "not found"
    return "visible"


@pytest.mark.parametrize("operation, actor, expected", [
    ("get_incident", RESIDENT, "visible"), ("get_incident", NEIGHBOUR, "not found"),
    ("get_incident", WORKER, "visible"), ("get_incident", OTHER_WORKER, "not found"),
    ("get_incident", OFFICE, "visible"), ("accept", OTHER_WORKER, "not found"),
    ("rate", RESIDENT, "visible"), ("rate", NEIGHBOUR, "not found"), ("rate", OFFICE, "visible"),
])
def test_a_record_outside_the_grant_does_not_exist_for_the_caller(operation, actor, expected):
    assert visible(operation, actor, INCIDENT) == expected


def test_an_anonymous_report_is_rated_only_by_the_office():
    anonymous = {**INCIDENT, "reporter_resident_id": None}
    assert visible("rate", RESIDENT, anonymous) == "not found"
    assert visible("rate", OFFICE, anonymous) == "visible"


def test_a_grid_worker_acts_and_lists_in_their_own_grid_only():
    worker = Grant(WORKER, OWN_GRID)
    domain.check_acts_in(worker, "G1")
    with pytest.raises(Forbidden) as refused:
        domain.check_acts_in(worker, "G3")
    assert refused.value.fields == {"grid_code": ["G3 is not your grid"]}
    assert domain.grid_scope(worker, None) == "G1" and domain.grid_scope(worker, "G1") == "G1"
    with pytest.raises(Forbidden):
        domain.grid_scope(worker, "G3")
    office = Grant(OFFICE, ALL)
    assert domain.grid_scope(office, "G3") == "G3" and domain.grid_scope(office, None) is None
    domain.check_acts_in(office, "G3")


def test_a_resident_reports_as_themself_and_sets_no_staff_fields():
    resident = Grant(RESIDENT, OWN)
    assert domain.reporter_of({"reporter_resident_id": "R-1"}, resident) == "R-1"
    assert domain.reporter_of({}, resident) == "R-1"
    with pytest.raises(Forbidden) as refused:
        domain.check_report({"reporter_resident_id": "R-7", "source": "cctv", "priority": "urgent"}, resident)
    assert set(refused.value.fields) == {"reporter_resident_id", "source", "priority"}
    domain.check_report({"source": "resident"}, resident)
    staff = Grant(WORKER, OWN_GRID)
    assert domain.reporter_of({"reporter_resident_id": "R-7"}, staff) == "R-7"
    domain.check_report({"reporter_resident_id": "R-7", "source": "patrol", "priority": "high"}, staff)


def test_a_grid_worker_sees_a_campaign_that_visits_their_grid():
    campaign = {"grid_codes": ["G1", "G2"]}
    assert domain.campaign_covers(Grant(WORKER, OWN_GRID), campaign) is True
    assert domain.campaign_covers(Grant({**WORKER, "grid": "G3"}, OWN_GRID), campaign) is False
    assert domain.campaign_covers(Grant(OFFICE, ALL), campaign) is True


def test_a_mediation_belongs_to_its_incidents_grid_the_named_one_or_the_workers():
    worker, office = Grant(WORKER, OWN_GRID), Grant(OFFICE, ALL)
    assert domain.mediation_grid(worker, None, None) == "G1"
    assert domain.mediation_grid(office, None, None) is None  # the whole community's
    assert domain.mediation_grid(office, INCIDENT, None) == "G1"
    with pytest.raises(Forbidden):
        domain.mediation_grid(worker, None, "G2")
    with pytest.raises(InvalidInput) as refused:
        domain.mediation_grid(office, INCIDENT, "G2")
    assert refused.value.fields == {"grid_code": ["the incident is in G1"]}
