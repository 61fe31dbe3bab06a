"""The broker as the inner boundary, on the real RabbitMQ: every account but the platform's own is
refused an actor, a message cannot claim another account than its connection's, and a service's
account reaches only its own queues.

Accounts made here are named `brokertest-<random>-...`, hold permissions on the test's own vhost
only, and are deleted afterwards (the broker is shared; guest is never touched)."""

import uuid

import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from shared.access import ALL, COMMUNITY_ADMIN, SYSTEM, Policy, system_actor
from shared.amqp import connection_user
from shared.context import RequestContext
from shared.errors import Forbidden
from shared.rpc import rpc
from tests.support import queue_depth


class EchoService:
    name = "kit_echo"
    policy = Policy({"whoami": {SYSTEM: ALL, COMMUNITY_ADMIN: ALL}})
    ctx = RequestContext()
    calls = []

    @rpc
    def whoami(self):
        EchoService.calls.append(self.ctx.actor)
        return self.ctx.actor


@pytest.fixture
def broker_account(rabbit_manager, rabbit_config):
    """`broker_account("name", configure, write, read)` -> an AMQP URI of a new account with those
    permissions on the test's vhost (deleted afterwards)."""
    made = []
    tag = uuid.uuid4().hex[:8]

    def make(name, configure=".*", write=".*", read=".*"):
        user, password = f"brokertest-{tag}-{name}", uuid.uuid4().hex
        rabbit_manager._put("users", user, json={"password": password, "tags": ""})
        made.append(user)
        rabbit_manager.set_vhost_permissions(rabbit_config["vhost"], user, configure, read, write)
        return f"pyamqp://{user}:{password}@127.0.0.1:5672/{rabbit_config['vhost']}"

    yield make
    for user in made:
        rabbit_manager._delete("users", user)


@pytest.fixture
def echo(container_factory, config):
    EchoService.calls = []
    container = container_factory(EchoService, config)
    container.start()
    return container


def test_a_trusted_account_is_honoured_whatever_actor_it_presents(echo, as_actor):
    # guest: the account the tests' services trust (AMQP_TRUSTED_USERS defaults to it)
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
