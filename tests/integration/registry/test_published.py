"""End to end: the registry's events leave through the outbox relay and reach a real consumer once."""

from services.registry.service import RegistryService
from shared.handlers import event_handler
from shared.mongo import Mongo
from tests.integration.registry.helpers import GRIDS, id_number
from tests.support import wait_until


class RegistryWatcher:
    """Another service, learning about people only from the registry's events."""

    name = "registry_watcher"
    db = Mongo()

    @event_handler("registry", "resident_registered")
    def on_resident(self, event):
        with self.db.transaction() as tx:
            tx.seen.insert_one({"event_id": event.event_id, "type": event.type,
                                "resident_id": event.payload["resident_id"],
                                "phone": event.payload["phone"]})

    @event_handler("registry", "household_registered")
    def on_household(self, event):
        with self.db.transaction() as tx:
            tx.seen.insert_one({"event_id": event.event_id, "type": event.type,
                                "household_id": event.payload["household_id"]})


def test_events_are_published_once_to_a_real_consumer(runner_factory, config, rpc, mongo_client):
    runner_factory(config, RegistryService, RegistryWatcher).start()
    reg = rpc("registry")
    for grid in GRIDS:
        reg.define_grid(grid)
    household = reg.register_household({"building": "B11", "room": "101", "kind": "owner"})["household_id"]
    ids = reg.import_residents([{"name": f"居民{n}", "id_number": id_number("19850101", n),
                                 "phone": "13812345678", "household_id": household,
                                 "residence_type": "registered"} for n in range(40)])

    watcher = mongo_client[f"{config['MONGO_DB_PREFIX']}registry_watcher"]
    registry_db = mongo_client[f"{config['MONGO_DB_PREFIX']}registry"]
    registered = {"type": "registry.resident_registered"}
    wait_until(lambda: watcher.seen.count_documents(registered) == 40, timeout=20)
    wait_until(lambda: registry_db.outbox.count_documents({}) == 0, message="the outbox drained")
    seen = list(watcher.seen.find(registered))
    assert sorted(s["resident_id"] for s in seen) == sorted(ids)
    assert len({s["event_id"] for s in seen}) == 40 and seen[0]["phone"] == "13812345678"
    households = watcher.seen.find({"type": "registry.household_registered"})
    assert [s["household_id"] for s in households] == [household]
