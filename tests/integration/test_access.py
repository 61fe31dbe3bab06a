"""The kit enforces a service's access policy on every RPC, before any worker runs."""

import pytest

from shared.access import ALL, ANYONE, COMMUNITY_ADMIN, GRID_WORKER, OWN_GRID, Policy, system_actor
from shared.context import RequestContext
from shared.errors import Forbidden, NotFound
from shared.rpc import rpc

RECORDS = {"A": "G1", "B": "G3"}


class GuardedService:
    name = "kit_guarded"
    policy = Policy({
        "get_record": {COMMUNITY_ADMIN: ALL, GRID_WORKER: OWN_GRID, "system": ALL},
        "health": ANYONE,
    })
    ctx = RequestContext()
    calls = []

    @rpc
    def get_record(self, record_id):
        GuardedService.calls.append(record_id)
        grid = RECORDS[record_id]
        self.ctx.grant.check(grid=grid, what="record", ref=record_id)
        return {"id": record_id, "grid": grid}

    @rpc
    def health(self):
        return {"ok": True}


class UnguardedRpcService:
    name = "kit_unguarded"
    policy = Policy({"health": ANYONE})

    @rpc
    def health(self):
        return {}

    @rpc
    def forgotten(self):
        return {}


@pytest.fixture
def guarded(container_factory, config):
    GuardedService.calls = []
    container = container_factory(GuardedService, config)
    container.start()
    return container


def test_a_call_without_an_actor_is_refused_before_any_worker_runs(guarded, as_actor):
    with pytest.raises(Forbidden):
        as_actor(None).kit_guarded.get_record("A")
    with pytest.raises(Forbidden):
        as_actor({"id": "X", "role": "superuser"}).kit_guarded.get_record("A")
    with pytest.raises(Forbidden):
        as_actor({"id": "R1", "role": "resident", "grid": "G1"}).kit_guarded.get_record("A")
    assert GuardedService.calls == []


def test_allowed_roles_see_what_their_grant_covers(guarded, as_actor):
    assert as_actor({"id": "S1", "role": "community_admin"}).kit_guarded.get_record("B")["grid"] == "G3"
    assert as_actor(system_actor("grid_events")).kit_guarded.get_record("A")["grid"] == "G1"
    worker = as_actor({"id": "S2", "role": "grid_worker", "grid": "G3"}).kit_guarded
    assert worker.get_record("B") == {"id": "B", "grid": "G3"}
    with pytest.raises(NotFound):
        worker.get_record("A")


def test_a_service_with_an_rpc_missing_from_its_policy_does_not_start(container_factory, config):
    container = container_factory(UnguardedRpcService, config)
    with pytest.raises(RuntimeError, match="forgotten"):
        container.start()


