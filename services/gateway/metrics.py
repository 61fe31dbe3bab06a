"""Prometheus metrics (prometheus-client): what the gateway counts as requests pass, and what it
asks for at scrape time (queues from the RabbitMQ management API, outbox backlog and DLQ depth
from each service's `health` RPC)."""

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

disable_created_metrics()  # `_created` series double the output and tell an operator nothing

REGISTRY = CollectorRegistry()

HTTP_REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("gateway_http_request_seconds", "HTTP request latency", ["method", "route"],
                         buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5), registry=REGISTRY)
RPC_ERRORS = Counter("gateway_rpc_errors_total", "RPC calls that ended in an error, by service and code",
                     ["service", "code"], registry=REGISTRY)
QUEUE_DEPTH = Gauge("rabbitmq_queue_messages", "messages ready in a queue", ["queue"], registry=REGISTRY)
QUEUE_UNACKED = Gauge("rabbitmq_queue_messages_unacknowledged", "messages delivered, not yet acked",
                      ["queue"], registry=REGISTRY)
QUEUE_CONSUMERS = Gauge("rabbitmq_queue_consumers", "consumers of a queue", ["queue"], registry=REGISTRY)
OUTBOX_BACKLOG = Gauge("service_outbox_backlog", "events committed but not yet published",
                       ["service"], registry=REGISTRY)
DLQ_DEPTH = Gauge("service_dlq_depth", "dead-lettered messages waiting for an operator", ["service"],
                  registry=REGISTRY)
SERVICE_UP = Gauge("service_up", "1 when the service answered its health RPC with broker and database",
                   ["service"], registry=REGISTRY)
SCRAPE_ERRORS = Counter("gateway_scrape_errors_total", "sources that could not be read at scrape time",
                        ["source"], registry=REGISTRY)


def observe_request(method, route, status, seconds):
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def rpc_error(service, code):
    RPC_ERRORS.labels(service, code).inc()


def set_queues(rows):
    for gauge in (QUEUE_DEPTH, QUEUE_UNACKED, QUEUE_CONSUMERS):
        gauge.clear()  # a deleted queue must not linger with its last value
    for row in rows:
        QUEUE_DEPTH.labels(row["queue"]).set(row["depth"])
        QUEUE_UNACKED.labels(row["queue"]).set(row["unacked"])
        QUEUE_CONSUMERS.labels(row["queue"]).set(row["consumers"])


def set_health(service, report):
    """`report`: the service's health() answer, or None when it did not answer."""
    up = bool(report and report.get("broker") and report.get("database"))
    SERVICE_UP.labels(service).set(1 if up else 0)
    for gauge, key in ((OUTBOX_BACKLOG, "outbox_backlog"), (DLQ_DEPTH, "dlq_depth")):
        value = (report or {}).get(key)
        if value is None:
            try:
                gauge.remove(service)  # no figure is better than a stale one
            except KeyError:
                pass
        else:
            gauge.labels(service).set(value)


def exposition():
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
