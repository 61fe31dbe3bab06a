"""The console in headless Chromium (Debian's, driven by Playwright) against the gateway and the
real services, on real RabbitMQ and the database server. The gateway fixtures are the HTTP
ring's own (tests/integration/gateway/conftest.py)."""

import logging
import os
import shutil

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

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Where the main pages' screenshots go when asked (`CONSOLE_SCREENSHOTS=docs/console make test T=...`).
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@pytest.fixture
def browser():
    """One browser per test: a session-wide one stopped answering in the second test, once the
    first test's containers (and their greenthreads) were torn down."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: deploy/local/test.sh installs it")
    from playwright.sync_api import sync_playwright

    # Not `with sync_playwright()`: its exit (stopping the driver) never returns under eventlet's
    # monkey patching (seen here). Closing the browser is enough; each driver ends with the process.
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"])
    yield browser
    browser.close()


@pytest.fixture
def service_logs(tmp_path):
    """The services' JSON log lines in a file, as `make run` writes them (the trace page reads them)."""
    handler = logging.FileHandler(tmp_path / "services.log", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    # Only the kit's and the gateway's own lines: the root logger would also take the browser
    # driver's, whose lock-holding writes from its own greenlet were seen to deadlock under eventlet.
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
def login(browser, base_url, accounts):  # noqa: F811
    """`login("operator")`: a new browser page logged in through the console's form."""
    pages = []

    def open_as(role, username=None, **extra):
        username = username or f"console-{role.replace('_', '-')}-{len(pages)}"
        accounts(username, role, **extra)
        context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(base_url + "/console/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login")
        page.wait_for_load_state()
        pages.append(page)
        return page

    yield open_as
    # Leave each page on a blank one (its polling stops); `context.close()` was seen to wait
    # forever under eventlet here, and the contexts go with the browser at the end of the session.
    for page in pages:
        page.goto("about:blank")


def screenshot(page, name):
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def platform(runner_factory, console_config):
    from services.gateway.service import GatewayService
    from services.grid_events.service import GridEventsService
    from services.notifications.service import NotificationsService
    from services.registry.service import RegistryService
    from tests.integration.kit_services import OrdersService, ShippingService

    runner = runner_factory(console_config, GatewayService, RegistryService, GridEventsService,
                            NotificationsService, OrdersService, ShippingService)
    runner.start()
    return runner
