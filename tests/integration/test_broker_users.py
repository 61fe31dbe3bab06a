"""The broker as the inner boundary, on the real RabbitMQ: every account but the platform's own is
refused an actor, a service's account may present only its own system actor and the gateway's
alone a person's, a message cannot claim another account than its connection's, and a service's
account reaches only its own queues.

Accounts made here are named `brokertest-<random>-...`, hold permissions on the test's own vhost
only, and are deleted afterwards (the broker is shared; guest is never touched)."""

import logging
import uuid

import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from deploy import queues
from deploy.broker import accounts, event_sources, platform_services, service_account, service_class
from shared.access import ALL, COMMUNITY_ADMIN, SYSTEM, Policy, system_actor
from shared.amqp import connection_user
from shared.context import RequestContext
from shared.errors import Forbidden
from shared.rpc import rpc
from tests.integration import kit_services
from tests.integration.kit_services import BillingService, OrdersService, ShippingService
from tests.support import queue_depth, wait_until


class EchoService:
    name = "kit_echo"
    policy = Policy({"whoami": {SYSTEM: ALL, COMMUNITY_ADMIN: ALL}, "health": {SYSTEM: ALL}})
    ctx = RequestContext()
    calls = []

    @rpc
    def whoami(self):
        EchoService.calls.append(self.ctx.actor)
        return self.ctx.actor

    @rpc
    def health(self):
        return {"broker": True, "database": True, "asked_by": self.ctx.actor}


@pytest.fixture
def broker_account(rabbit_manager, rabbit_config):
    """`broker_account("name", configure, write, read)` -> an AMQP URI of a new account with those
    permissions on the test's vhost (deleted afterwards), named `broker_account.prefix + name`."""
    made = []
    tag = uuid.uuid4().hex[:8]

    def make(name, configure=".*", write=".*", read=".*"):
        user, password = f"brokertest-{tag}-{name}", uuid.uuid4().hex
        rabbit_manager._put("users", user, json={"password": password, "tags": ""})
        made.append(user)
        rabbit_manager.set_vhost_permissions(rabbit_config["vhost"], user, configure, read, write)
        return f"pyamqp://{user}:{password}@127.0.0.1:5672/{rabbit_config['vhost']}"

    make.prefix = f"brokertest-{tag}-"
    yield make
    for user in made:
        rabbit_manager._delete("users", user)


@pytest.fixture
def echo(container_factory, config):
    EchoService.calls = []
    container = container_factory(EchoService, config)
    container.start()
    return container


def test_guest_the_local_tooling_account_presents_people_and_services(echo, as_actor):
    # guest: the account a config without the keys trusts, as the gateway and as tooling
    # (AMQP_TRUSTED_USERS, AMQP_GATEWAY_USERS, AMQP_TOOL_USERS default to it)
    assert as_actor(system_actor("registry")).kit_echo.whoami() == system_actor("registry")
    admin = {"id": "S1", "role": COMMUNITY_ADMIN}
    assert as_actor(admin).kit_echo.whoami() == admin


@pytest.mark.parametrize("actor", [system_actor("registry"), {"id": "S1", "role": COMMUNITY_ADMIN}])
def test_an_actor_from_an_account_that_is_not_the_platform_s_is_refused(echo, config, broker_account,
                                                                         actor):
    # every permission on the vhost, and still no actor is honoured: the account is not trusted
    intruder = broker_account("intruder")
    with ClusterRpcProxy({**config, "AMQP_URI": intruder}, context_data={"actor": actor}) as cluster:
        with pytest.raises(Forbidden) as refused:
            cluster.kit_echo.whoami()
    assert refused.value.fields == {"actor": [f"not accepted from broker user '{connection_user(intruder)}'"]}
    assert EchoService.calls == []


def test_a_request_without_a_user_id_is_refused(echo, as_actor, monkeypatch):
    # a client that does not stamp user_id (not the kit): the broker vouches for no one
    monkeypatch.setattr("shared.amqp.connection_user", lambda amqp_uri: None)
    with pytest.raises(Forbidden) as refused:
        as_actor(system_actor("registry")).kit_echo.whoami()
    assert refused.value.fields == {"actor": ["not accepted from broker user 'None'"]}
    assert EchoService.calls == []


def test_a_message_claiming_another_account_is_refused_by_rabbitmq_itself(echo, config, broker_account):
    intruder = broker_account("intruder")
    with Connection(intruder) as conn:
        channel = conn.channel()
        channel.confirm_select()
        message = channel.prepare_message(
            b'{"args": [], "kwargs": {}}', content_type="application/json",
            headers={"nameko.actor": system_actor("registry")},
            properties={"user_id": "guest", "reply_to": "nowhere", "correlation_id": "forged"})
        with pytest.raises(PreconditionFailed, match="user_id property set to 'guest'"):
            channel.basic_publish_confirm(message, exchange="nameko-rpc", routing_key="kit_echo.whoami")
    assert queue_depth(config, "rpc-kit_echo") == 0
    assert EchoService.calls == []


def test_an_account_without_read_on_a_queue_cannot_consume_it(echo, broker_account):
    outsider = broker_account("outsider", configure="^$", write="^$", read="^$")
    with Connection(outsider) as conn, pytest.raises(AccessRefused, match="rpc-kit_echo"):
        conn.channel().basic_consume("rpc-kit_echo", callback=lambda *_: None)


# --- services under their own accounts, with the permissions of deploy/broker.py ---------------

def restricted(broker_account, account):
    return broker_account(account.user, account.configure, account.write, account.read)


def platform_config(broker_account, uris):
    """The keys Compose and Kubernetes set, for accounts made by `broker_account`: all of them
    trusted, people only from the gateway's, no tooling account."""
    return {"AMQP_TRUSTED_USERS": [connection_user(uri) for uri in uris.values()],
            "AMQP_GATEWAY_USERS": [connection_user(uris["gateway"])], "AMQP_TOOL_USERS": [],
            "AMQP_ACCOUNT_PREFIX": broker_account.prefix}


@pytest.fixture
def deployed_echo(container_factory, config, broker_account):
    """kit_echo trusting the market's, the registry's and the gateway's accounts (each with its
    permissions of deploy/broker.py) as Compose does: (their URIs by name)."""
    EchoService.calls = []
    uris = {name: restricted(broker_account, service_account(name))
            for name in ("market", "registry", "gateway")}
    container_factory(EchoService, {**config, **platform_config(broker_account, uris)}).start()
    return uris


def test_a_service_s_account_presenting_a_person_is_refused_before_any_worker_runs(
        deployed_echo, config, caplog):
    market = deployed_echo["market"]
    with caplog.at_level(logging.INFO), \
            ClusterRpcProxy({**config, "AMQP_URI": market},
                            context_data={"actor": {"id": "S1", "role": COMMUNITY_ADMIN}}) as cluster:
        with pytest.raises(Forbidden) as refused:
            cluster.kit_echo.whoami()
    user = connection_user(market)
    assert refused.value.fields == {
        "actor": [f"a person's actor is accepted only from the gateway, not from broker user '{user}'"]}
    assert EchoService.calls == []
    # one INFO line that says why; no warning, no trace
    lines = [r.getMessage() for r in caplog.records
             if r.name == "shared.rpc" and "forbidden" in r.getMessage()]
    assert len(lines) == 1 and "a person's actor is accepted only from the gateway" in lines[0], lines
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def test_a_service_s_account_presenting_another_service_is_refused(deployed_echo, config):
    market = deployed_echo["market"]
    with ClusterRpcProxy({**config, "AMQP_URI": market},
                         context_data={"actor": system_actor("registry")}) as cluster:
        with pytest.raises(Forbidden) as refused:
            cluster.kit_echo.whoami()
    user = connection_user(market)
    assert refused.value.fields == {
        "actor": [f"system actor 'registry' is accepted only from its own broker account, not from '{user}'"]}
    assert EchoService.calls == []


def test_the_gateway_s_account_presenting_a_service_is_refused(deployed_echo, config):
    with ClusterRpcProxy({**config, "AMQP_URI": deployed_echo["gateway"]},
                         context_data={"actor": system_actor("registry")}) as cluster:
        with pytest.raises(Forbidden) as refused:
            cluster.kit_echo.whoami()
    assert list(refused.value.fields) == ["actor"]
    assert EchoService.calls == []


def test_a_health_check_in_a_service_s_container_asks_as_that_service(deployed_echo, broker_account,
                                                                     monkeypatch):
    from deploy import healthcheck

    monkeypatch.setenv("AMQP_URI", deployed_echo["registry"])  # as in Compose's registry container
    monkeypatch.setenv("AMQP_ACCOUNT_PREFIX", broker_account.prefix)
    assert healthcheck.check("kit_echo", timeout=10)["asked_by"] == system_actor("registry")


@pytest.mark.parametrize("account, actor", [
    ("market", system_actor("market")),                    # a service on its own authority
    ("registry", system_actor("registry")),
    ("gateway", system_actor("gateway")),                  # the gateway's own work (/metrics)
    ("gateway", {"id": "S1", "role": COMMUNITY_ADMIN}),    # the person the gateway authenticated
])
def test_an_account_presenting_what_is_its_own_is_admitted(deployed_echo, config, account, actor):
    with ClusterRpcProxy({**config, "AMQP_URI": deployed_echo[account]},
                         context_data={"actor": actor}) as cluster:
        assert cluster.kit_echo.whoami() == actor
    assert EchoService.calls == [actor]


@pytest.fixture
def kit_platform(container_factory, config, broker_account):
    """kit_orders, kit_billing, kit_shipping, each connected as its own account; only those are
    trusted (not guest)."""
    classes = (OrdersService, BillingService, ShippingService)
    uris = {cls.name: restricted(broker_account, service_account(cls.name, event_sources(cls)))
            for cls in classes}
    trusted = {"AMQP_TRUSTED_USERS": [connection_user(uri) for uri in uris.values()],
               "AMQP_GATEWAY_USERS": [], "AMQP_TOOL_USERS": [], "AMQP_ACCOUNT_PREFIX": broker_account.prefix}
    for cls in classes:
        container_factory(cls, {**config, "AMQP_URI": uris[cls.name], **trusted}).start()
    yield uris
    kit_services.FAILING_ORDERS.clear()


def test_services_under_their_own_accounts_call_publish_handle_retry_and_dead_letter(
        kit_platform, config, broker_account, mongo_client):
    db = lambda service: mongo_client[f"{config['MONGO_DB_PREFIX']}{service}"]  # noqa: E731
    kit_services.FAILING_ORDERS.add("B-1")
    # a standalone client on a service's account (as a health check in its container)
    with ClusterRpcProxy({**config, "AMQP_URI": kit_platform["kit_orders"]},
                         context_data={"actor": system_actor("kit_orders")}) as cluster:
        cluster.kit_orders.place_order({"order_id": "B-1", "amount_fen": 100})
        cluster.kit_orders.place_order({"order_id": "B-2", "amount_fen": 200})
        assert cluster.kit_shipping.health()["broker"] is True
    wait_until(lambda: db("kit_billing").invoices.count_documents({}) == 2)
    wait_until(lambda: db("kit_shipping").shipments.find_one({"order_id": "B-2"}))
    # B-1 fails: backoff queues and the dead-letter queue, all on kit_shipping's own names
    wait_until(lambda: queue_depth(config, "kit_shipping.dlq") == 1, timeout=15)

    # the console's account replays it (read on the DLQ, write on the service's retry exchange)
    console = restricted(broker_account, service_account("kit_console", console_of=["kit_shipping"]))
    kit_services.FAILING_ORDERS.clear()
    assert queues.replay(console, "kit_shipping") == 1
    wait_until(lambda: db("kit_shipping").shipments.find_one({"order_id": "B-1"}))


def test_the_platform_s_own_accounts_are_refused_when_they_are_not_trusted(kit_platform, as_actor):
    # guest: every permission, but not among these services' trusted accounts
    with pytest.raises(Forbidden):
        as_actor(system_actor("kit_orders")).kit_orders.place_order({"order_id": "X", "amount_fen": 1})


@pytest.mark.parametrize("queue", ["rpc-kit_orders", "evt-kit_orders-order_placed--kit_shipping.ship",
                                   "kit_shipping.dlq"])
def test_a_service_s_account_cannot_consume_another_service_s_queue(kit_platform, queue):
    with Connection(kit_platform["kit_billing"]) as conn, pytest.raises(AccessRefused, match=queue):
        conn.channel().basic_consume(queue, callback=lambda *_: None)


@pytest.mark.parametrize("exchange, routing_key", [
    ("kit_orders.events", "order_placed"),                                   # forge orders' event
    ("", "evt-kit_orders-order_placed--kit_shipping.ship"),                  # straight into a queue
    ("kit_shipping.retry", "evt-kit_orders-order_placed--kit_shipping.ship"),  # as a replay
])
def test_a_service_s_account_cannot_publish_where_another_service_s_messages_go(
        kit_platform, exchange, routing_key):
    billing = kit_platform["kit_billing"]
    with Connection(billing) as conn:
        channel = conn.channel()
        channel.confirm_select()
        message = channel.prepare_message(b"{}", properties={"user_id": connection_user(billing)})
        with pytest.raises(AccessRefused, match=exchange or "amq.default"):
            channel.basic_publish_confirm(message, exchange=exchange, routing_key=routing_key)


def test_every_service_of_the_platform_runs_under_its_own_account(container_factory, config, web_config,
                                                                  broker_account, mongo_client):
    """The accounts as deployed (deploy/broker.py: Compose, Kubernetes, make run): each service
    starts (declares its queues and exchanges, binds to its sources' events), answers over RPC,
    and an event of the registry reaches a consumer."""
    uris = {a.user: restricted(broker_account, a) for a in accounts()}
    common = {**config, **web_config, **platform_config(broker_account, uris),
              "GATEWAY_SECRET": "test-only-secret-" + "x" * 32,
              "GATEWAY_ARGON2": {"time_cost": 1, "memory_kib": 8192}}
    for name in platform_services():
        container_factory(service_class(name), {**common, "AMQP_URI": uris[name]}).start()

    # a standalone client on the gateway's account, as Compose's demo loader
    admin = {"id": "ops-1", "role": COMMUNITY_ADMIN}
    with ClusterRpcProxy({**config, "AMQP_URI": uris["gateway"]}, context_data={"actor": admin}) as cluster:
        for name in platform_services():
            report = getattr(cluster, name).health()
            assert (report["broker"], report["database"]) == (True, True), (name, report)
        cluster.registry.define_grid({"code": "G1", "name": "第一网格", "buildings": ["B1"]})
        staff = cluster.registry.assign_grid_staff({"grid_code": "G1", "role": "grid_worker",
                                                     "name": "网格员", "phone": "13800000001"})
        # a grid without staff: grid_events asks the registry (its system actor, from its account)
        cluster.registry.define_grid({"code": "G2", "name": "第二网格", "buildings": ["B2"]})
        incident = cluster.grid_events.report_incident({"category": "sanitation", "grid_code": "G2",
                                                        "description": "楼道垃圾堆放"})
        assert incident["grid_code"] == "G2"
    people = mongo_client[f"{config['MONGO_DB_PREFIX']}notifications"].people
    wait_until(lambda: people.find_one({"_id": staff["staff_id"]}), message="notifications learns the staff")

    # and the account of a service may speak for nobody else
    with ClusterRpcProxy({**config, "AMQP_URI": uris["market"]},
                         context_data={"actor": system_actor("registry")}) as cluster:
        with pytest.raises(Forbidden):
            cluster.registry.get_grid("G1")
