"""`health()` for every service: broker and database reachable, outbox backlog, DLQ depth.

    probe = HealthProbe()

    @rpc
    def health(self):
        return self.probe()
"""

from kombu import Connection
from nameko.extensions import DependencyProvider

from shared import clock
from shared.handlers import dead_letter_queue
from shared.mongo import Mongo


class HealthProbe(DependencyProvider):
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
