"""Which broker account a message names (the AMQP user_id the kit stamps), which accounts a
service believes (AMQP_TRUSTED_USERS), and which actor each may present (AMQP_GATEWAY_USERS,
AMQP_TOOL_USERS, AMQP_ACCOUNT_PREFIX)."""

import pytest
from nameko.amqp.publish import Publisher

import shared  # noqa: F401 -- installs the stamp
from shared.amqp import Senders, connection_user, trusted_users


def test_the_user_of_a_uri_is_the_account_it_logs_in_as():
    assert connection_user("pyamqp://registry:secret@rabbitmq:5672/") == "registry"
    assert connection_user("pyamqp://u1:p@h1:5672/;pyamqp://u1:p@h2:5672/") == "u1"
    assert connection_user("amqp://127.0.0.1:5672/") == "guest"  # kombu's default


@pytest.mark.parametrize("config, expected", [
    ({"AMQP_TRUSTED_USERS": ["registry", "gateway"]}, {"registry", "gateway"}),
    ({"AMQP_TRUSTED_USERS": "registry, gateway"}, {"registry", "gateway"}),  # from a plain env var
    ({"AMQP_TRUSTED_USERS": []}, set()),
    ({}, {"guest"}),  # a config without the key: the tests' and benchmarks' dicts, as guest
])
def test_trusted_users_come_from_config(config, expected):
    assert trusted_users(config) == expected


def test_nameko_s_publisher_stamps_its_connection_s_user_over_whatever_it_is_given(monkeypatch):
    sent = {}

    class Producer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def publish(self, payload, **kwargs):
            sent.update(kwargs)

    monkeypatch.setattr("nameko.amqp.publish.get_producer", lambda *args, **kwargs: Producer())
    # nameko-amqp-retry republishes with the original message's properties, user_id included
    Publisher("pyamqp://grid_events:pw@rabbitmq:5672/").publish({}, user_id="registry", use_confirms=False)
    assert sent["user_id"] == "grid_events"


# --- which account may present which actor -----------------------------------------------------

DEPLOYED = Senders.from_config({  # as Compose and Kubernetes set them
    "AMQP_TRUSTED_USERS": ["finance", "gateway", "grid_events", "market", "notifications", "registry"],
    "AMQP_GATEWAY_USERS": "gateway", "AMQP_TOOL_USERS": []})
ADMIN = {"id": "S1", "role": "community_admin"}
RESIDENT = {"id": "R1", "role": "resident", "grid": "G1"}


@pytest.mark.parametrize("sender, actor", [
    ("gateway", ADMIN),                                  # the person the gateway authenticated
    ("gateway", RESIDENT),
    ("gateway", {"id": "gateway", "role": "system"}),    # its own work (/metrics)
    ("registry", {"id": "registry", "role": "system"}),  # a service on its own authority
    ("finance", {"id": "finance", "role": "system"}),
    ("market", None),                                    # no actor: the policy's to refuse
    ("market", {"id": "x"}),                             # no role: likewise
])
def test_deployed_accounts_present_what_is_theirs(sender, actor):
    assert DEPLOYED.refusal(sender, actor) is None


@pytest.mark.parametrize("sender, actor, message", [
    ("market", ADMIN, "a person's actor is accepted only from the gateway, not from broker user 'market'"),
    ("registry", {"id": "R1", "role": "superuser"},     # an unknown role is a person's, not a service's
     "a person's actor is accepted only from the gateway, not from broker user 'registry'"),
    ("market", {"id": "finance", "role": "system"},
     "system actor 'finance' is accepted only from its own broker account, not from 'market'"),
    ("gateway", {"id": "registry", "role": "system"},
     "system actor 'registry' is accepted only from its own broker account, not from 'gateway'"),
    ("registry", {"role": "system"},
     "system actor 'None' is accepted only from its own broker account, not from 'registry'"),
    ("registry", {"id": ["registry"], "role": "system"},
     "system actor \"['registry']\" is accepted only from its own broker account, not from 'registry'"),
    ("guest", {"id": "guest", "role": "system"}, "not accepted from broker user 'guest'"),
    (None, {"id": "registry", "role": "system"}, "not accepted from broker user 'None'"),
])
def test_deployed_accounts_are_refused_what_is_not_theirs(sender, actor, message):
    assert DEPLOYED.refusal(sender, actor) == message


def test_locally_guest_is_trusted_as_the_gateway_and_as_tooling():
    local = Senders.from_config({})  # a config without the keys (the tests' and benchmarks' dicts)
    for actor in (ADMIN, {"id": "registry", "role": "system"}, {"id": "healthcheck", "role": "system"}):
        assert local.refusal("guest", actor) is None
    # the gateway's account is not trusted there at all
    assert local.refusal("gateway", ADMIN) == "not accepted from broker user 'gateway'"


def test_a_tooling_account_presents_any_system_actor_but_no_person():
    senders = Senders.from_config({"AMQP_TRUSTED_USERS": ["ops", "gateway"],
                                   "AMQP_GATEWAY_USERS": ["gateway"], "AMQP_TOOL_USERS": "ops"})
    assert senders.refusal("ops", {"id": "registry", "role": "system"}) is None
    assert senders.refusal("ops", ADMIN) is not None


def test_an_account_prefix_names_each_service_s_account():
    senders = Senders.from_config({"AMQP_TRUSTED_USERS": ["t1-registry", "t1-gateway"],
                                   "AMQP_GATEWAY_USERS": ["t1-gateway"], "AMQP_ACCOUNT_PREFIX": "t1-"})
    assert senders.refusal("t1-registry", {"id": "registry", "role": "system"}) is None
    assert senders.refusal("t1-registry", {"id": "t1-registry", "role": "system"}) is not None
    assert senders.refusal("t1-gateway", {"id": "registry", "role": "system"}) is not None


def test_an_untrusted_gateway_or_tooling_account_is_still_refused():
    senders = Senders.from_config({"AMQP_TRUSTED_USERS": ["registry"], "AMQP_GATEWAY_USERS": ["gateway"],
                                   "AMQP_TOOL_USERS": ["ops"]})
    assert senders.refusal("gateway", ADMIN) == "not accepted from broker user 'gateway'"
    assert senders.refusal("ops", {"id": "registry", "role": "system"}) == \
        "not accepted from broker user 'ops'"
