"""Each service's settings: one section of deploy/nameko.yaml named after it, read one way.

    GRID_EVENTS:                       # section = the service name in capitals
      auto_close_days: ${GRID_AUTO_CLOSE_DAYS:7}

    class GridEventsService:
        settings = ServiceConfig()     # self.settings.get("auto_close_days", 7)

Kit-wide keys (AMQP_URI, MONGO_URI, OUTBOX_*, EVENT_RETRY, TRANSACTION_RETRY_SECONDS) stay at the
top level. Tests override a service's settings by passing its section.
"""

from nameko.extensions import DependencyProvider


def section_name(service_name):
    return service_name.upper()


def service_settings(config, service_name):
    """The service's section of the config (an empty dict if it has none)."""
    return dict((config or {}).get(section_name(service_name)) or {})


class ServiceConfig(DependencyProvider):
    """Injects the service's own section of the config as a dict."""

    def get_dependency(self, worker_ctx):
        return service_settings(self.container.config, self.container.service_name)
