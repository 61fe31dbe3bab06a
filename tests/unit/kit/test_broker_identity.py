"""Which broker account a message names (the AMQP user_id the kit stamps), and which accounts a
service believes (AMQP_TRUSTED_USERS)."""

import pytest
from nameko.amqp.publish import Publisher

import shared  # noqa: F401 -- installs the stamp
from shared.amqp import connection_user, trusted_users


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
