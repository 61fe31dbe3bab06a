"""`health()` for every service: broker and database reachable, outbox backlog, DLQ depth.

    probe = HealthProbe()

    @rpc
    def health(self):
        return self.probe()

With `HEALTH_FILE` set (Kubernetes), each instance also writes its own report there every
`HEALTH_FILE_SECONDS`: an RPC `health()` is answered by whichever instance takes it from the shared
queue, so a pod's probes read the file its own process wrote (`deploy.healthcheck --file`).
"""

import json
import logging
import os

import eventlet
from kombu import Connection
from nameko.extensions import DependencyProvider

from shared import clock
from shared.handlers import dead_letter_queue
from shared.mongo import Mongo

log = logging.getLogger(__name__)


class HealthProbe(DependencyProvider):
    def start(self):
        path = self.container.config.get("HEALTH_FILE")
        if path:
            every = float(self.container.config.get("HEALTH_FILE_SECONDS", 15))
            self.container.spawn_managed_thread(lambda: self._write_reports(path, every),
                                                identifier="health_file")

    def _write_reports(self, path, every):
        while True:
            try:
                with open(f"{path}.tmp", "w") as out:
                    json.dump(self.report(), out)
                os.replace(f"{path}.tmp", path)  # a probe never reads half a report
            except OSError:
                log.warning("could not write the health file %s", path, exc_info=True)
            eventlet.sleep(every)

    def _mongo(self):
        return next((dep for dep in self.container.dependencies if isinstance(dep, Mongo)), None)

    def report(self):
        service = self.container.service_name
        report = {"service": service, "checked_at": clock.now().isoformat(),
                  "broker": False, "database": False, "outbox_backlog": None, "dlq_depth": None}
        mongo = self._mongo()
        if mongo is not None:
            try:
                mongo.db.command("ping")
                report["database"] = True
                report["outbox_backlog"] = mongo.relay.backlog()
            except Exception as exc:
                report["database_error"] = repr(exc)
            report["relay"] = mongo.relay.status()
        try:
            with Connection(self.container.config["AMQP_URI"], connect_timeout=3) as conn:
                queue = dead_letter_queue(service, self.container.config)(conn.default_channel)
                queue.declare()  # idempotent; creates the DLQ if no handler did yet
                report["dlq_depth"] = queue.queue_declare(passive=True).message_count
                report["broker"] = True
        except Exception as exc:
            report["broker_error"] = repr(exc)
        relay_failing = (report.get("relay") or {}).get("failures", 0) > 0
        healthy = report["broker"] and report["database"] and not report["dlq_depth"] and not relay_failing
        report["status"] = "ok" if healthy else "degraded"
        return report

    def get_dependency(self, worker_ctx):
        return self.report
