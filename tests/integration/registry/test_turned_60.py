"""`registry.resident_turned_60`: once per person, also across a restart and with two instances."""

import eventlet
from nameko.testing.services import entrypoint_hook

from services.registry.service import RegistryService
from shared.events import parse
from tests.integration.registry.conftest import GRIDS, outbox
from tests.integration.registry.helpers import id_number


def run_timer(container):
    with entrypoint_hook(container, "daily_turned_60") as hook:
        hook()


def announced(db):
    return [parse(e).payload["resident_id"] for e in outbox(db, "registry.resident_turned_60")]


def test_turned_60_once_per_person_with_two_instances_and_a_restart(container_factory, quiet_config, rpc,
                                                                    registry_db, frozen_clock):
    config = quiet_config
    # frozen clock: 2026-11-02 09:00 UTC = 17:00 in the community
    first = container_factory(RegistryService, config)
    second = container_factory(RegistryService, config)
    first.start()
    second.start()
    reg = rpc("registry")
    for grid in GRIDS:
        reg.define_grid(grid)
    household = reg.register_household({"building": "B21", "room": "101", "kind": "owner"})["household_id"]

    def person(birth, seq):
        return {"name": f"居民{seq}", "id_number": id_number(birth, seq), "household_id": household,
                "residence_type": "registered"}

    # 20 people turned 60 in the last few days, one turns 60 tomorrow, one long ago, one died
    births = [f"196610{d:02d}" for d in range(13, 31)] + ["19661101", "19661102"]
    ids = reg.import_residents([person(b, 100 + n) for n, b in enumerate(births)]
                               + [person("19661103", 300), person("19500101", 301), person("19661030", 302)])
    tomorrow, old, dead = ids[-3:]
    reg.record_death({"resident_id": dead, "died_on": "2026-11-01"})

    # both instances run the daily check at the same moment
    pool = eventlet.GreenPool()
    for container in (first, second, first, second):
        pool.spawn(run_timer, container)
    pool.waitall()

    assert sorted(announced(registry_db)) == sorted(ids[:20])
    [event] = [parse(e) for e in outbox(registry_db, "registry.resident_turned_60")
               if e["payload"]["resident_id"] == ids[-4]]
    assert str(event.payload["birth_date"]) == "1966-11-02" and event.payload["grid_code"] == "G3"

    # a restart: a fresh instance runs the check again and announces nobody twice
    first.stop()
    third = container_factory(RegistryService, config)
    third.start()
    run_timer(third)
    assert sorted(announced(registry_db)) == sorted(ids[:20])

    # the next day the one born on 1966-11-03 turns 60, and only they are announced
    frozen_clock.advance(days=1)
    run_timer(second)
    run_timer(third)
    assert announced(registry_db)[20:] == [tomorrow]
    assert old not in announced(registry_db) and dead not in announced(registry_db)
    assert registry_db.milestones.count_documents({}) == 21
