"""Publishing: with publisher confirms, many messages per confirm round; and as whom.

A confirm round trip costs about as much as the publish itself on these machines, so the
outbox relay sends a whole batch, then waits once until the broker has confirmed every message
of it (RabbitMQ acks with `multiple=True` where it can).

Every message the kit publishes carries the AMQP `user_id` property, set to the user of the
connection it goes out on (the user of `AMQP_URI`). RabbitMQ refuses a message whose `user_id`
is not the connection's own user, so a consumer can trust it: it names the broker account that
sent the message. Which actor each account may present (shared/rpc.py, `Senders` below):

- only the accounts `AMQP_TRUSTED_USERS` names are admitted at all (the services' and the gateway's);
- a person's actor (any role but `system`) only from the gateway's (`AMQP_GATEWAY_USERS`): the
  gateway is the one that authenticates people;
- a `system` actor only from the account of that very service (actor id `registry` from account
  `<AMQP_ACCOUNT_PREFIX>registry`), or from a tooling account (`AMQP_TOOL_USERS`: make run's guest,
  which health checks and scripts use).

`stamp_user_id()` makes nameko's own publisher (RPC requests and replies, events,
nameko-amqp-retry's republishing) do the same; `import shared` installs it, so a standalone
`ClusterRpcProxy` of a script or test that imports the kit stamps its requests too.
"""

import json
import logging
from dataclasses import dataclass
from functools import cache

from kombu import Connection

from shared.access import SYSTEM

log = logging.getLogger(__name__)

TRUSTED_USERS = "AMQP_TRUSTED_USERS"
GATEWAY_USERS = "AMQP_GATEWAY_USERS"
TOOL_USERS = "AMQP_TOOL_USERS"
ACCOUNT_PREFIX = "AMQP_ACCOUNT_PREFIX"
# A config without the keys: the tests' and benchmarks' own dicts, on the local broker as guest,
# its administrator and only trusted account, which presents people and services alike. Where
# AMQP_TRUSTED_USERS is set without guest (Compose, Kubernetes), guest in the other two defaults
# admits nothing: an account must be trusted first.
DEFAULT_TRUSTED_USERS = ("guest",)
DEFAULT_GATEWAY_USERS = ("gateway", "guest")
DEFAULT_TOOL_USERS = ("guest",)


@cache
def connection_user(amqp_uri):
    """The broker user an AMQP URI logs in as (kombu's default, guest, when it names none)."""
    return Connection(amqp_uri).info()["userid"]  # with the transport's defaults filled in


def _users(config, key, default):
    users = (config or {}).get(key, default)
    if isinstance(users, str):  # from a plain environment variable: names separated by commas
        users = users.split(",")
    return frozenset(str(user).strip() for user in users or () if str(user).strip())


def trusted_users(config):
    """The broker users whose messages may carry an actor: the services' own accounts and the
    gateway's (`AMQP_TRUSTED_USERS`: a list, or names separated by commas)."""
    return _users(config, TRUSTED_USERS, DEFAULT_TRUSTED_USERS)


def _short(value):
    return str(value)[:40]


@dataclass(frozen=True)
class Senders:
    """Which broker account may present which actor (the AMQP `user_id` RabbitMQ validated)."""

    trusted: frozenset
    gateway: frozenset = frozenset()
    tooling: frozenset = frozenset()
    prefix: str = ""

    @classmethod
    def from_config(cls, config):
        return cls(trusted=trusted_users(config),
                   gateway=_users(config, GATEWAY_USERS, DEFAULT_GATEWAY_USERS),
                   tooling=_users(config, TOOL_USERS, DEFAULT_TOOL_USERS),
                   prefix=str((config or {}).get(ACCOUNT_PREFIX) or ""))

    def refusal(self, sender, actor):
        """Why the account `sender` may not present `actor` (the `actor` field's message), or None.
        A missing or malformed actor is the access policy's to refuse (shared/access.py)."""
        if sender not in self.trusted:
            return f"not accepted from broker user {_short(sender)!r}"
        if not isinstance(actor, dict) or not actor.get("role"):
            return None
        if actor["role"] != SYSTEM:
            if sender in self.gateway:
                return None
            return ("a person's actor is accepted only from the gateway, "
                    f"not from broker user {_short(sender)!r}")
        own = isinstance(actor.get("id"), str) and sender == self.prefix + actor["id"]
        if own or sender in self.tooling:
            return None
        return (f"system actor {_short(actor.get('id'))!r} is accepted only from its own broker account, "
                f"not from {_short(sender)!r}")


def stamp_user_id():
    """Make nameko's `Publisher` set `user_id` to its connection's user on every message, whatever
    the caller passed (nameko-amqp-retry copies the original message's properties, `user_id`
    included, into the copy it republishes: that would name another account)."""
    from nameko.amqp.publish import Publisher

    if getattr(Publisher.publish, "stamps_user_id", False):
        return
    publish = Publisher.publish

    def publish_as_connection_user(self, payload, **kwargs):
        kwargs["user_id"] = connection_user(self.amqp_uri)
        return publish(self, payload, **kwargs)

    publish_as_connection_user.stamps_user_id = True
    Publisher.publish = publish_as_connection_user


class PublishFailed(Exception):
    pass


class ConfirmedPublisher:
    """One connection and channel in confirm mode; not to be shared between greenthreads."""

    def __init__(self, amqp_uri, confirm_timeout=10):
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._connection = None
        self._channel = None
        self._declared = set()

    def _ensure_channel(self):
        if self._channel is not None and self._connection.connected:
            return self._channel
        self.close()
        self._connection = Connection(self.amqp_uri, connect_timeout=5)
        self._connection.ensure_connection(max_retries=1)
        channel = self._connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._channel = channel
        self._next_tag = 1
        self._pending = set()
        self._nacked = []
        self._declared = set()
        return channel

    def _on_ack(self, delivery_tag, multiple):
        if multiple:
            self._pending = {tag for tag in self._pending if tag > delivery_tag}
        else:
            self._pending.discard(delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self._nacked.append(delivery_tag)
        self._on_ack(delivery_tag, multiple)

    def declare(self, exchange):
        """Declare a kombu Exchange once per connection."""
        channel = self._ensure_channel()
        if exchange.name not in self._declared:
            exchange(channel).declare()
            self._declared.add(exchange.name)

    def publish_batch(self, messages):
        """Publish `(exchange_name, routing_key, body_dict, headers)` tuples; return when all are
        confirmed. Raises `PublishFailed` if the broker refuses any or does not confirm in time."""
        self.wait_confirmed(self.publish(messages))

    def publish(self, messages):
        """Publish without waiting; return a token for `wait_confirmed` (so a caller can prepare
        and send the next batch while the broker confirms this one)."""
        channel = self._ensure_channel()
        for exchange, routing_key, body, headers in messages:
            message = channel.prepare_message(
                json.dumps(body, ensure_ascii=False).encode("utf-8"),
                content_type="application/json",
                content_encoding="utf-8",
                headers=headers,
                properties={"delivery_mode": 2, "user_id": connection_user(self.amqp_uri)},
            )
            channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
            self._pending.add(self._next_tag)
            self._next_tag += 1
        return (self._connection, self._next_tag - 1)

    def wait_confirmed(self, token):
        """Return once everything published up to `token` is confirmed; `PublishFailed` if the
        broker refused any of it, did not confirm in time, or the connection was lost since."""
        connection, last_tag = token
        if connection is not self._connection:
            raise PublishFailed("the connection was lost before the broker confirmed")
        try:
            while any(tag <= last_tag for tag in self._pending):
                self._connection.drain_events(timeout=self.confirm_timeout)
        except Exception as exc:
            self.close()
            raise PublishFailed(f"no confirm from the broker: {exc!r}") from exc
        if self._nacked:
            nacked, self._nacked = self._nacked, []
            raise PublishFailed(f"broker refused {len(nacked)} message(s)")

    def close(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # closing a broken connection: nothing left to save
                log.debug("closing publisher connection failed", exc_info=True)
        self._connection = self._channel = None


def queue_arguments(config):
    """Arguments of the platform's durable queues (event handlers', dead-letter, RPC).

    `QUEUE_TYPE: quorum` declares them as quorum queues, replicated on a majority of a cluster's
    nodes (a node can die without losing or blocking them); `classic` (the default here, one
    broker) leaves them on one node. A queue's type cannot change in place: docs/scale.md gives
    the migration from classic queues."""
    kind = (config or {}).get("QUEUE_TYPE") or "classic"
    if kind not in ("classic", "quorum"):
        raise ValueError(f"QUEUE_TYPE must be classic or quorum, not {kind!r}")
    return {"x-queue-type": "quorum"} if kind == "quorum" else {}

