"""The broker accounts (deploy/broker.py) against the names nameko and the kit really give, and
the files that deploy them (Compose's definitions, Kubernetes' manifests) against the table."""

import inspect
import json
import os
import re
import uuid

import pytest
import yaml
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import RPC_QUEUE_TEMPLATE, RPC_REPLY_QUEUE_TEMPLATE, get_rpc_exchange
from nameko.standalone.events import get_event_exchange

from deploy import broker
from shared.handlers import backoff_exchange, dead_letter_exchange, dead_letter_queue, retry_exchange

ROOT = broker.ROOT
SERVICES = broker.platform_services()
ACCOUNTS = {a.user: a for a in broker.accounts()}


def handler_queues(service):
    """`evt-<source>-<event>--<service>.<method>`, as nameko names a SERVICE_POOL handler's queue."""
    cls = broker.service_class(service)
    return [f"evt-{ep.source_service}-{ep.event_type}--{service}.{name}"
            for name, method in inspect.getmembers(cls, inspect.isfunction)
            for ep in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(ep, EventHandler)]


def own_queues(service):
    return [RPC_QUEUE_TEMPLATE.format(service),
            RPC_REPLY_QUEUE_TEMPLATE.format(service, uuid.uuid4()),
            RPC_REPLY_QUEUE_TEMPLATE.format(broker.STANDALONE_CLIENT, uuid.uuid4()),
            dead_letter_queue(service).name, f"{service}.backoff--30000ms", *handler_queues(service)]


def own_exchanges(service):
    return [get_event_exchange(service, {}).name, backoff_exchange(service).name,
            retry_exchange(service).name, dead_letter_exchange(service).name]


def allows(regex, name):
    return re.fullmatch(regex, name) is not None  # RabbitMQ matches unanchored; ours are anchored


def test_every_service_has_an_account_and_only_they_are_trusted():
    assert sorted(ACCOUNTS) == SERVICES
    assert broker.trusted_users() == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_may_do_all_it_does_on_its_own_queues_and_exchanges(service):
    account = ACCOUNTS[service]
    for name in own_queues(service) + own_exchanges(service) + [get_rpc_exchange({}).name]:
        assert allows(account.configure, name) and allows(account.write, name) \
            and allows(account.read, name), name
    for source in account.reads_events_of:  # declare and bind from, never publish
        exchange = get_event_exchange(source, {}).name
        assert allows(account.configure, exchange) and allows(account.read, exchange)
        assert not allows(account.write, exchange)


def test_the_events_a_service_handles_are_the_ones_its_account_reads():
    assert ACCOUNTS["notifications"].reads_events_of == ("finance", "grid_events", "market", "registry")
    assert ACCOUNTS["registry"].reads_events_of == ()
    for service in SERVICES:
        sources = {q.split("-")[1] for q in handler_queues(service)}
        assert set(ACCOUNTS[service].reads_events_of) == sources


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_touches_nothing_of_another_service(service):
    account = ACCOUNTS[service]
    for other in set(SERVICES) - {service}:
        for queue in own_queues(other):
            if queue.startswith("rpc.reply-standalone_rpc_proxy-"):
                continue  # a standalone client's: anyone's, named by a random uuid
            console = service in broker.HTTP_SERVICES and queue == f"{other}.dlq"
            assert not allows(account.configure, queue) and not allows(account.write, queue), queue
            assert allows(account.read, queue) == console, queue
        events, backoff, retry, dead_letters = own_exchanges(other)
        assert not allows(account.write, events)   # nobody forges another service's events
        assert not allows(account.configure, backoff) and not allows(account.write, backoff)
        assert not allows(account.write, dead_letters)
        assert allows(account.write, retry) == (service in broker.HTTP_SERVICES)  # console replays
    for name in ("amq.default", "amq.topic", "dead-letters", "backoff", "backoff--1000ms"):
        assert not any(allows(regex, name) for regex in (account.configure, account.write, account.read))


def test_only_the_console_reads_queue_depths_over_the_management_api():
    assert {user: a.tags for user, a in ACCOUNTS.items() if a.tags} == {"gateway": ("monitoring",)}


def test_compose_loads_the_accounts_of_the_table():
    with open(os.path.join(ROOT, "deploy", "rabbitmq", "definitions.json")) as f:
        assert json.load(f) == broker.definitions(), "regenerate: python -m deploy.broker definitions"


def test_each_compose_service_connects_as_its_own_account():
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)["services"]
    for service in SERVICES:
        env = compose[service]["environment"]
        user, password = re.match(r"pyamqp://([^:]+):([^@]+)@rabbitmq:5672/$", env["AMQP_URI"]).groups()
        assert (user, password) == (service, broker.compose_password(service))
        assert yaml.safe_load(env["AMQP_TRUSTED_USERS"]) == broker.trusted_users()
        assert yaml.safe_load(env["AMQP_GATEWAY_USERS"]) == ["gateway"]  # people only through it
        assert yaml.safe_load(env["AMQP_TOOL_USERS"]) == []               # no account speaks for all
    assert compose["demo-loader"]["environment"]["AMQP_URI"].startswith("pyamqp://gateway:")
    assert compose["gateway"]["environment"]["RABBIT_API_URI"].startswith("http://gateway:")


def test_the_local_default_trusts_the_services_and_guest():
    with open(os.path.join(ROOT, "deploy", "nameko.yaml")) as f:
        text = f.read()
    default = re.search(r"\$\{AMQP_TRUSTED_USERS:(\[.*\])\}", text).group(1)
    assert sorted(yaml.safe_load(default)) == sorted(broker.trusted_users() + ["guest"])
    assert re.search(r"\$\{AMQP_GATEWAY_USERS:\[gateway, guest\]\}", text)
    assert re.search(r"\$\{AMQP_TOOL_USERS:\[guest\]\}", text)


def test_kubernetes_declares_the_accounts_of_the_table_and_each_service_uses_its_own():
    with open(os.path.join(ROOT, "deploy", "k8s", "broker-users.yaml")) as f:
        assert f.read() == broker.k8s_yaml(), "regenerate: python -m deploy.broker k8s"
    with open(os.path.join(ROOT, "deploy", "k8s", "config.yaml")) as f:
        config = next(yaml.safe_load_all(f))
    assert yaml.safe_load(config["data"]["AMQP_TRUSTED_USERS"]) == broker.trusted_users()
    assert yaml.safe_load(config["data"]["AMQP_GATEWAY_USERS"]) == ["gateway"]
    assert yaml.safe_load(config["data"]["AMQP_TOOL_USERS"]) == []
    for service in SERVICES:
        with open(os.path.join(ROOT, "deploy", "k8s", "services", f"{service}.yaml")) as f:
            deployment = next(yaml.safe_load_all(f))
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in env
                   if e["name"] in ("AMQP_URI", "RABBIT_API_URI")}
        assert secrets == {f"sunshine-broker-{service.replace('_', '-')}"}


def test_the_docs_name_the_events_each_account_reads():
    with open(os.path.join(ROOT, "docs", "stack.md")) as f:
        doc = f.read()
    for service, account in ACCOUNTS.items():
        sources = ", ".join(account.reads_events_of) or "none"
        assert f"| {service} | {sources} |" in doc
