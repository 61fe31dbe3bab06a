"""Operator view of the platform's queues, from the RabbitMQ management API.

    python -m deploy.queues                  every queue: depth, consumers, rates
    python -m deploy.queues dlq [SERVICE]    dead-lettered messages with their reasons
    python -m deploy.queues replay SERVICE [--limit N]
                                             after a fix: send DLQ messages back to their queue
    python -m deploy.queues wait SERVICE...  until the platform's event queues and the services'
                                             outboxes are empty (make run's "ready")

Environment: AMQP_URI, else the one the last `make run` used (.run/amqp_uri), else
pyamqp://guest:guest@127.0.0.1:5672/; RABBIT_API_URI (default http://guest:guest@127.0.0.1:15672).
"""

import argparse
import base64
import json
import logging
import os
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from amqp.exceptions import ChannelError
from kombu import Connection

DLQ_SUFFIX = ".dlq"
# Headers the dead-lettering added; dropped on replay so the retry count starts afresh.
DEAD_LETTER_HEADERS = ("x-death", "x-error", "x-error-type", "x-traceback", "x-attempts",
                       "x-dead-lettered-at", "x-original-queue", "x-original-exchange",
                       "x-original-routing-key", "x-first-death-exchange",
                       "x-first-death-queue", "x-first-death-reason")


DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
RECORDED_AMQP_URI = Path(__file__).resolve().parents[1] / ".run" / "amqp_uri"  # written by make run


def platform_amqp_uri():
    """(uri, where it came from): AMQP_URI, else what the last `make run` used, else the default."""
    if os.environ.get("AMQP_URI"):
        return os.environ["AMQP_URI"], "AMQP_URI"
    if RECORDED_AMQP_URI.exists():
        return RECORDED_AMQP_URI.read_text().strip(), "the last make run"
    return DEFAULT_AMQP_URI, "default"


def _vhost(amqp_uri):
    return Connection(amqp_uri).virtual_host or "/"


def _where(amqp_uri):
    conn = Connection(amqp_uri)
    return f"vhost {conn.virtual_host or '/'!r} on {conn.hostname}:{conn.port or 5672}"


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


def platform_vhosts(api):
    """Vhosts that hold a platform (a `rpc-registry` queue): where to look when this one is empty.
    Test and benchmark vhosts (nameko_test_*, bench*) are left out: they come and go."""
    return sorted({q["vhost"] for q in api.call("/queues") if q["name"] == "rpc-registry"
                   and not q["vhost"].startswith(("nameko_test_", "bench"))})


def event_backlog(api, amqp_uri, vhost):
    """Event messages still to handle in `vhost`: ready (exact, from the broker) plus unacked
    (from the management API, a few seconds late)."""
    names = [row["queue"] for row in queue_rows(api, vhost) if row["queue"].startswith("evt-")]
    unacked = sum(row["unacked"] for row in queue_rows(api, vhost) if row["queue"].startswith("evt-"))
    ready = 0
    with Connection(amqp_uri) as conn:
        for name in names:
            ready += conn.default_channel.queue_declare(name, passive=True).message_count
    return ready + unacked


def wait_drained(api, amqp_uri, services, timeout=600, interval=1.0):
    """Show the drain of the platform's event queues and outboxes; return the seconds it took,
    once every service is healthy and both are empty twice in a row (the management API lags)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from deploy.healthcheck import check

    vhost, started, zero_seen, peak = _vhost(amqp_uri), time.monotonic(), 0, 0
    with Progress(TextColumn("[run] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        task = bar.add_task("draining the platform's queues", total=None)
        while time.monotonic() - started < timeout:
            reports = {service: _health(check, service) for service in services}
            unhealthy = [s for s, r in reports.items() if not (r and r.get("broker") and r.get("database"))]
            left = event_backlog(api, amqp_uri, vhost) + sum((r or {}).get("outbox_backlog") or 0
                                                             for r in reports.values())
            peak = max(peak, left)
            bar.update(task, total=peak, completed=peak - left,
                       description=f"draining the platform's queues ({left} events left"
                                   + (f"; waiting for {', '.join(unhealthy)}" if unhealthy else "") + ")")
            zero_seen = zero_seen + 1 if left == 0 and not unhealthy else 0
            if zero_seen >= 2:
                return time.monotonic() - started
            time.sleep(interval)
    raise TimeoutError(f"the platform did not drain within {timeout} s")


def _health(check, service):
    try:
        return check(service, 5)
    except Exception:  # not answering yet: reported as unhealthy, and asked again
        return None


def replay(amqp_uri, service, limit=None):
    """Move dead-lettered messages of `service` back to their original queues; return how many.

    Each is republished (with confirms) before it is taken off the DLQ, so a crash mid-way
    duplicates at worst, and handlers are idempotent. It goes through the service's retry
    exchange (`<service>.retry`, which every handler queue of the service is bound to by its
    name: shared/handlers.py), so replaying needs the right to publish there, not into any queue;
    one that no queue takes (its service not started since it got that exchange) stays put."""
    replayed = 0
    exchange = f"{service}.retry"
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
            try:
                confirming.basic_publish_confirm(
                    confirming.prepare_message(message.body, content_type=message.content_type,
                                               content_encoding=message.content_encoding,
                                               headers=headers,
                                               properties={"delivery_mode": 2,
                                                           "user_id": conn.info()["userid"]}),
                    exchange=exchange, routing_key=target, mandatory=True)
            except ChannelError as exc:  # unroutable: the broker returned it
                channel.basic_reject(message.delivery_tag, requeue=True)
                raise RuntimeError(f"{target} is not bound to {exchange} ({exc}): start {service} "
                                   "first; the message is left in place") from None
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
    parser.add_argument("command", nargs="?", default="list", choices=["list", "dlq", "replay", "wait"])
    parser.add_argument("service", nargs="*")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--all", action="store_true", help="also list RPC reply queues")
    args = parser.parse_args(argv)
    logging.getLogger("amqp").setLevel(logging.ERROR)  # "Received method ... during closing channel"
    amqp_uri, source = platform_amqp_uri()
    api = ManagementApi(os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"))
    vhost = _vhost(amqp_uri)
    service = args.service[0] if args.service else None
    if args.command == "wait":
        seconds = wait_drained(api, amqp_uri, args.service)
        print(f"[run] queues drained in {seconds:.0f} s")
        return 0
    print(f"{args.command}: {_where(amqp_uri)} (from {source})")
    if args.command == "list":
        rows = queue_rows(api, vhost, args.all)
        _table(rows, ["queue", "depth", "unacked", "consumers", "in_per_s", "out_per_s", "dlq"])
        if not any(row["queue"] == "rpc-registry" for row in rows):
            elsewhere = [v for v in platform_vhosts(api) if v != vhost]
            print("no platform here" + (f"; platforms in vhost(s) {', '.join(elsewhere)}: "
                                         "AMQP_URI=pyamqp://guest:guest@HOST:5672/<vhost> make queues"
                                         if elsewhere else ""))
    elif args.command == "dlq":
        _table(dead_letters(api, vhost, service),
               ["dlq", "queue", "event_type", "event_id", "attempts", "error_type", "error", "at"])
    else:
        if not service:
            parser.error("replay needs a SERVICE")
        print(f"replayed {replay(amqp_uri, service, args.limit)} message(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
