"""Commands are idempotent in the kit: the same request id gets the first answer, once applied."""

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import Conflict
from tests.integration.kit_services import BillingService, OrdersService
from tests.support import wait_until

ADMIN = {"id": "test", "role": "community_admin"}


@pytest.fixture
def services(runner_factory, config):
    runner = runner_factory(config, OrdersService, BillingService)
    runner.start()


@pytest.fixture
def call(config):
    """`call("kit_orders", "place_order", payload, request_id=...)` with a fresh client each time."""

    def call(service, method, *args, request_id=None):
        context = {"actor": ADMIN, **({"request_id": request_id} if request_id else {})}
        with ClusterRpcProxy(config, context_data=context) as cluster:
            return getattr(getattr(cluster, service), method)(*args)

    return call


@pytest.fixture
def db(config, mongo_client):
    return lambda service: mongo_client[f"{config['MONGO_DB_PREFIX']}{service}"]


def test_a_repeated_command_returns_its_first_result_and_applies_once(services, call, db):
    first = call("kit_orders", "place_order", {"order_id": "I-1", "amount_fen": 100}, request_id="key-1")
    # the repeat runs again and is refused by the state the first left ("already exists"):
    # the kit answers with the stored first result instead, as after a crash before the reply
    again = call("kit_orders", "place_order", {"order_id": "I-1", "amount_fen": 100}, request_id="key-1")

    assert again == first  # the same correlation id too: the first run's answer, not a new one
    assert db("kit_orders").orders.count_documents({"order_id": "I-1"}) == 1
    wait_until(lambda: db("kit_billing").invoices.count_documents({"order_id": "I-1"}) == 1)
    record = db("kit_orders").requests.find_one({"_id": "test:key-1"})
    assert record["state"] == "done" and record["method"] == "place_order"


def test_a_repeat_of_a_command_that_succeeds_again_is_not_applied_again(services, call, db):
    first = call("kit_orders", "count_order", request_id="count-1")
    again = call("kit_orders", "count_order", request_id="count-1")
    other = call("kit_orders", "count_order", request_id="count-2")

    assert (first, again, other) == (1, 1, 2)
    assert db("kit_orders").counters.find_one({"_id": "orders"})["n"] == 2


def test_the_same_request_id_with_another_body_is_refused(services, call, db):
    call("kit_orders", "place_order", {"order_id": "I-2", "amount_fen": 100}, request_id="key-2")
    with pytest.raises(Conflict) as refused:
        call("kit_orders", "place_order", {"order_id": "I-3", "amount_fen": 100}, request_id="key-2")

    assert refused.value.fields == {"request_id": ["already used"]}
    assert db("kit_orders").orders.count_documents({"order_id": "I-3"}) == 0


def test_without_a_request_id_each_call_is_its_own_command_and_queries_store_nothing(services, call, db):
    assert call("kit_orders", "count_order") == 1
    assert call("kit_orders", "count_order") == 2
    call("kit_orders", "health")

    methods = sorted(r["method"] for r in db("kit_orders").requests.find())
    assert methods == ["count_order", "count_order"]  # derived ids, one per message; no query
