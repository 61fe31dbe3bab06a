"""grid_events with the registry, in one runner, on real RabbitMQ and the MongoDB-compatible server.

`community` builds a small real community through the registry's RPCs: three grids, their staff,
and helpers to add households, residents and party members."""

import itertools
from collections import defaultdict
from datetime import date

import pytest
from nameko.events import event_handler as nameko_event_handler
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import get_container

from services.grid_events.service import GridEventsService
from services.registry.service import RegistryService
from shared import events
from tests.support import wait_until

_ids = itertools.count(1)


def id_number(birth=date(1980, 5, 17), district="110105"):
    from stdnum.cn import ric

    body = f"{district}{birth:%Y%m%d}{next(_ids) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it skips the last character


RECEIVED = defaultdict(list)  # payloads of each event type, in arrival order
CAUSES = defaultdict(list)  # (payload, causation_id) of each, the same order


def _recorder():
    """A service that hears every grid_events event as a consumer would, off RabbitMQ."""
    attrs = {"name": "grid_events_recorder"}
    for spec in events.all_specs():
        if spec.source != "grid_events":
            continue

        def record(self, body, _type=spec.type):
            RECEIVED[_type].append(body["payload"])
            CAUSES[_type].append((body["payload"], body.get("causation_id")))

        attrs[f"on_{spec.name}"] = nameko_event_handler("grid_events", spec.name)(record)
    return type("GridEventsRecorder", (), attrs)


Recorder = _recorder()


@pytest.fixture
def services(runner_factory, config):
    RECEIVED.clear()
    CAUSES.clear()
    runner = runner_factory(config, GridEventsService, RegistryService, Recorder)
    runner.start()
    return runner


@pytest.fixture
def tick(services):
    """Run the deadline timer once, now (time comes from frozen_clock)."""
    container = get_container(services, GridEventsService)

    def run():
        with entrypoint_hook(container, "tick") as hook:
            return hook()

    return run


@pytest.fixture
def gdb(config, mongo_client):
    return mongo_client[f"{config['MONGO_DB_PREFIX']}grid_events"]


@pytest.fixture
def emitted(services):
    """Payloads of one grid_events event type as published on RabbitMQ, in arrival order;
    waits until at least `count` have arrived (count=0: what has arrived so far)."""
    def of(event_type, count=1):
        if count:
            wait_until(lambda: len(RECEIVED[event_type]) >= count, message=f"{count} x {event_type}")
        return list(RECEIVED[event_type])

    return of


class Community:
    def __init__(self, registry):
        self.registry = registry
        registry.define_grid({"code": "G1", "name": "阳光一格", "buildings": ["B1", "B2"]})
        registry.define_grid({"code": "G2", "name": "阳光二格", "buildings": ["B3"]})
        registry.define_grid({"code": "G3", "name": "夜市格", "buildings": ["B9"]})  # no grid worker yet
        self.worker1 = self.staff("G1", "grid_worker", "王网格")
        self.secretary1 = self.staff("G1", "branch_secretary", "李书记")
        self.worker2 = self.staff("G2", "grid_worker", "张网格")
        self.office = self.staff(None, "community_office", "社区办")
        self.street = self.staff(None, "street_office", "街道办")
        self.police = self.staff(None, "police_desk", "警务室")

    def staff(self, grid_code, role, name):
        phone = f"1380013{next(_ids) % 10000:04d}"
        return self.registry.assign_grid_staff({"grid_code": grid_code, "role": role, "name": name,
                                                "phone": phone})["staff_id"]

    def household(self, building, room, unit="1", kind="owner"):
        return self.registry.register_household({"building": building, "unit": unit, "room": room,
                                                 "kind": kind})["household_id"]

    def resident(self, household_id, name="居民"):
        return self.registry.register_resident({
            "name": name, "id_number": id_number(), "phone": None, "household_id": household_id,
            "residence_type": "registered"})["resident_id"]


@pytest.fixture
def community(services, rpc):
    return Community(rpc("registry"))
