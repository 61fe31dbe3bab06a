"""Fixtures for the registry on real RabbitMQ and the MongoDB-compatible server."""

import pytest

from services.registry.service import RegistryService
from shared.outbox import envelopes_of
from tests.integration.registry.helpers import GRIDS


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
