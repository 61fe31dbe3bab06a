"""The access policy kit: rows, rules and grants (no I/O)."""

import pytest

from shared.access import ALL, ANYONE, COMMUNITY_ADMIN, GRID_WORKER, OWN, OWN_GRID, RESIDENT, Policy
from shared.errors import Forbidden, NotFound

POLICY = Policy({
    "get_thing": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, RESIDENT: OWN},
    "health": ANYONE,
})
ADMIN = {"id": "S1", "role": "community_admin"}
WORKER_G3 = {"id": "S2", "role": "grid_worker", "grid": "G3"}
RESIDENT_R1 = {"id": "R1", "role": "resident", "grid": "G3"}


@pytest.mark.parametrize("actor, reason", [
    (None, "actor"),
    ({}, "actor"),
    ("community_admin", "actor"),
    ({"id": "X", "role": "superuser"}, "role"),
    ({"id": "X", "role": "police_desk"}, "role"),           # known role, not in the row
    ({"id": "S9", "role": "grid_worker"}, "grid"),           # grid-scoped role without a grid
    ({"role": "resident"}, "actor"),                         # own records without an id
])
def test_calls_the_row_does_not_cover_are_refused(actor, reason):
    with pytest.raises(Forbidden) as refused:
        POLICY.grant("get_thing", actor)
    assert reason in refused.value.fields


def test_an_operation_without_a_row_is_refused_and_reported_missing():
    with pytest.raises(Forbidden):
        POLICY.grant("delete_everything", ADMIN)
    assert POLICY.missing(["get_thing", "health", "delete_everything"]) == ["delete_everything"]


def test_anyone_row_admits_every_known_role_but_not_no_actor():
    assert POLICY.grant("health", RESIDENT_R1).rule == ALL
    with pytest.raises(Forbidden):
        POLICY.grant("health", None)


def test_grants_narrow_lists_and_hide_records_outside_them():
    assert POLICY.grant("get_thing", ADMIN).query("grid_code", "owner") == {}
    assert POLICY.grant("get_thing", WORKER_G3).query("grid_code", "owner") == {"grid_code": "G3"}
    assert POLICY.grant("get_thing", RESIDENT_R1).query("grid_code", "owner") == {"owner": "R1"}

    worker = POLICY.grant("get_thing", WORKER_G3)
    worker.check(grid="G3")
    with pytest.raises(NotFound):
        worker.check(grid="G1", what="resident", ref="R7")

    resident = POLICY.grant("get_thing", RESIDENT_R1)
    resident.check(owners=["R1", "R2"])
    with pytest.raises(NotFound):
        resident.check(grid="G3", owners="R2")  # same grid is not enough for own records


def test_a_policy_naming_an_unknown_role_or_rule_does_not_load():
    with pytest.raises(ValueError):
        Policy({"x": {"superuser": ALL}})
    with pytest.raises(ValueError):
        Policy({"x": {RESIDENT: "everything"}})
