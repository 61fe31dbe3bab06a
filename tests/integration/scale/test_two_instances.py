"""Two instances of every service, as `make run SCALE=2` runs them: competing consumers on the same
queues, one outbox relay publishing at a time, each timer's work done by one instance per tick."""

import time

import pytest

from tests.integration.kit_services import OrdersService, ShippingService
from tests.integration.scale.ticking import instance_of
from tests.support import wait_until

ORDERS = 60
TICK = 0.3


@pytest.fixture
def two_of_each(config, container_factory):
    containers = [container_factory(cls, config) for cls in
                  (OrdersService, OrdersService, ShippingService, ShippingService)]
    for container in containers:
        container.start()
    return containers


def test_each_event_applied_once_with_two_producers_and_two_consumers(two_of_each, as_actor, mongo_client,
                                                                      config):
    shipping = mongo_client[config["MONGO_DB_PREFIX"] + "kit_shipping"]
    orders = as_actor({"id": "test", "role": "community_admin"}).kit_orders
    calls = [orders.place_order.call_async({"order_id": f"T-{n}", "amount_fen": n + 1})
             for n in range(ORDERS)]
    for call in calls:
        call.result()

    wait_until(lambda: shipping.shipments.count_documents({}) >= ORDERS, timeout=60,
               message="every order shipped")
    time.sleep(1)  # a duplicate would land now
    # shipments has no unique index: an event applied twice would leave two documents
    assert shipping.shipments.count_documents({}) == ORDERS
    assert len(shipping.shipments.distinct("order_id")) == ORDERS
    assert shipping.processed_events.count_documents({}) == ORDERS


def test_each_timer_tick_runs_in_one_instance_and_a_peer_takes_over_after_a_stop(
        config, container_factory, mongo_client):
    config = {**config, "KIT_TICKING": {"tick_seconds": TICK}}
    ticks = mongo_client[config["MONGO_DB_PREFIX"] + "kit_ticking"].ticks
    first, second = (container_factory(instance_of(tag), config) for tag in ("a", "b"))
    first.start()
    second.start()

    wait_until(lambda: ticks.count_documents({}) >= 8, timeout=30, message="eight ticks")
    runs = list(ticks.find().sort("_id", 1))
    holders = {run["instance"] for run in runs}
    assert len(holders) == 1, "two instances ran the same timer"  # both tick; one does the work

    holder = first if holders == {"a"} else second
    holder.stop()  # a clean stop releases the lease: the peer takes the next tick
    other = "b" if holders == {"a"} else "a"
    wait_until(lambda: ticks.count_documents({"instance": other}) >= 3, timeout=30,
               message="the peer instance running the timer")


def test_each_instance_writes_its_own_health_report_for_its_probes(config, container_factory, tmp_path):
    from deploy import healthcheck

    path = tmp_path / "health.json"
    container = container_factory(OrdersService, {**config, "HEALTH_FILE": str(path),
                                                  "HEALTH_FILE_SECONDS": 0.2})
    assert healthcheck.main(["kit_orders", "--file", str(path), "--alive", "--quiet"]) == 1  # not yet
    container.start()
    wait_until(path.exists, timeout=10, message="the health file")
    assert healthcheck.main(["kit_orders", "--file", str(path), "--quiet"]) == 0  # ready
    assert healthcheck.main(["kit_orders", "--file", str(path), "--alive", "--quiet"]) == 0
    container.stop()
    time.sleep(0.3)
    assert healthcheck.main(["kit_orders", "--file", str(path), "--alive", "--max-age", "0.2",
                             "--quiet"]) == 1  # stale: the process stopped writing
