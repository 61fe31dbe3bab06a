"""The kit on real RabbitMQ and a real MongoDB-compatible server, through three small services."""

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from deploy import queues
from shared.access import system_actor
from shared.amqp import ConfirmedPublisher
from shared.errors import InvalidInput
from shared.events import envelope
from tests.integration import kit_services
from tests.integration.kit_services import BillingService, OrdersService, ShippingService
from tests.support import queue_depth, wait_until

SHIP_QUEUE = "evt-kit_orders-order_placed--kit_shipping.ship"

SYSTEM_CALLER = system_actor("tests")  # the kit refuses a call without an actor


@pytest.fixture
def services(runner_factory, config):
    runner = runner_factory(config, OrdersService, BillingService, ShippingService)
    runner.start()
    yield runner
    kit_services.FAILING_ORDERS.clear()


@pytest.fixture
def dbs(config, mongo_client):
    prefix = config["MONGO_DB_PREFIX"]
    return lambda service: mongo_client[f"{prefix}{service}"]


def test_command_commits_state_and_its_event_fans_out_to_two_services(services, rpc, dbs):
    result = rpc("kit_orders").place_order({"order_id": "A-1", "amount_fen": 1250})

    assert dbs("kit_orders").orders.count_documents({"order_id": "A-1"}) == 1
    invoice = wait_until(lambda: dbs("kit_billing").invoices.find_one({"order_id": "A-1"}))
    wait_until(lambda: dbs("kit_shipping").shipments.find_one({"order_id": "A-1"}))
    # the correlation id of the RPC call travels with the event it caused
    assert invoice["correlation_id"] == result["correlation_id"]
    wait_until(lambda: dbs("kit_orders").outbox.count_documents({"status": "pending"}) == 0)


def test_correlation_id_given_by_the_caller_is_kept(services, config, dbs):
    context = {"correlation_id": "req-42", "actor": SYSTEM_CALLER}
    with ClusterRpcProxy(config, context_data=context) as cluster:
        cluster.kit_orders.place_order({"order_id": "C-1", "amount_fen": 1})
    invoice = wait_until(lambda: dbs("kit_billing").invoices.find_one({"order_id": "C-1"}))
    assert invoice["correlation_id"] == "req-42"


def test_invalid_payload_is_refused_with_field_errors_and_nothing_written(services, rpc, dbs):
    with pytest.raises(InvalidInput) as refused:
        rpc("kit_orders").place_order({"order_id": "", "amount_fen": "12.5"})

    assert set(refused.value.fields) == {"order_id", "amount_fen"}
    assert refused.value.code == "invalid_input"
    assert dbs("kit_orders").orders.count_documents({}) == 0
    assert dbs("kit_orders").outbox.count_documents({}) == 0


def test_an_event_that_fails_its_schema_rolls_back_the_whole_command(services, rpc, dbs):
    with pytest.raises(Exception, match="invalid"):
        rpc("kit_orders").place_order_with_bad_event("B-1")

    assert dbs("kit_orders").orders.count_documents({}) == 0
    assert dbs("kit_orders").outbox.count_documents({}) == 0


def _publish(config, env):
    publisher = ConfirmedPublisher(config["AMQP_URI"])
    try:
        publisher.publish_batch([("kit_orders.events", env["type"].split(".")[1], env,
                                  {"nameko.correlation_id": env["correlation_id"]})])
    finally:
        publisher.close()


def _order_event(order_id, amount_fen):
    from datetime import UTC, datetime

    return envelope("kit_orders.order_placed", {"order_id": order_id, "amount_fen": amount_fen},
                    source="kit_orders", correlation_id="c-1", occurred_at=datetime.now(UTC))


def test_a_redelivered_event_is_applied_once(services, config, dbs):
    env = _order_event("D-1", 700)
    _publish(config, env)
    _publish(config, env)  # the same event_id again, as a redelivery would bring it
    _publish(config, _order_event("D-2", 1))  # a later event: once it is billed, D-1's copy was too

    wait_until(lambda: dbs("kit_billing").invoices.find_one({"order_id": "D-2"}))
    wait_until(lambda: queue_depth(config, "evt-kit_orders-order_placed--kit_billing.bill") == 0)
    assert dbs("kit_billing").invoices.count_documents({"order_id": "D-1"}) == 1
    assert dbs("kit_billing").totals.find_one({"_id": "billed"})["fen"] == 701


def test_a_failing_handler_retries_then_dead_letters_and_replay_applies_it(services, rpc, config,
                                                                          dbs):
    kit_services.FAILING_ORDERS.add("E-1")
    rpc("kit_orders").place_order({"order_id": "E-1", "amount_fen": 300})

    # billing is unaffected by shipping's trouble
    wait_until(lambda: dbs("kit_billing").invoices.find_one({"order_id": "E-1"}))
    wait_until(lambda: queue_depth(config, "kit_shipping.dlq") == 1, timeout=15)
    api = queues.ManagementApi("http://guest:guest@127.0.0.1:15672")
    vhost = queues._vhost(config["AMQP_URI"])
    [dead] = wait_until(lambda: queues.dead_letters(api, vhost, "kit_shipping"))
    assert dead["queue"] == SHIP_QUEUE
    assert dead["event_type"] == "kit_orders.order_placed"
    assert dead["attempts"] == 3  # the first delivery and two retries
    assert dead["error_type"] == "RuntimeError" and "no courier for E-1" in dead["error"]
    assert dbs("kit_shipping").shipments.count_documents({}) == 0
    health = rpc("kit_shipping").health()
    assert health["dlq_depth"] == 1 and health["status"] == "degraded"

    kit_services.FAILING_ORDERS.clear()  # the fix
    assert queues.replay(config["AMQP_URI"], "kit_shipping") == 1

    wait_until(lambda: dbs("kit_shipping").shipments.find_one({"order_id": "E-1"}))
    assert queue_depth(config, "kit_shipping.dlq") == 0


def test_an_invalid_event_is_dead_lettered_at_once_with_its_reason(services, config, dbs):
    env = _order_event("F-1", 5)
    env["payload"]["amount_fen"] = "five"
    _publish(config, env)
    unknown = _order_event("F-2", 5)
    unknown["version"] = 9
    _publish(config, unknown)

    wait_until(lambda: queue_depth(config, "kit_billing.dlq") == 4)  # two events, two handlers
    api = queues.ManagementApi("http://guest:guest@127.0.0.1:15672")
    dead = queues.dead_letters(api, queues._vhost(config["AMQP_URI"]), "kit_billing")
    reasons = sorted(d["error"] for d in dead)
    assert "amount_fen" in reasons[0] and "amount_fen" in reasons[1]
    assert "version 9" in reasons[2] and "version 9" in reasons[3]
    assert {d["queue"] for d in dead} == {"evt-kit_orders-order_placed--kit_billing.bill",
                                          "evt-kit_orders-order_placed--kit_billing.tally"}
    assert all(d["attempts"] == 1 and d["error_type"] == "InvalidEvent" for d in dead)
    assert dbs("kit_billing").invoices.count_documents({}) == 0


def test_health_reports_broker_database_backlog_and_dead_letters(services, rpc):
    report = rpc("kit_orders").health()
    assert report["service"] == "kit_orders"
    assert report["broker"] is True and report["database"] is True
    assert report["outbox_backlog"] == 0 and report["dlq_depth"] == 0
    assert report["status"] == "ok"


def test_a_read_decide_write_command_that_loses_a_write_conflict_runs_again(services, config, dbs):
    def count_order():
        with ClusterRpcProxy(config, context_data={"actor": SYSTEM_CALLER}) as cluster:  # one per greenthread
            return cluster.kit_orders.count_order()

    callers = [eventlet.spawn(count_order) for _ in range(5)]
    results = sorted(caller.wait() for caller in callers)

    # five concurrent read-modify-write commands on one document: none lost, none failed
    assert results == [1, 2, 3, 4, 5]
    assert dbs("kit_orders").counters.find_one({"_id": "orders"})["n"] == 5


def test_concurrent_events_rerun_after_conflicts_are_still_applied_exactly_once(services, config, dbs):
    events = [_order_event(f"T-{n}", 1) for n in range(6)]
    publisher = ConfirmedPublisher(config["AMQP_URI"])
    try:
        for _ in range(2):  # every event twice: the second round must change nothing
            publisher.publish_batch([("kit_orders.events", "order_placed", env, {}) for env in events])
    finally:
        publisher.close()

    tallies = dbs("kit_billing").tallies
    wait_until(lambda: (tallies.find_one({"_id": "orders"}) or {}).get("n") == 6)
    wait_until(lambda: queue_depth(config, "evt-kit_orders-order_placed--kit_billing.tally") == 0)
    claims = dbs("kit_billing").processed_events
    wait_until(lambda: claims.count_documents({"_id": {"$regex": ":tally$"}}) == 6)
    assert tallies.find_one({"_id": "orders"})["n"] == 6
