"""Fixtures for the registry on real RabbitMQ and the MongoDB-compatible server."""

import pytest

from services.registry.service import RegistryService
from shared.outbox import envelopes_of
from tests.integration.registry.helpers import GRIDS, id_number


@pytest.fixture
def registry_db(config, mongo_client):
    return mongo_client[f"{config['MONGO_DB_PREFIX']}registry"]


@pytest.fixture
def quiet_config(config):
    """The registry with its outbox relay off: what it emits stays in its outbox for the test to
    read (the relay deletes what it publishes). test_published.py covers the relay end to end."""
    return {**config, "OUTBOX_RELAY": False}


@pytest.fixture
def registry(runner_factory, quiet_config):
    runner = runner_factory(quiet_config, RegistryService)
    runner.start()
    return runner


@pytest.fixture
def reg(registry, rpc):
    """The registry over RPC, as the admin (the `rpc` fixture's actor)."""
    return rpc("registry")


@pytest.fixture
def grids(reg):
    for grid in GRIDS:
        reg.define_grid(grid)
    return GRIDS


def outbox(db, type_=None):
    """Envelopes the registry committed, in order (optionally of one event type)."""
    envelopes = [e for d in db.outbox.find().sort("_id", 1) for e in envelopes_of(d)]
    return [e for e in envelopes if type_ is None or e["type"] == type_]


@pytest.fixture
def known(reg, grids):
    """One of each record bad-input and fuzz tests name: a household, a resident, a shareholder."""
    household = reg.register_household({"building": "B21", "room": "101", "kind": "owner"})["household_id"]
    resident = reg.register_resident({"name": "陈", "id_number": id_number(), "household_id": household,
                                      "residence_type": "registered"})["resident_id"]
    shareholder = reg.enroll_shareholder({"resident_id": resident, "group": "第1组", "shares": 1})
    return {"household": household, "resident": resident, "shareholder": shareholder["shareholder_id"]}
