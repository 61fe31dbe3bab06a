"""Timers whose interval is a setting, so tests can set it long and fire the use case by hand.

    @timer("tick_seconds", 30)          # NOTIFICATIONS: {tick_seconds: 30} in deploy/nameko.yaml
    def release_due(self): ...
"""

from nameko.timer import Timer

from shared.config import service_settings


class ConfigTimer(Timer):
    """A nameko timer reading its interval from the service's config section at start."""

    def __init__(self, config_key, default, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default, **kwargs)

    def setup(self):
        config = self.container.config
        section = service_settings(config, self.container.service_name)
        # A top-level key of the same name is the old flat style, read until no config uses it.
        self.interval = float(section.get(self.config_key, config.get(self.config_key, self.interval)))


timer = ConfigTimer.decorator
