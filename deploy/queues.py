"""Operator view of the platform's queues, from the RabbitMQ management API.

    python -m deploy.queues                  every queue: depth, consumers, rates
    python -m deploy.queues dlq [SERVICE]    dead-lettered messages with their reasons
    python -m deploy.queues replay SERVICE [--limit N]
                                             after a fix: send DLQ messages back to their queue

Environment: AMQP_URI (default pyamqp://guest:guest@127.0.0.1:5672/) and RABBIT_API_URI
(default http://guest:guest@127.0.0.1:15672).
"""

import argparse
import base64
import json
import os
import sys
import urllib.parse
import urllib.request

from kombu import Connection

DLQ_SUFFIX = ".dlq"
# Headers the dead-lettering added; dropped on replay so the retry count starts afresh.
DEAD_LETTER_HEADERS = ("x-death", "x-error", "x-error-type", "x-traceback", "x-attempts",
                       "x-dead-lettered-at", "x-original-queue", "x-original-exchange",
                       "x-original-routing-key", "x-first-death-exchange",
                       "x-first-death-queue", "x-first-death-reason")


def _vhost(amqp_uri):
    return Connection(amqp_uri).virtual_host or "/"


class ManagementApi:
    def __init__(self, api_uri):
        parsed = urllib.parse.urlsplit(api_uri)
        self.base = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 15672}/api"
        user, password = parsed.username or "guest", parsed.password or "guest"
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def call(self, path, body=None):
        request = urllib.request.Request(self.base + path, method="POST" if body else "GET",
                                         data=json.dumps(body).encode() if body else None)
        request.add_header("Authorization", self.auth)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def queues(self, vhost):
        return self.call(f"/queues/{urllib.parse.quote(vhost, safe='')}")

    def peek(self, vhost, queue, count=50):
        """Read messages without taking them (the broker requeues them)."""
        path = f"/queues/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(queue, safe='')}/get"
        return self.call(path, {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto",
                                "truncate": 2000})


def queue_rows(api, vhost, include_replies=False):
    rows = []
    for queue in sorted(api.queues(vhost), key=lambda q: q["name"]):
        if queue["name"].startswith("rpc.reply-") and not include_replies:
            continue  # one per RPC client: noise to an operator
        stats = queue.get("message_stats") or {}
        rows.append({
            "queue": queue["name"],
            "depth": queue.get("messages", 0),
            "unacked": queue.get("messages_unacknowledged", 0),
            "consumers": queue.get("consumers", 0),
            "in_per_s": round((stats.get("publish_details") or {}).get("rate", 0.0), 1),
            "out_per_s": round((stats.get("deliver_get_details") or {}).get("rate", 0.0), 1),
            "dlq": queue["name"].endswith(DLQ_SUFFIX),
        })
    return rows


def dead_letters(api, vhost, service=None, count=50):
    """What sits in the DLQs: original queue, reason, attempts, and the event's type and id."""
    dlqs = [row["queue"] for row in queue_rows(api, vhost) if row["dlq"]]
    if service:
        dlqs = [q for q in dlqs if q == service + DLQ_SUFFIX]
    found = []
    for dlq in dlqs:
        for message in api.peek(vhost, dlq, count):
            headers = (message.get("properties") or {}).get("headers") or {}
            try:
                body = json.loads(message["payload"])
            except (ValueError, TypeError):
                body = {}
            found.append({
                "dlq": dlq,
                "queue": headers.get("x-original-queue"),
                "event_type": body.get("type") if isinstance(body, dict) else None,
                "event_id": body.get("event_id") if isinstance(body, dict) else None,
                "attempts": headers.get("x-attempts"),
                "error_type": headers.get("x-error-type"),
                "error": headers.get("x-error"),
                "at": headers.get("x-dead-lettered-at"),
            })
    return found


def replay(amqp_uri, service, limit=None):
    """Move dead-lettered messages of `service` back to their original queues; return how many.

    Each is republished (with confirms) before it is taken off the DLQ, so a crash mid-way
    duplicates at worst, and handlers are idempotent."""
    replayed = 0
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        confirming = conn.channel()
        confirming.confirm_select()
        while limit is None or replayed < limit:
            message = channel.basic_get(service + DLQ_SUFFIX, no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            target = headers.get("x-original-queue")
            if not target:
                channel.basic_reject(message.delivery_tag, requeue=True)
                raise RuntimeError("a DLQ message has no x-original-queue header; left in place")
            for key in DEAD_LETTER_HEADERS:
                headers.pop(key, None)
            headers["x-replayed"] = int(headers.get("x-replayed", 0)) + 1
            confirming.basic_publish_confirm(
                confirming.prepare_message(message.body, content_type=message.content_type,
                                           content_encoding=message.content_encoding,
                                           headers=headers, properties={"delivery_mode": 2}),
                exchange="", routing_key=target)
            channel.basic_ack(message.delivery_tag)
            replayed += 1
    return replayed


def _table(rows, columns):
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c)
              for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deploy.queues", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="list", choices=["list", "dlq", "replay"])
    parser.add_argument("service", nargs="?")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--all", action="store_true", help="also list RPC reply queues")
    args = parser.parse_args(argv)
    amqp_uri = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
    api = ManagementApi(os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"))
    vhost = _vhost(amqp_uri)
    if args.command == "list":
        _table(queue_rows(api, vhost, args.all), ["queue", "depth", "unacked", "consumers", "in_per_s",
                                        "out_per_s", "dlq"])
    elif args.command == "dlq":
        _table(dead_letters(api, vhost, args.service),
               ["dlq", "queue", "event_type", "event_id", "attempts", "error_type", "error", "at"])
    else:
        if not args.service:
            parser.error("replay needs a SERVICE")
        print(f"replayed {replay(amqp_uri, args.service, args.limit)} message(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
