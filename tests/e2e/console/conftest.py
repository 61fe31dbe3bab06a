"""The console in headless Chromium (Debian's, driven by Playwright) against the gateway and the
real services, on real RabbitMQ and the database server. The gateway fixtures are the HTTP
ring's own (tests/integration/gateway/conftest.py)."""

import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import eventlet
import pytest

from shared.logs import JsonFormatter
from tests.integration.gateway.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    Community,
    accounts,
    admin,
    base_url,
    client,
    community,
    gateway_config,
    gateway_db,
)

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class BrowserFailed(AssertionError):
    pass


class Browser:
    """The test's end of tests/e2e/console/driver.py: Chromium in a process of its own (this one is
    monkey-patched by eventlet, where Playwright's sync driver hangs). Every answer is awaited
    with a deadline: a browser that stops answering fails the test, and is killed with its
    process group."""

    def __init__(self, url, log_path, max_seconds=240):
        self.base_url = url
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.console.driver", url, "--max-seconds", str(max_seconds)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, start_new_session=True)
        self._answer(timeout=60)  # "ready": Chromium started

    def _answer(self, timeout):
        try:
            with eventlet.Timeout(timeout):
                line = self.process.stdout.readline()
        except eventlet.Timeout:
            self.stop(hung=True)
            raise BrowserFailed(f"the browser did not answer in {timeout} s{self._tail()}") from None
        if not line:
            self.stop()
            raise BrowserFailed(f"the browser process ended ({self.process.returncode}){self._tail()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise BrowserFailed(f"{answer['error']}\n{answer.get('trace', '')}")
        return answer["value"]

    def call(self, op, timeout=30, **args):
        self.process.stdin.write((json.dumps({"op": op, **args}, ensure_ascii=False) + "\n").encode())
        self.process.stdin.flush()
        return self._answer(timeout)

    def login(self, name, username, password=PASSWORD, **extra):
        self.call("login", page=name, username=username, password=password, **extra)
        return Page(self, name)

    def open(self, name, path, **extra):
        self.call("open", page=name, path=path, **extra)
        return Page(self, name)

    def _tail(self):
        text = Path(self.log_path).read_text("utf-8", errors="replace")[-3000:]
        return f"; its last words:\n{text}" if text.strip() else ""

    def stop(self, hung=False):
        if self.process.poll() is None and not hung:  # asked to quit; killed if it does not
            try:
                with eventlet.Timeout(15):
                    self.process.stdin.write(b'{"op": "quit"}\n')
                    self.process.stdin.flush()
                    self.process.wait()
            except (eventlet.Timeout, OSError):
                pass
        try:  # whatever is left of it (Chromium's own processes included)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


class Page:
    """One named page of the driver's browser: what a test reads and does on it (driver.py)."""

    def __init__(self, browser, name):
        self.browser, self.name = browser, name

    def _call(self, op, timeout=30, **args):
        return self.browser.call(op, timeout=timeout, page=self.name, **args)

    def goto(self, path):
        return self._call("goto", path=path)

    def click(self, selector, navigates=True):
        return self._call("click", selector=selector, navigates=navigates)

    def fill(self, selector, value):
        return self._call("fill", selector=selector, value=value)

    def text(self, selector):
        return self._call("text", selector=selector)

    def texts(self, selector):
        return self._call("texts", selector=selector)

    def attrs(self, selector, name):
        return self._call("attrs", selector=selector, name=name)

    def count(self, selector):
        return self._call("count", selector=selector)

    @property
    def url(self):
        return self._call("url")

    def wait(self, script, arg=None, timeout=20):
        """Until the JS function `script(arg)` is truthy in the page (the page waits; this side a
        little longer)."""
        return self._call("wait", timeout=timeout + 15, script=script, arg=arg, timeout_s=timeout)

    def wait_for(self, selector, timeout=20):
        return self._call("wait_for", timeout=timeout + 15, selector=selector, timeout_s=timeout)

    def screenshot(self, name):
        """docs/console/<name>.png when CONSOLE_SCREENSHOTS=docs/console (the README's pictures)."""
        return self._call("screenshot", timeout=60, name=name)


@pytest.fixture
def browser(base_url, tmp_path):  # noqa: F811
    """Chromium for one test, driven from a process of its own (tests/e2e/console/driver.py)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: deploy/local/test.sh installs it")
    driver = Browser(base_url, tmp_path / "browser.log")
    yield driver
    driver.stop()


@pytest.fixture
def login(browser, accounts):  # noqa: F811
    """`login("operator")`: a new account of that role, logged in through the console's form in a
    browser page of its own (named after the account); `width=390` for a phone's."""
    made = itertools.count()

    def open_as(role, username=None, width=1200, **extra):
        username = username or f"console-{role.replace('_', '-')}-{next(made)}"
        accounts(username, role, **extra)
        return browser.login(username, username, width=width)

    return open_as


@pytest.fixture
def service_logs(tmp_path):
    """The services' JSON log lines in a file, as `make run` writes them (the trace page reads them)."""
    handler = logging.FileHandler(tmp_path / "services.log", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    # Only the kit's and the gateway's own lines: what the trace page reads.
    loggers = [logging.getLogger(name) for name in ("shared.rpc", "shared.handlers", "gateway.access")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield tmp_path
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
    handler.close()


@pytest.fixture
def console_config(gateway_config, service_logs):  # noqa: F811
    return {**gateway_config, "CONSOLE_LOG_DIR": str(service_logs)}


@pytest.fixture
def platform(runner_factory, console_config):
    from services.finance.service import FinanceService
    from services.gateway.service import GatewayService
    from services.grid_events.service import GridEventsService
    from services.market.service import MarketService
    from services.notifications.service import NotificationsService
    from services.registry.service import RegistryService
    from tests.integration.kit_services import OrdersService, ShippingService

    runner = runner_factory(console_config, GatewayService, RegistryService, GridEventsService,
                            NotificationsService, FinanceService, MarketService, OrdersService,
                            ShippingService)
    runner.start()
    return runner
