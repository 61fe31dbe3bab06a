"""The console as people use it, in a real browser: operators watch queues, replay dead letters
and trace a request; staff see only their grid; the language switches.

Chromium runs in a process of its own (driver.py): these tests tell it what to do, line by line,
and act on the platform in between (stop a consumer, report an incident)."""

import pytest
from pymongo import MongoClient

from services.notifications.service import NotificationsService
from tests.integration import kit_services
from tests.support import wait_until

pytestmark = pytest.mark.timeout(240)

# The depth the queues page shows for the first queue whose name matches `pattern` (or -1).
DEPTH = """([pattern, at_least, at_most]) => {
  const rows = [...document.querySelectorAll('#queues tbody tr')];
  const row = rows.find(r => new RegExp(pattern).test(r.dataset.queue));
  const depth = row ? Number(row.querySelector('.depth').textContent) : -1;
  return depth >= at_least && depth <= at_most;
}"""
WELCOMES = r"evt-registry-resident_registered--notifications\."
# Its sparkline has risen off the baseline (a depth of 0 is drawn at y = 23 of 24).
RISEN = """([pattern]) => {
  const rows = [...document.querySelectorAll('#queues tbody tr')];
  const row = rows.find(r => new RegExp(pattern).test(r.dataset.queue));
  const points = row ? row.querySelector('polyline').getAttribute('points') || '' : '';
  return points.split(' ').some(p => parseFloat(p.split(',')[1]) < 23);
}"""


def test_operator_watches_a_queue_grow_while_its_consumer_is_down_and_drain_after(
        login, platform, container_factory, console_config, community):
    page = login("operator")
    page.goto("/console/queues")
    page.wait(DEPTH, [WELCOMES, 0, 0])  # the welcomes' queue, empty while notifications consumes

    notifications = next(c for c in platform.containers if c.service_name == "notifications")
    notifications.stop()
    for n in range(6):
        community.add_resident("G1", f"新居民{n}")
    page.wait(DEPTH, [WELCOMES, 6, 10**6], timeout=30)  # the page polls by itself: no reload
    page.wait(RISEN, [WELCOMES], timeout=30)  # the backlog seen at a glance (sampled every 5 s)
    page.screenshot("queues")

    container_factory(NotificationsService, console_config).start()
    page.wait(DEPTH, [WELCOMES, 0, 0], timeout=60)


def test_operator_finds_a_dead_letter_replays_it_and_it_is_applied(login, platform, console_config, as_actor):
    kit_services.FAILING_ORDERS.add("O-dlq-1")
    try:
        orders = as_actor({"id": "ops", "role": "system"}).kit_orders
        orders.place_order({"order_id": "O-dlq-1", "amount_fen": 500})
        page = login("operator")
        letter = "section[data-dlq='kit_shipping.dlq'] tr.letter"

        def dead_lettered():
            page.goto("/console/dlq")
            return page.count(letter) == 1

        wait_until(dead_lettered, timeout=30)
        section = page.text("section[data-dlq='kit_shipping.dlq']")
        assert "kit_orders.order_placed" in section
        assert "no courier for O-dlq-1" in section
        page.screenshot("dead-letters")

        kit_services.FAILING_ORDERS.discard("O-dlq-1")  # the fix is deployed
        page.click("section[data-dlq='kit_shipping.dlq'] a.replay-one")
        assert page.count("#confirm-replay") == 1  # a change is confirmed on a page of its own
        page.click("#confirm-replay")
        assert page.text("#replayed").endswith("1")
        assert page.count(letter) == 0  # the count went down on screen

        client = MongoClient(console_config["MONGO_URI"])
        shipments = client[f"{console_config['MONGO_DB_PREFIX']}kit_shipping"].shipments
        wait_until(lambda: shipments.count_documents({"order_id": "O-dlq-1"}) == 1, timeout=30)
        client.close()
    finally:
        kit_services.FAILING_ORDERS.discard("O-dlq-1")


def test_operator_follows_one_correlation_id_from_a_report_to_the_notification_it_caused(
        login, admin, community):
    reported = admin.post("/v1/incidents", json={"category": "noise", "description": "深夜噪音",
                                                 "grid_code": "G1"},
                          headers={"X-Correlation-Id": "trace-console-1"})
    assert reported.status_code == 201, reported.text
    page = login("operator")
    page.goto("/console/trace?lang=en")

    def traced():  # the chain runs on: ask again until notifications has handled the dispatch
        page.fill("input[name=cid]", "trace-console-1")
        page.click("#trace-go")
        return any("notifications" in row for row in page.texts("#trace tr.entry.handled"))

    wait_until(traced, timeout=60)
    events = page.texts("#trace tr.entry.event")
    assert len(events) >= 2  # reported, and the dispatch it caused
    assert any("grid_events.incident_reported" in e for e in events)
    assert any("rpc grid_events.report_incident" in r for r in page.texts("#trace tr.entry.rpc"))
    reported_row = page.attrs("#trace tr.entry.event", "id")[
        next(i for i, e in enumerate(events) if "grid_events.incident_reported" in e)]
    causes = page.attrs("#trace a.cause", "href")
    assert f"#{reported_row}" in causes  # something names the report as its cause
    page.screenshot("trace")


def test_a_grid_worker_of_grid_3_sees_only_grid_3(login, admin, community):
    admin.ok("PUT", "/v1/grids/G3", json={"name": "阳光三格", "buildings": ["B3"]})
    worker = admin.ok("POST", "/v1/staff", json={"grid_code": "G3", "role": "grid_worker",
                                                 "name": "三格网格员", "phone": "13800139003"})["staff_id"]
    for grid in ("G1", "G3", "G2", "G3"):
        admin.ok("POST", "/v1/incidents", json={"category": "noise", "description": f"{grid} 楼道噪音",
                                                "grid_code": grid})
    page = login("grid_worker", grid="G3", person_id=worker, width=390)  # on a phone, in the street
    assert "/console/incidents" in page.url
    assert page.count("#board .incident") == 2
    assert set(page.attrs("#board .incident", "data-grid")) == {"G3"}
    assert page.count("header a[data-page=queues]") == 0  # no operator pages for staff
    page.wait("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    page.screenshot("incidents-board")
    page.goto("/console/stats")
    assert page.attrs("#rates tbody tr", "data-grid") == ["G3"]
    assert page.text("#rates td[data-rate=escalation]") == "0.0%"  # of its 2 incidents, none escalated
    page.goto("/console/queues")
    assert page.count("#refused") == 1


def test_the_language_switches_between_chinese_and_english(login):
    page = login("operator")
    assert page.text("header a[data-page=queues]") == "队列"
    page.click("#lang-switch")
    assert page.text("header a[data-page=queues]") == "Queues"
    page.goto("/console/health")  # the choice is remembered
    assert page.text("header a[data-page=queues]") == "Queues"
    assert page.text("h1") == "Service health"
    page.goto("/console/trace?cid=c-42")  # switching keeps what the page was asked for
    page.click("#lang-switch")
    assert page.url.endswith("/console/trace?cid=c-42&lang=zh")
    assert page.text("header a[data-page=queues]") == "队列"
