"""The market on real RabbitMQ and the MongoDB-compatible server.

`market` builds a small real market through the service's own RPCs: a few stalls in two zones,
outside vendors (valid ID numbers and phones), and the rule book adopted by their vote."""

import itertools
from collections import defaultdict
from datetime import date

import pytest
from nameko.events import event_handler as nameko_event_handler
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import get_container
from stdnum.cn import ric

from services.market.service import MarketService
from shared import events
from tests.support import wait_until

OFFICER = {"id": "MO-1", "role": "market_officer"}
INSPECTOR = {"id": "IN-1", "role": "inspector"}
TODAY = date(2026, 11, 2)  # frozen_clock's day
_ids = itertools.count(1)

RULE_BOOK = {
    "title": "阳光夜市经营管理公约",
    "effective_on": "2026-10-01",
    "thresholds": {"warning": 6, "suspension": 12, "suspension_nights": 7, "revocation": 24},
    "violation_types": {
        "beyond_stall_line": {
            "name": "超出摊位线",
            "points": 2,
            "fine_fen": 5000,
            "public_order": False,
        },
        "hygiene": {"name": "卫生不达标", "points": 3, "fine_fen": 10000, "public_order": False},
        "noise_after_hours": {"name": "夜间噪音", "points": 2, "fine_fen": 5000, "public_order": False},
        "open_flame_without_permit": {
            "name": "无证明火",
            "points": 6,
            "fine_fen": 50000,
            "public_order": True,
        },
        "short_weight_or_price_fraud": {
            "name": "短斤缺两",
            "points": 6,
            "fine_fen": 30000,
            "public_order": False,
        },
        "blocked_fire_lane": {
            "name": "占用消防通道",
            "points": 6,
            "fine_fen": 50000,
            "public_order": True,
        },
        "fighting": {"name": "打架斗殴", "points": 12, "fine_fen": 100000, "public_order": True},
        "unsorted_waste": {"name": "垃圾未分类", "points": 1, "fine_fen": 2000, "public_order": False},
    },
}


def id_number(birth=date(1980, 5, 17), district="350582"):
    body = f"{district}{birth:%Y%m%d}{next(_ids) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it skips the last character


def phone():
    return f"1391234{next(_ids) % 10000:04d}"


RECEIVED = defaultdict(list)


def _recorder():
    """A service that hears every market event as a consumer would, off RabbitMQ."""
    attrs = {"name": "market_recorder"}
    for spec in events.all_specs():
        if spec.source == "market":

            def record(self, body, _type=spec.type):
                RECEIVED[_type].append(body)

            attrs[f"on_{spec.name}"] = nameko_event_handler("market", spec.name)(record)
    return type("MarketRecorder", (), attrs)


Recorder = _recorder()


@pytest.fixture
def market_config(config):
    return {
        **config,
        "MARKET": {
            "zone_grids": {"A": "G7", "B": "G6"},
            "adoption_quorum": 0.5,
            "adoption_majority": 0.5,
            "fee_tick_seconds": 3600,
            "licence_tick_seconds": 3600,
        },
    }


@pytest.fixture
def services(runner_factory, market_config, frozen_clock):
    RECEIVED.clear()
    runner = runner_factory(market_config, MarketService, Recorder)
    runner.start()
    return runner


@pytest.fixture
def mdb(config, mongo_client):
    return mongo_client[f"{config['MONGO_DB_PREFIX']}market"]


@pytest.fixture
def emitted(services):
    """Envelopes of one market event type as published on RabbitMQ; waits for `count` of them."""

    def of(event_type, count=1):
        if count:
            wait_until(lambda: len(RECEIVED[event_type]) >= count, message=f"{count} x {event_type}")
        return list(RECEIVED[event_type])

    return of


@pytest.fixture
def fire(services):
    """Run one of the market's timers now (time comes from frozen_clock)."""
    container = get_container(services, MarketService)

    def run(method):
        with entrypoint_hook(container, method) as hook:
            return hook()

    return run


class Market:
    """A small market built through the RPCs, as the office."""

    def __init__(self, as_actor):
        self.as_actor = as_actor
        self.office = as_actor(OFFICER).market
        self.inspector = as_actor(INSPECTOR).market

    def vendor_actor(self, vendor_id):
        return self.as_actor({"id": vendor_id, "role": "vendor"}).market

    def lay_out(self, zones=("A", "B"), per_zone=4, kinds=("food_fire", "goods")):
        stalls = [
            {
                "zone": z,
                "number": n,
                "kind": kinds[(n - 1) % len(kinds)],
                "size_m2": 6,
                "power": True,
                "water": n % 2 == 0,
            }
            for z in zones
            for n in range(1, per_zone + 1)
        ]
        self.office.lay_out_stalls({"stalls": stalls})
        return stalls

    def vendor(self, category="food_fire", **extra):
        payload = {
            "name": "陈摊主",
            "id_number": id_number(),
            "phone": phone(),
            "goods_category": category,
            "business_licence": {"number": f"BL{next(_ids):06d}", "expires_on": "2027-06-30"},
            **extra,
        }
        if category in ("food_fire", "food_no_fire") and "food_hygiene_certificate" not in extra:
            payload["food_hygiene_certificate"] = {
                "number": f"FH{next(_ids):06d}",
                "expires_on": "2027-03-31",
            }
        return self.office.register_vendor(payload)["vendor_id"]

    def active_vendors(self):
        return [
            v["vendor_id"]
            for v in self.office.list_vendors({"status": "active", "page_size": 500})["items"]
        ]

    def adopt(self, book=None, voters=None):
        """Propose `book`, every vendor in `voters` (default: all active) votes for it, publish."""
        book = self.office.propose_rules(book or RULE_BOOK)
        for vendor_id in self.active_vendors() if voters is None else voters:
            self.vendor_actor(vendor_id).vote_on_rules(
                {"rule_book_id": book["rule_book_id"], "vendor_id": vendor_id, "ballot": "for"}
            )
        return self.office.publish_rules({"rule_book_id": book["rule_book_id"]})

    def give_stall(self, stall_id, vendor_id):
        return self.office.allocate_stall(
            {
                "mode": "direct",
                "stall_id": stall_id,
                "vendor_id": vendor_id,
                "term_start": "2026-11-01",
                "term_end": "2027-10-31",
            }
        )


@pytest.fixture
def market(services, as_actor):
    return Market(as_actor)
