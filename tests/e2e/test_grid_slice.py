"""The first slice end to end, every service real and running together:
registry → grid_events → notifications, over real RabbitMQ and a real MongoDB-compatible server.

Facts fan out through the outbox relays and the reliable handlers; nothing here calls a
handler directly or reads one service's data to feed another."""

from datetime import date

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from stdnum.cn import ric

from services.grid_events.service import GridEventsService
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService
from tests.support import wait_until

ADMIN = {"id": "ops-1", "role": "community_admin"}


def id_number(birth, sequence):
    body = f"110105{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


@pytest.fixture
def platform(runner_factory, config, frozen_clock):
    config = {**config, "NOTIFICATIONS": {"smtp_host": "127.0.0.1", "smtp_port": 1,
                                          "tick_seconds": 3600, "digest_tick_seconds": 3600}}
    runner = runner_factory(config, RegistryService, GridEventsService, NotificationsService)
    runner.start()
    with ClusterRpcProxy(config, context_data={"actor": ADMIN, "correlation_id": "e2e-1"}) as cluster:
        yield cluster


@pytest.fixture
def community(platform):
    """Three grids with a worker each, a household in grid 3 and a resident in it."""
    workers = {}
    for n in (1, 2, 3):
        code = f"G{n}"
        platform.registry.define_grid({"code": code, "name": f"第{n}网格",
                                       "buildings": [f"B{n}{b}" for b in range(1, 4)]})
        staff = platform.registry.assign_grid_staff({"grid_code": code, "role": "grid_worker",
                                                     "name": f"网格员{n}", "phone": f"1380000000{n}"})
        workers[code] = staff["staff_id"]
    household = platform.registry.register_household({"building": "B31", "unit": "1", "room": "302",
                                                      "kind": "tenant"})
    resident = platform.registry.register_resident({
        "name": "林美华", "id_number": id_number(date(1985, 4, 12), 21), "phone": "13912345678",
        "household_id": household["household_id"], "residence_type": "floating"})
    return {"workers": workers, "household": household, "resident": resident}


def _notifications(platform, **match):
    log = platform.notifications.delivery_log({"limit": 1000})
    return [n for n in log if all(n.get(key) == value for key, value in match.items())]


def test_an_incident_in_grid_3_reaches_grid_3s_worker_once_and_nobody_else(platform, community, config,
                                                                            mongo_client):
    assert community["household"]["grid_code"] == "G3"
    worker = community["workers"]["G3"]
    people = mongo_client[config["MONGO_DB_PREFIX"] + "notifications"].people
    # notifications learns staff only from registry.grid_staff_assigned: let those arrive first
    wait_until(lambda: people.count_documents({"_id": {"$in": list(community["workers"].values())}}) == 3,
               message="grid workers known to notifications")

    incident = platform.grid_events.report_incident({
        "category": "sanitation", "description": "楼道垃圾堆放三天未清理",
        "address": {"building": "B31", "unit": "1", "room": "302"},
        "reporter_resident_id": community["resident"]["resident_id"]})
    assert incident["grid_code"] == "G3"

    dispatched = wait_until(
        lambda: [n for n in _notifications(platform, event_type="grid_events.incident_dispatched")
                 if n["status"] in ("sent", "queued")],
        timeout=20, message="the dispatch notification")
    wait_until(lambda: platform.grid_events.get_incident(incident["incident_id"])["status"] == "dispatched")
    recipients = {n["recipient"] for n in dispatched}
    assert recipients == {worker}
    per_channel = {}
    for n in dispatched:
        per_channel[n["channel"]] = per_channel.get(n["channel"], 0) + 1
    assert all(count == 1 for count in per_channel.values()), per_channel
    others = set(community["workers"].values()) - {worker}
    for other in others:
        assert not [n for n in _notifications(platform, recipient=other)
                    if n["event_type"].startswith("grid_events.")]


def test_a_party_member_moving_in_becomes_a_visit_task_and_the_grid_worker_hears_of_it(platform,
                                                                                      community):
    resident_id = community["resident"]["resident_id"]
    platform.registry.register_party_member({"resident_id": resident_id, "branch_code": "G3-B1",
                                             "joined_on": "2010-07-01"})

    task = wait_until(lambda: platform.grid_events.list_visit_tasks({"resident_id": resident_id})
                      ["items"], timeout=20, message="the must-visit task from the registry event")
    assert task[0]["kind"] == "move_in" and task[0]["grid_code"] == "G3"
    notified = wait_until(
        lambda: _notifications(platform, event_type="grid_events.visit_task_created"),
        timeout=20, message="the visit-task notification")
    assert {n["recipient"] for n in notified} == {community["workers"]["G3"]}
