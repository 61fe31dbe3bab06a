"""The night market's violation chain, every service real and running together:
one inspection finding → `market.violation_recorded` → finance posts the fine receivable,
notifications tells the vendor, grid_events
opens an incident in the market's grid when it is a public-order matter — all under the
correlation id of the inspector's request, each applied exactly once even when the event is
delivered twice.

Nothing here calls a handler or reads one service's data to feed another: the vendor is a
resident the market learned of from the registry's event."""

import logging
from collections import defaultdict
from datetime import date

import pytest
from nameko.events import event_handler as nameko_event_handler
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from stdnum.cn import ric

from services.finance.service import FinanceService
from services.grid_events.service import GridEventsService
from services.market.service import MarketService
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService
from tests.integration.market.conftest import RULE_BOOK
from tests.support import wait_until

ADMIN = {"id": "ops-1", "role": "community_admin"}
OFFICER = {"id": "MO-1", "role": "market_officer"}
INSPECTOR = {"id": "IN-1", "role": "inspector"}
HEARD = defaultdict(list)


class Listener:
    """Hears the chain's events off RabbitMQ, as any consumer would."""

    name = "market_chain_listener"

    @nameko_event_handler("market", "violation_recorded")
    def on_violation(self, body):
        HEARD["market.violation_recorded"].append(body)

    @nameko_event_handler("grid_events", "incident_reported")
    def on_incident(self, body):
        HEARD["grid_events.incident_reported"].append(body)


def id_number(birth, sequence):
    body = f"350582{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def platform(runner_factory, config, frozen_clock):
    HEARD.clear()
    config = {
        **config,
        "NOTIFICATIONS": {"smtp_host": "127.0.0.1", "smtp_port": 1,
                          "tick_seconds": 3600, "digest_tick_seconds": 3600},
        "MARKET": {"zone_grids": {"A": "G7"}, "fee_tick_seconds": 3600, "licence_tick_seconds": 3600},
    }
    runner = runner_factory(
        config,
        RegistryService,
        GridEventsService,
        NotificationsService,
        MarketService,
        FinanceService,
        Listener,
    )
    runner.start()
    return config


def test_one_finding_fans_out_once_under_one_correlation_id(platform, mongo_client, caplog):
    config = platform
    db = mongo_client
    prefix = config["MONGO_DB_PREFIX"]
    with ClusterRpcProxy(config, context_data={"actor": ADMIN}) as admin:
        admin.registry.define_grid({"code": "G7", "name": "夜市网格", "buildings": ["B71"]})
        worker = admin.registry.assign_grid_staff(
            {"grid_code": "G7", "role": "grid_worker", "name": "夜市网格员", "phone": "13800000007"}
        )["staff_id"]
        household = admin.registry.register_household(
            {"building": "B71", "unit": "1", "room": "101", "kind": "owner"}
        )
        resident = admin.registry.register_resident(
            {
                "name": "黄阿姨",
                "id_number": id_number(date(1968, 3, 9), 42),
                "phone": "13912345678",
                "household_id": household["household_id"],
                "residence_type": "registered",
            }
        )["resident_id"]
    wait_until(
        lambda: db[prefix + "market"].residents.find_one({"_id": resident}),
        timeout=20,
        message="the market hears of the resident",
    )
    wait_until(
        lambda: db[prefix + "notifications"].people.find_one({"_id": resident}),
        timeout=20,
        message="notifications hears of the resident",
    )

    with ClusterRpcProxy(config, context_data={"actor": OFFICER}) as office:
        office.market.lay_out_stalls(
            {
                "stalls": [
                    {
                        "zone": "A",
                        "number": 1,
                        "kind": "food_fire",
                        "size_m2": 6,
                        "power": True,
                        "water": True,
                    }
                ]
            }
        )
        vendor = office.market.register_vendor(
            {
                "resident_id": resident,
                "goods_category": "food_fire",
                "business_licence": {"number": "BL-1", "expires_on": "2027-06-30"},
                "food_hygiene_certificate": {"number": "FH-1", "expires_on": "2027-06-30"},
            }
        )["vendor_id"]
        book = office.market.propose_rules({**RULE_BOOK, "emergency": True})
        office.market.publish_rules({"rule_book_id": book["rule_book_id"]})
        office.market.allocate_stall(
            {
                "mode": "direct",
                "stall_id": "S-A001",
                "vendor_id": vendor,
                "term_start": "2026-11-01",
                "term_end": "2027-10-31",
            }
        )
        office.market.open_night({"date": "2026-11-02"})

    with ClusterRpcProxy(
        config, context_data={"actor": INSPECTOR, "correlation_id": "e2e-market-1"}
    ) as rounds:
        inspection = rounds.market.start_inspection({"night_id": "N-20261102"})
    with ClusterRpcProxy(
        config, context_data={"actor": INSPECTOR, "correlation_id": "e2e-market-2"}
    ) as rounds:
        violation = rounds.market.record_violation(
            {
                "inspection_id": inspection["inspection_id"],
                "stall_id": "S-A001",
                "violation_type": "fighting",
                "description": "两摊主争执后动手",
                "evidence": ["photo://ins/fight-1.jpg"],
            }
        )
    assert violation["public_order"] is True and violation["grid_code"] == "G7"

    [recorded] = wait_until(lambda: HEARD["market.violation_recorded"], message="violation_recorded")
    assert recorded["correlation_id"] == "e2e-market-2"
    notifications = db[prefix + "notifications"].notifications
    incidents = db[prefix + "grid_events"].incidents

    receivables = db[prefix + "finance"].receivables
    journal = db[prefix + "finance"].journal

    def effects():
        told = list(notifications.find({"event_type": "market.violation_recorded"}))
        opened = list(incidents.find({"market_violation_id": violation["violation_id"]}))
        owed = receivables.find_one({"_id": violation["violation_id"]})
        return (told, opened, owed) if told and opened and owed else None

    told, opened, owed = wait_until(
        effects, timeout=30, message="the fine owed, the vendor told and the incident opened"
    )
    assert owed["amount_fen"] == violation["fine_fen"] == 100000 and owed["payer"] == vendor
    [entry] = journal.find({"reference": violation["violation_id"]})
    assert entry["fact_id"] == recorded["event_id"]  # posted from this very event
    assert {n["recipient"] for n in told} == {resident} and {n["event_id"] for n in told} == {
        recorded["event_id"]
    }
    [incident] = opened
    assert incident["grid_code"] == "G7" and incident["category"] == "public_order"
    assert incident["source"] == "market" and incident["assignee_staff_id"] == worker
    [reported] = wait_until(lambda: HEARD["grid_events.incident_reported"], message="incident_reported")
    assert (
        reported["correlation_id"] == "e2e-market-2" and reported["causation_id"] == recorded["event_id"]
    )

    # the same event delivered again: each consumer says it already applied it, and nothing doubles
    caplog.set_level(logging.INFO, logger="shared.handlers")
    event_dispatcher(config)("market", "violation_recorded", recorded)

    def ignored_by():
        return {
            r.service
            for r in caplog.records
            if r.getMessage().startswith("duplicate delivery")
            and getattr(r, "event_id", None) == recorded["event_id"]
        }

    wait_until(
        lambda: ignored_by() == {"finance", "grid_events", "notifications"},
        timeout=20,
        message="both consumers ignore the second delivery",
    )
    assert notifications.count_documents({"event_type": "market.violation_recorded"}) == len(told)
    assert incidents.count_documents({"market_violation_id": violation["violation_id"]}) == 1
    assert receivables.count_documents({"_id": violation["violation_id"]}) == 1
    assert journal.count_documents({"reference": violation["violation_id"]}) == 1

    # a finding that is not a public-order matter: the vendor is told, no incident is opened
    with ClusterRpcProxy(
        config, context_data={"actor": INSPECTOR, "correlation_id": "e2e-market-3"}
    ) as rounds:
        minor = rounds.market.record_violation(
            {
                "inspection_id": inspection["inspection_id"],
                "stall_id": "S-A001",
                "violation_type": "unsorted_waste",
                "description": "垃圾未分类",
            }
        )
    [minor_event] = wait_until(
        lambda: [
            e
            for e in HEARD["market.violation_recorded"]
            if e["payload"]["violation_id"] == minor["violation_id"]
        ],
        message="the second violation",
    )
    wait_until(
        lambda: (
            {
                r.service
                for r in caplog.records
                if r.getMessage().startswith("handled by on_market_violation")
                and getattr(r, "event_id", None) == minor_event["event_id"]
            }
            == {"grid_events", "notifications"}
        ),
        timeout=20,
        message="both consumers handle the minor violation",
    )
    assert notifications.count_documents({"event_id": minor_event["event_id"]}) >= 1
    assert incidents.count_documents({"market_violation_id": minor["violation_id"]}) == 0
