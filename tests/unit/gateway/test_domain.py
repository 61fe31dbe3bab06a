"""The gateway's pure rules: the actor from claims, the edge check, lockout, error mapping."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.exceptions import RemoteError

from services.gateway import domain, web
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_actor_comes_from_the_claims_only():
    claims = {"sub": "li.office", "role": "community_admin", "grid": None}
    assert domain.actor_of(claims) == {"id": "li.office", "role": "community_admin", "grid": None,
                                       "account": "li.office"}
    resident = domain.actor_of({"sub": "wang", "role": "resident", "person_id": "R-000007",
                                "resident_id": "R-000007"})
    assert resident["id"] == "R-000007" and resident["resident_id"] == "R-000007"


def test_edge_check_refuses_other_grids_and_hides_others_records():
    worker = {"id": "ST-1", "role": "grid_worker", "grid": "G1"}
    domain.edge_check(domain.OWN_GRID, worker, grid="G1")
    domain.edge_check(domain.OWN_GRID, worker, grid=None)
    with pytest.raises(Forbidden):
        domain.edge_check(domain.OWN_GRID, worker, grid="G2")
    with pytest.raises(Forbidden):
        domain.edge_check(None, worker)
    resident = {"id": "R-1", "role": "resident", "resident_id": "R-1"}
    domain.edge_check(domain.OWN, resident, owner="R-1")
    with pytest.raises(NotFound):
        domain.edge_check(domain.OWN, resident, owner="R-2")


def test_lockout_after_the_configured_failures_until_the_wait_is_over():
    lockout = domain.Lockout(attempts=3, minutes=15)
    lockout.check(2, NOW, NOW)
    with pytest.raises(domain.TooManyAttempts) as locked:
        lockout.check(3, NOW, NOW + timedelta(minutes=1))
    assert locked.value.retry_after == 14 * 60 + 1
    lockout.check(3, NOW, NOW + timedelta(minutes=15))


def test_account_shape():
    domain.check_account("wang.g1", "long enough pw", "grid_worker", "G1")
    with pytest.raises(InvalidInput) as bad:
        domain.check_account("W", "short", "superuser", None)
    assert set(bad.value.fields) == {"username", "password", "role"}


@pytest.mark.parametrize("exc, status, code", [
    (InvalidInput("bad", {"name": ["blank"]}), 422, "invalid_input"),
    (domain.malformed("not JSON"), 400, "malformed_request"),
    (Forbidden("no"), 403, "forbidden"),
    (NotFound("no"), 404, "not_found"),
    (Conflict("no"), 409, "conflict"),
    (domain.Unauthenticated("no"), 401, "unauthenticated"),
    (RemoteError("TypeError", "unhashable type: 'dict' at line 3"), 500, "internal_error"),
    (ZeroDivisionError("division by zero"), 500, "internal_error"),
])
def test_one_error_shape_for_every_outcome(exc, status, code):
    got_status, body = web.error_body(exc, "cid-1")
    assert got_status == status
    assert body == {"error": {"code": code, "message": body["error"]["message"],
                              "fields": body["error"]["fields"], "correlation_id": "cid-1"}}
    if status == 500:  # never what went wrong inside: that is in the log, under the id
        assert "dict" not in body["error"]["message"] and "division" not in body["error"]["message"]
        assert "cid-1" in body["error"]["message"]
