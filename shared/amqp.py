"""Publishing with publisher confirms, many messages per confirm round.

A confirm round trip costs about as much as the publish itself on these machines, so the
outbox relay sends a whole batch, then waits once until the broker has confirmed every message
of it (RabbitMQ acks with `multiple=True` where it can).
"""

import json
import logging

from kombu import Connection

log = logging.getLogger(__name__)


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
                properties={"delivery_mode": 2},
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

