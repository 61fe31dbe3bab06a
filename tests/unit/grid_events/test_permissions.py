"""Who may do what on an incident (pure checks in domain.py, no I/O)."""

import pytest

from services.grid_events import domain
from shared.errors import Forbidden, NotFound

INCIDENT = {"incident_id": "INC-1", "grid_code": "G1", "reporter_resident_id": "R-1"}
RESIDENT = {"id": "R-1", "role": "resident"}
NEIGHBOUR = {"id": "R-2", "role": "resident"}
WORKER = {"id": "S-1", "role": "grid_worker", "grid": "G1"}
OTHER_WORKER = {"id": "S-2", "role": "grid_worker", "grid": "G2"}
OFFICE = {"id": "S-9", "role": "community_admin"}
POLICE = {"id": "P", "role": "police_desk"}


def outcome(check, *args):
    """"allowed" or "forbidden": what a permission check decides."""
    try:
        check(*args)
    except Forbidden:
        return "forbidden"
    return "allowed"


@pytest.mark.parametrize("actor, expected", [
    (None, "allowed"), (WORKER, "allowed"), (OFFICE, "allowed"), (POLICE, "allowed"),
    (RESIDENT, "forbidden"), (OTHER_WORKER, "forbidden"), ({"id": "x", "role": "stranger"}, "forbidden"),
])
def test_staff_of_the_incidents_grid_and_services_handle_it(actor, expected):
    assert outcome(domain.check_staff, actor, INCIDENT) == expected


@pytest.mark.parametrize("actor, expected", [
    (None, "allowed"), (RESIDENT, "allowed"), (OFFICE, "allowed"),
    (NEIGHBOUR, "forbidden"), (WORKER, "forbidden"),
])
def test_the_reporter_or_the_office_rates_reopens_closes(actor, expected):
    assert outcome(domain.check_reporter, actor, INCIDENT) == expected
    for action in ("rate", "reopen", "close"):
        assert outcome(domain.check_lifecycle, actor, action, INCIDENT) == expected


def test_the_handler_may_not_close_their_own_work_but_handles_it():
    assert outcome(domain.check_lifecycle, WORKER, "close", INCIDENT) == "forbidden"
    assert outcome(domain.check_lifecycle, WORKER, "resolve", INCIDENT) == "allowed"
    assert outcome(domain.check_lifecycle, RESIDENT, "resolve", INCIDENT) == "forbidden"


def test_an_anonymous_report_is_rated_only_by_the_office():
    anonymous = {**INCIDENT, "reporter_resident_id": None}
    assert outcome(domain.check_reporter, {"id": None, "role": "resident"}, anonymous) == "forbidden"
    assert outcome(domain.check_reporter, OFFICE, anonymous) == "allowed"


def test_residents_see_only_their_own_reports():
    assert domain.reader_scope(RESIDENT) == {"reporter_resident_id": "R-1"}
    assert domain.reader_scope(WORKER) == {} and domain.reader_scope(None) == {}
    assert domain.visible(INCIDENT, RESIDENT) is INCIDENT
    with pytest.raises(NotFound):
        domain.visible(INCIDENT, NEIGHBOUR)


@pytest.mark.parametrize("actor, expected", [(OFFICE, "allowed"), (None, "allowed"),
                                             (WORKER, "forbidden"), (RESIDENT, "forbidden")])
def test_only_the_office_grants_extensions(actor, expected):
    assert outcome(domain.check_supervisor, actor) == expected


def test_residents_record_no_visits_and_start_no_campaigns():
    assert outcome(domain.check_not_resident, RESIDENT, "record visits") == "forbidden"
    assert outcome(domain.check_not_resident, WORKER, "record visits") == "allowed"


def test_a_resident_reports_as_themself_staff_for_whom_they_name():
    assert domain.reporter_of({"reporter_resident_id": "R-7"}, RESIDENT) == "R-1"
    assert domain.reporter_of({"reporter_resident_id": "R-7"}, WORKER) == "R-7"
