"""Fixtures for the notifications service: the service in-process, a real SMTP server on
loopback (aiosmtpd, in its own process), and publishing events exactly as producers do."""

import mailbox
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import pytest

from services.notifications.service import NotificationsService
from shared import clock
from shared.amqp import ConfirmedPublisher
from shared.events import envelope


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    """A real SMTP server (aiosmtpd) writing what it receives into a Maildir."""
    maildir = tmp_path_factory.mktemp("mail") / "Maildir"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("aiosmtpd did not start") from None
            time.sleep(0.1)
    yield {"host": "127.0.0.1", "port": port, "mailbox": lambda: mailbox.Maildir(str(maildir))}
    proc.terminate()
    proc.wait(timeout=5)


@pytest.fixture
def notif_config(config, smtp_server):
    return {**config, "NOTIFICATIONS": {
        "smtp_host": smtp_server["host"], "smtp_port": smtp_server["port"],
        # timers are fired by the tests through entrypoint_hook, not by the clock
        "tick_seconds": 3600, "digest_tick_seconds": 3600, "retry_seconds": [60, 300]}}


@pytest.fixture
def start_service(container_factory, notif_config, frozen_clock):
    """Starts the service with the clock frozen at 2026-11-02 09:00 UTC (17:00 in the community)."""
    def start(service_cls=NotificationsService, **settings):
        """`settings` override keys of the NOTIFICATIONS section (UPPER_CASE ones: kit keys)."""
        kit = {k: v for k, v in settings.items() if k.isupper()}
        section = {k: v for k, v in settings.items() if not k.isupper()}
        config = {**notif_config, **kit, "NOTIFICATIONS": {**notif_config["NOTIFICATIONS"], **section}}
        container = container_factory(service_cls, config)
        container.start()
        return container
    return start


@pytest.fixture
def service(start_service):
    return start_service()


@pytest.fixture
def ndb(config, mongo_client):
    return mongo_client[f"{config['MONGO_DB_PREFIX']}notifications"]


class Events:
    """Publishes catalogue events to RabbitMQ as their producers do."""

    def __init__(self, amqp_uri):
        self.publisher = ConfirmedPublisher(amqp_uri)

    def envelope(self, type, payload, occurred_at=None):
        # events happen at the (frozen) time of the test, as a producer's clock would say
        return envelope(type, payload, source=type.split(".")[0], correlation_id="test",
                        occurred_at=occurred_at or clock.now())

    def publish(self, *envelopes):
        self.publisher.publish_batch([(f"{e['source']}.events", e["type"].split(".", 1)[1], e,
                                       {"nameko.correlation_id": e["correlation_id"]}) for e in envelopes])
        return envelopes[-1] if envelopes else None

    def emit(self, type, payload):
        return self.publish(self.envelope(type, payload))

    # the registry's facts, with sensible defaults

    def resident(self, resident_id, grid_code="3", household_id=None, birth_date=date(1985, 5, 1), **kw):
        return self.emit("registry.resident_registered", {
            "resident_id": resident_id, "household_id": household_id or f"H-{resident_id}",
            "grid_code": grid_code, "name": kw.pop("name", f"Resident {resident_id}"), "sex": "F",
            "birth_date": birth_date, "residence_type": "registered", **kw})

    def staff(self, staff_id, role="grid_worker", grid_code="3", **kw):
        return self.emit("registry.grid_staff_assigned", {
            "staff_id": staff_id, "role": role, "grid_code": grid_code,
            "name": kw.pop("name", f"Staff {staff_id}"), **kw})

    def dispatched(self, incident_id, assignee, grid_code="3", priority="normal", **kw):
        return self.emit("grid_events.incident_dispatched", {
            "incident_id": incident_id, "grid_code": grid_code, "category": "sanitation",
            "priority": priority, "assignee_staff_id": assignee,
            "accept_by": kw.pop("accept_by", datetime(2026, 11, 2, 12, 0, tzinfo=UTC)),
            "summary": kw.pop("summary", "rubbish piled at the gate"), **kw})


@pytest.fixture
def events(config):
    publisher = Events(config["AMQP_URI"])
    yield publisher
    publisher.publisher.close()


@pytest.fixture
def listen(config):
    """`listen("notifications", "in_person_delivery_requested")` binds a queue to that producer's
    event exchange, as a consumer would; returns a function taking the envelopes received."""
    from kombu import Connection, Exchange, Queue

    conn = Connection(config["AMQP_URI"])
    channel = conn.channel()

    def bind(source, fact):
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        queue = Queue(f"test-listen-{source}-{fact}", exchange, routing_key=fact, auto_delete=True)(channel)
        queue.declare()

        def received():
            messages = []
            while (message := queue.get(no_ack=True)) is not None:
                messages.append(message.payload)
            return messages
        return received
    yield bind
    conn.release()
