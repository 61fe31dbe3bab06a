# eventlet must patch socket/threading before anything imports them (nameko 2.x runs on it).
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # eventlet announces its own deprecation
import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

import shared  # noqa: E402,F401 -- clients stamp the AMQP user_id the services check (shared/amqp.py)
from tests.support import wait_until  # noqa: E402,F401

MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false")


@pytest.fixture(scope="session")
def mongo_client():
    from pymongo import MongoClient

    client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    client.admin.command("ping")
    yield client
    client.close()


# `make test` runs the suite on a disposable server, so nothing needs dropping; and SecantusDB's
# dropDatabase was seen to spin forever holding its global lock, wedging the server. Drop only
# when asked (TEST_DB_DROP=1, e.g. against a real mongod that outlives the run).
DROP_AFTER = os.environ.get("TEST_DB_DROP") == "1"


@pytest.fixture
def db_prefix(mongo_client):
    """A database prefix private to one test."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    if DROP_AFTER:
        for name in mongo_client.list_database_names():
            if name.startswith(prefix):
                mongo_client.drop_database(name)


@pytest.fixture
def config(rabbit_config, db_prefix):
    """nameko config for one test: its own RabbitMQ vhost and its own databases."""
    return {
        **rabbit_config,
        "MONGO_URI": MONGO_URI,
        "MONGO_DB_PREFIX": db_prefix,
        "EVENT_RETRY": {"schedule_ms": [100, 200]},
        "OUTBOX_POLL_SECONDS": 0.2,
        "max_workers": 10,
    }


@pytest.fixture
def as_actor(config):
    """`as_actor({"id": ..., "role": ..., "grid": ...}).grid_events.rate(...)`: a real standalone
    RPC client calling as that actor (one client per call of it; all stopped afterwards)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    proxies = []

    def connect(actor):
        proxy = ClusterRpcProxy(config, context_data={"actor": actor})
        proxies.append(proxy)
        return proxy.start()

    yield connect
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def rpc(as_actor):
    """`rpc("registry").get_resident(...)`, as an admin."""
    cluster = as_actor({"id": "test", "role": "community_admin"})
    return lambda service: getattr(cluster, service)


@pytest.fixture
def frozen_clock():
    from datetime import UTC, datetime

    from shared import clock

    frozen = clock.FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    clock.set_clock(frozen)
    yield frozen
    clock.set_clock(None)
