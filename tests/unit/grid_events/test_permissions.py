"""Who may do what on an incident (pure checks, no I/O)."""

import pytest

from services.grid_events import incidents
from shared.errors import Forbidden, NotFound

INCIDENT = {"incident_id": "INC-1", "grid_code": "G1", "reporter_resident_id": "R-1"}
RESIDENT = {"id": "R-1", "role": "resident"}
NEIGHBOUR = {"id": "R-2", "role": "resident"}
WORKER = {"id": "S-1", "role": "grid_worker", "grid": "G1"}
OTHER_WORKER = {"id": "S-2", "role": "grid_worker", "grid": "G2"}
OFFICE = {"id": "S-9", "role": "community_office"}


@pytest.mark.parametrize("actor", [None, WORKER, OFFICE, {"id": "P", "role": "police_desk"}])
def test_staff_and_services_handle(actor):
    incidents.check_staff(actor, INCIDENT)


@pytest.mark.parametrize("actor", [RESIDENT, OTHER_WORKER, {"id": "x", "role": "stranger"}])
def test_residents_and_other_grids_do_not_handle(actor):
    with pytest.raises(Forbidden):
        incidents.check_staff(actor, INCIDENT)


@pytest.mark.parametrize("actor", [None, RESIDENT, OFFICE])
def test_the_reporter_or_the_office_rates_reopens_closes(actor):
    incidents.check_reporter(actor, INCIDENT)


@pytest.mark.parametrize("actor", [NEIGHBOUR, WORKER])
def test_nobody_else_rates_reopens_closes(actor):
    with pytest.raises(Forbidden):
        incidents.check_reporter(actor, INCIDENT)


def test_an_anonymous_report_is_rated_only_by_the_office():
    anonymous = {**INCIDENT, "reporter_resident_id": None}
    with pytest.raises(Forbidden):
        incidents.check_reporter({"id": None, "role": "resident"}, anonymous)
    incidents.check_reporter(OFFICE, anonymous)


def test_residents_see_only_their_own_reports():
    assert incidents.reader_scope(RESIDENT) == {"reporter_resident_id": "R-1"}
    assert incidents.reader_scope(WORKER) == {} and incidents.reader_scope(None) == {}
    assert incidents.visible(INCIDENT, RESIDENT) is INCIDENT
    with pytest.raises(NotFound):
        incidents.visible(INCIDENT, NEIGHBOUR)


def test_only_the_office_grants_extensions():
    incidents.check_supervisor(OFFICE)
    incidents.check_supervisor(None)
    with pytest.raises(Forbidden):
        incidents.check_supervisor(WORKER)
