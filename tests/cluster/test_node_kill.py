"""One RabbitMQ node of three is killed mid-burst: nothing is lost, nothing applied twice, and the
consumers carry on from the surviving nodes.

Two instances of the consumer compete on the quorum queue; everyone (producer, consumers, the
RPC client) is connected to s1 — the first address of the list — when s1 is SIGKILLed, so every
connection fails over and every quorum queue led from s1 elects a new leader."""

import time

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.access import ANYONE, Policy, system_actor
from shared.rpc import rpc
from tests.cluster.conftest import kill_node, management
from tests.integration.kit_services import OrdersService, ShippingService
from tests.support import wait_until

BEFORE, AFTER = 2000, 100
QUEUE = "evt-kit_orders-order_placed--kit_shipping.ship"


class BulkOrdersService(OrdersService):
    """kit_orders with a bulk command: a whole burst in one transaction, so the relay publishes it
    at once and the consumers lag behind it (RPCs one by one would pace the burst instead)."""

    policy = Policy({**OrdersService.policy.rows, "place_orders": ANYONE})

    @rpc
    def place_orders(self, payload):
        orders = [{"order_id": f"O-{n}", "amount_fen": n + 1}
                  for n in range(payload["first"], payload["first"] + payload["count"])]
        with self.db.transaction() as tx:
            tx.orders.insert_many([dict(order) for order in orders])
            tx.emit_many("kit_orders.order_placed", orders)
        return len(orders)


def place(config, first, count, in_flight=25):
    """Place orders `first`.. with `in_flight` calls at a time: a burst the consumers lag behind."""
    with ClusterRpcProxy(config, timeout=60, context_data={"actor": system_actor("tests")}) as cluster:
        for start in range(first, first + count, in_flight):
            calls = [cluster.kit_orders.place_order.call_async({"order_id": f"O-{n}", "amount_fen": n + 1})
                     for n in range(start, min(start + in_flight, first + count))]
            for call in calls:
                call.result()


@pytest.mark.timeout(900)
def test_a_node_killed_mid_burst_loses_nothing_and_applies_nothing_twice(
        cluster_config, cluster_vhost, container_factory, mongo_client):
    config = cluster_config
    shipping = mongo_client[config["MONGO_DB_PREFIX"] + "kit_shipping"].shipments
    orders = container_factory(BulkOrdersService, config)
    consumers = [container_factory(ShippingService, config) for _ in range(2)]
    for container in (orders, *consumers):
        container.start()
    queue = management(2, "GET", f"/queues/{cluster_vhost}/{QUEUE}")
    assert queue["type"] == "quorum"

    started = time.monotonic()
    with ClusterRpcProxy(config, timeout=60, context_data={"actor": system_actor("tests")}) as cluster:
        cluster.kit_orders.place_orders({"first": 0, "count": BEFORE})
    print(f'placed {BEFORE} in {time.monotonic() - started:.1f} s')
    # mid-burst: some applied, the rest still in the queue or on its way
    wait_until(lambda: shipping.count_documents({}) >= BEFORE // 4, timeout=60,
               message="a quarter of the burst applied")
    applied_before_kill = shipping.count_documents({})
    kill_node(1)
    print(f'killed at {time.monotonic() - started:.1f} s with {applied_before_kill} applied')
    assert applied_before_kill < BEFORE, "the burst was over before the kill: nothing was tested"

    place(config, BEFORE, AFTER)  # producers and callers fail over too
    print(f'placed after the kill at {time.monotonic() - started:.1f} s')
    total = BEFORE + AFTER
    wait_until(lambda: shipping.count_documents({}) >= total, timeout=120,
               interval=0.5, message="every order shipped after the kill")
    print(f'all applied at {time.monotonic() - started:.1f} s')
    eventlet.sleep(2)  # any redelivered duplicate would land now

    # no unique index on shipments: an event applied twice would leave two documents
    assert shipping.count_documents({}) == total
    assert len(shipping.distinct("order_id")) == total

    queue = management(2, "GET", f"/queues/{cluster_vhost}/{QUEUE}")
    assert queue["consumers"] == 2  # both instances consume again, from s2/s3
    assert queue["leader"] != "s1@localhost"
