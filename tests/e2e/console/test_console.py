"""The console as people use it, in a real browser: operators watch queues, replay dead letters
and trace a request; staff see only their grid; the language switches."""

import re

import pytest
import requests
from pymongo import MongoClient

from services.notifications.service import NotificationsService
from tests.e2e.console.conftest import PASSWORD, screenshot
from tests.integration import kit_services
from tests.support import wait_until

pytestmark = pytest.mark.timeout(300)
browser_test = pytest.mark.browser  # `make browser-test`: one process each (see deploy/local/test.sh)


def depth_of(page, queue_pattern):
    """The depth the queues page shows now for the first queue whose name matches."""
    for row in page.query_selector_all("#queues tbody tr"):
        if re.search(queue_pattern, row.get_attribute("data-queue") or ""):
            return int(row.query_selector(".depth").inner_text())
    return None


@browser_test
def test_operator_watches_a_queue_grow_while_its_consumer_is_down_and_drain_after(
        login, platform, container_factory, console_config, community):
    page = login("operator")
    page.goto(page.url.split("/console")[0] + "/console/queues")
    welcome = r"evt-registry-resident_registered--notifications\."
    page.wait_for_function("() => document.querySelectorAll('#queues tbody tr').length > 0")

    notifications = next(c for c in platform.containers if c.service_name == "notifications")
    notifications.stop()
    for n in range(6):
        community.add_resident("G1", f"新居民{n}")
    wait_until(lambda: (depth_of(page, welcome) or 0) >= 6, timeout=30)  # the page polls by itself
    screenshot(page, "queues")

    container_factory(NotificationsService, console_config).start()
    wait_until(lambda: depth_of(page, welcome) == 0, timeout=60)


@browser_test
def test_operator_finds_a_dead_letter_replays_it_and_it_is_applied(login, platform, console_config, as_actor):
    kit_services.FAILING_ORDERS.add("O-dlq-1")
    try:
        orders = as_actor({"id": "ops", "role": "system"}).kit_orders
        orders.place_order({"order_id": "O-dlq-1", "amount_fen": 500})
        page = login("operator")
        dlq_url = page.url.split("/console")[0] + "/console/dlq"

        def dead_lettered():
            page.goto(dlq_url)
            return page.query_selector("section[data-dlq='kit_shipping.dlq'] tr.letter") is not None

        wait_until(dead_lettered, timeout=30)
        section = page.locator("section[data-dlq='kit_shipping.dlq']")
        assert "kit_orders.order_placed" in section.inner_text()
        assert "no courier for O-dlq-1" in section.inner_text()
        screenshot(page, "dead-letters")

        kit_services.FAILING_ORDERS.discard("O-dlq-1")  # the fix is deployed
        section.locator("a.replay-one").click()
        page.wait_for_selector("#confirm-replay")  # a change is confirmed on a page of its own
        screenshot(page, "replay-confirm")
        page.click("#confirm-replay")
        page.wait_for_selector("#replayed")
        assert page.locator("#replayed").inner_text().endswith("1")
        assert page.query_selector("section[data-dlq='kit_shipping.dlq'] tr.letter") is None

        client = MongoClient(console_config["MONGO_URI"])
        shipments = client[f"{console_config['MONGO_DB_PREFIX']}kit_shipping"].shipments
        wait_until(lambda: shipments.count_documents({"order_id": "O-dlq-1"}) == 1, timeout=30)
        client.close()
    finally:
        kit_services.FAILING_ORDERS.discard("O-dlq-1")


def test_operator_follows_one_correlation_id_from_a_report_to_the_notification_it_caused(
        base_url, accounts, admin, community):
    """Over plain HTTP with the console's own login form (in Chromium this page hung the driver
    under eventlet here; the page is the same HTML either way)."""
    reported = admin.post("/v1/incidents", json={"category": "noise", "description": "深夜噪音",
                                                 "grid_code": "G1"},
                          headers={"X-Correlation-Id": "trace-console-1"})
    assert reported.status_code == 201, reported.text
    accounts("console-tracer", "operator")
    session = requests.Session()
    session.post(base_url + "/console/login", data={"username": "console-tracer", "password": PASSWORD},
                 timeout=30)

    def traced():
        html = session.get(base_url + "/console/trace?cid=trace-console-1&lang=en", timeout=30).text
        return html if 'class="entry handled"' in html and "notifications" in html else None

    html = wait_until(traced, timeout=60)
    assert html.count('class="entry event"') >= 2  # reported, and the dispatch it caused
    assert "grid_events.incident_reported" in html
    assert "rpc grid_events.report_incident" in html
    reported_event = re.search(r'id="ev-([0-9a-f-]+)"', html).group(1)
    assert f'href="#ev-{reported_event}"' in html  # something names the report as its cause


@browser_test
def test_a_grid_worker_of_one_grid_sees_only_that_grid(login, admin, community):
    for grid in ("G1", "G2", "G2"):
        admin.ok("POST", "/v1/incidents", json={"category": "noise", "description": f"{grid} 噪音",
                                                "grid_code": grid})
    page = login("grid_worker", grid="G2", person_id=community.worker["G2"])
    assert "/console/incidents" in page.url
    cards = page.locator("#board .incident")
    wait_until(lambda: cards.count() == 2, timeout=20)
    assert {cards.nth(i).get_attribute("data-grid") for i in range(cards.count())} == {"G2"}
    assert page.locator("header a[data-page=queues]").count() == 0  # no operator pages for staff
    page.goto(page.url.split("/console")[0] + "/console/queues")
    assert page.locator("#refused").count() == 1
    screenshot(page, "incidents-board")


@browser_test
def test_the_language_switches_between_chinese_and_english(login):
    page = login("operator")
    assert page.locator("header a[data-page=queues]").inner_text() == "队列"
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("header a[data-page=queues]").inner_text() == "Queues"
    page.goto(page.url.split("?")[0])  # the choice is remembered
    assert page.locator("header a[data-page=queues]").inner_text() == "Queues"
