"""The platform's RabbitMQ accounts: one per service, whose permissions cover only its own queues
and the exchanges it publishes to or reads from. One table, used by every way of running it.

    python -m deploy.broker table         the table (Markdown), as in docs/stack.md
    python -m deploy.broker accounts      user, configure, write, read, tags: one tab-separated
                                          line per account
    python -m deploy.broker definitions   RabbitMQ definitions for Compose (deploy/rabbitmq/)
    python -m deploy.broker local --passwords .run/broker [--vhost /]
                                          make run's (deploy/local/infra.sh users imports them)
    python -m deploy.broker k8s           Secrets, Users, Permissions (deploy/k8s/broker-users.yaml)

The names the permissions allow are the ones nameko and the kit give (tests/unit/deploy checks
the table against the services' code, and the integration tests run services under it):

- `nameko-rpc` (topic): the RPC exchange, of every RPC server and client;
- `rpc-<service>`: the service's RPC queue;
- `rpc.reply-<service>-<uuid>`: the reply queues of its RPC proxies, and
  `rpc.reply-standalone_rpc_proxy-<uuid>` those of standalone clients (health checks, demo loads);
- `<service>.events` (topic): its events (the outbox relay), bound to by the handlers of others;
- `evt-<source>-<event>--<service>.<method>`: a handler's queue;
- `<service>.backoff` (headers) and `<service>.backoff--<ms>ms`: its retries (shared/handlers.py);
- `<service>.retry` (direct): where the backoff queues and replays send a message back to its
  handler queue (each handler queue is bound to it by its own name);
- `<service>.dead-letters` (direct) and `<service>.dlq`: its dead letters.

A permission is three regular expressions over those names (RabbitMQ's access control):
configure (declare, delete), write (publish to an exchange; bind a queue), read (consume from a
queue; bind from an exchange). The default exchange (`amq.default`, which publishes into any queue
by name) is in no account's write permission; a passive declare (the depth of a queue) needs none.
Every service can configure, write and read `nameko-rpc`: RPC requests and replies all travel
there, and who may ask what is the consumer's decision (the AMQP `user_id`, shared/rpc.py).
"""

import argparse
import base64
import hashlib
import importlib
import inspect
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RPC_EXCHANGE = "nameko-rpc"
STANDALONE_CLIENT = "standalone_rpc_proxy"  # nameko's name for a standalone RPC client's replies
UUID = "[0-9a-f-]{36}"
METHOD = "[A-Za-z0-9_]+"                     # a handler method
EVENT = "[A-Za-z0-9_.*#]+"                   # an event type, or a binding pattern (the console's `#`)
HTTP_SERVICES = {"gateway"}                  # the console: dead letters, queue depths, replays
COMPOSE_ADMIN = "sunshine"                   # Compose's operator account (administrator)
VHOST = "/"


@dataclass(frozen=True)
class Account:
    user: str
    configure: str
    write: str
    read: str
    tags: tuple = ()
    reads_events_of: tuple = field(default=(), compare=False)


def platform_services():
    folder = os.path.join(ROOT, "services")
    return sorted(name for name in os.listdir(folder)
                  if os.path.exists(os.path.join(folder, name, "service.py")))


def service_class(name):
    module = importlib.import_module(f"services.{name}.service")
    return next(obj for _, obj in inspect.getmembers(module, inspect.isclass)
                if getattr(obj, "name", None) == name and obj.__module__ == module.__name__)


def event_sources(cls):
    """The services whose events `cls` handles (its handlers' queues bind to their exchanges)."""
    from nameko.events import EventHandler
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    sources = set()
    for _, method in inspect.getmembers(cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                sources.add(entrypoint.source_service)
    return tuple(sorted(sources))


def _literal(name):  # the platform's names hold letters, digits, `_`, `-` and `.`
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"unexpected character in broker name {name!r}")
    return name.replace(".", "\\.")


def _one_of(names):
    names = sorted(names)
    return _literal(names[0]) if len(names) == 1 else "(" + "|".join(map(_literal, names)) + ")"


def _anchored(parts):
    return "^(" + "|".join(parts) + ")$"


def service_account(service, sources=(), user=None, console_of=()):
    """The account of `service`, which handles events of `sources`. `console_of`: the services
    whose dead letters it reads and replays (the gateway's console)."""
    s = _literal(service)
    queues = [f"rpc-{s}", f"rpc\\.reply-({s}|{STANDALONE_CLIENT})-{UUID}",
              f"{s}\\.dlq", f"{s}\\.backoff--[0-9]+ms"]
    if sources:
        queues.append(f"evt-{_one_of(sources)}-{EVENT}--{s}\\.{METHOD}")
    exchanges = [f"{s}\\.(events|backoff|retry|dead-letters)", _literal(RPC_EXCHANGE)]
    reads_from = [f"{_one_of(sources)}\\.events"] if sources else []
    console_reads = [f"{_one_of(console_of)}\\.dlq"] if console_of else []
    console_writes = [f"{_one_of(console_of)}\\.retry"] if console_of else []
    return Account(
        user=user or service,
        configure=_anchored(queues + exchanges + reads_from),
        write=_anchored(queues + exchanges + console_writes),
        read=_anchored(queues + exchanges + reads_from + console_reads),
        tags=("monitoring",) if console_of else (),
        reads_events_of=tuple(sources),
    )


# Kubernetes only: KEDA reads queue depths through the management API (any vhost access will do).
KEDA = Account("keda", "^$", "^$", "^$", ("monitoring",))


def accounts(services=None):
    services = services or platform_services()
    return [service_account(name, event_sources(service_class(name)),
                            console_of=services if name in HTTP_SERVICES else ())
            for name in services]


def trusted_users(services=None):
    """The accounts the services admit requests from (AMQP_TRUSTED_USERS)."""
    return [account.user for account in accounts(services)]


def table(services=None):
    """Markdown; `|` inside the regular expressions escaped as `\\|` (GitHub's tables)."""
    def cell(regex):
        return "`" + regex.replace("|", "\\|") + "`"

    rows = ["| account | tags | reads events of | configure | write | read |",
            "|---|---|---|---|---|---|"]
    for a in accounts(services):
        rows.append(f"| {a.user} | {', '.join(a.tags) or '-'} | {', '.join(a.reads_events_of) or '-'} "
                    f"| {cell(a.configure)} | {cell(a.write)} | {cell(a.read)} |")
    return "\n".join(rows)


def password_hash(user, password):
    """RabbitMQ's rabbit_password_hashing_sha256, with a salt derived from the user so that the
    generated definitions are the same on every run (the passwords are Compose's development ones)."""
    salt = hashlib.sha256(f"sunshine-salt:{user}".encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def compose_password(user):
    return f"{user}-dev"


def definitions(services=None, passwords=None, vhost=VHOST, admin=True):
    """RabbitMQ definitions: one account per service with its permissions on `vhost`, and (for
    Compose, `admin`) the operator's administrator account. `passwords`: user -> password; by
    default Compose's development ones (`<user>-dev`, and `sunshine` for the operator). Importing
    them creates the accounts or updates them (passwords, tags, permissions); no other account is
    touched."""
    platform = accounts(services)
    passwords = passwords or {a.user: compose_password(a.user) for a in platform}
    entries = [(a.user, list(a.tags), (a.configure, a.write, a.read)) for a in platform]
    if admin:
        passwords = {COMPOSE_ADMIN: COMPOSE_ADMIN, **passwords}
        entries.insert(0, (COMPOSE_ADMIN, ["administrator"], (".*", ".*", ".*")))
    users = [{"name": user, "password_hash": password_hash(user, passwords[user]),
              "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags, "limits": {}}
             for user, tags, _ in entries]
    permissions = [{"user": user, "vhost": vhost, "configure": configure, "write": write, "read": read}
                   for user, _, (configure, write, read) in entries]
    return {"rabbitmq_version": "3.13.0", "users": users, "vhosts": [{"name": vhost}],
            "permissions": permissions, "topic_permissions": [], "parameters": [],
            "global_parameters": [], "policies": [], "queues": [], "exchanges": [], "bindings": []}


def local_passwords(folder, services=None):
    """make run's passwords: one file per account in `folder` (made on first use, mode 600)."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    passwords = {}
    for account in accounts(services):
        path = os.path.join(folder, account.user)
        if not os.path.exists(path):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
                out.write(secrets.token_urlsafe(18))
        with open(path) as f:
            passwords[account.user] = f.read().strip()
    return passwords


K8S_HEADER = """\
# Generated by `python -m deploy.broker k8s` from deploy/broker.py (a test checks it is current):
# one RabbitMQ account per service (Messaging Topology Operator), whose permissions cover only its
# own queues and the exchanges it publishes to or reads from, and KEDA's read-only one. The
# passwords are placeholders: in production these Secrets come from the secret store
# (sealed-secrets / external-secrets), never from the repository.
"""
K8S_BROKER = "sunshine-rabbitmq.sunshine.svc"


def k8s_documents(services=None):
    docs = []
    for a in accounts(services) + [KEDA]:
        secret = {"username": a.user, "password": "change-me"}
        if a.user == "keda":
            secret["host"] = f"http://{a.user}:change-me@{K8S_BROKER}:15672/"
        else:
            secret["AMQP_URI"] = f"pyamqp://{a.user}:change-me@{K8S_BROKER}:5672/"
        if "monitoring" in a.tags and a.user != "keda":
            secret["RABBIT_API_URI"] = f"http://{a.user}:change-me@{K8S_BROKER}:15672"
        name = f"sunshine-broker-{a.user.replace('_', '-')}"
        docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                     "type": "Opaque", "stringData": secret})
        user = {"rabbitmqClusterReference": {"name": "sunshine-rabbitmq"},
                "importCredentialsSecret": {"name": name}}
        if a.tags:
            user["tags"] = list(a.tags)
        docs.append({"apiVersion": "rabbitmq.com/v1beta1", "kind": "User",
                     "metadata": {"name": name}, "spec": user})
        docs.append({"apiVersion": "rabbitmq.com/v1beta1", "kind": "Permission",
                     "metadata": {"name": name},
                     "spec": {"vhost": VHOST, "userReference": {"name": name},
                              "permissions": {"configure": a.configure, "write": a.write,
                                              "read": a.read},
                              "rabbitmqClusterReference": {"name": "sunshine-rabbitmq"}}})
    return docs


def k8s_yaml(services=None):
    import yaml

    return K8S_HEADER + "---\n".join(yaml.safe_dump(doc, sort_keys=False, width=200)
                                     for doc in k8s_documents(services))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deploy.broker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["table", "accounts", "definitions", "local", "k8s"])
    parser.add_argument("--passwords", help="local: the folder of make run's passwords")
    parser.add_argument("--vhost", default=VHOST, help="local: the vhost (default /)")
    args = parser.parse_args(argv)
    if args.command == "table":
        print(table())
    elif args.command == "accounts":
        for a in accounts():
            print("\t".join([a.user, a.configure, a.write, a.read, ",".join(a.tags)]))
    elif args.command == "definitions":
        print(json.dumps(definitions(), indent=2))
    elif args.command == "local":
        if not args.passwords:
            parser.error("local needs --passwords FOLDER")
        print(json.dumps(definitions(passwords=local_passwords(args.passwords), vhost=args.vhost,
                                     admin=False)))
    else:
        sys.stdout.write(k8s_yaml())
    return 0


if __name__ == "__main__":
    sys.exit(main())
