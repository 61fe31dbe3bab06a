"""The demo night market (示范夜市), deterministic by seed, loaded through the market's RPCs.

    python -m services.market.demo --load      # into a running platform (after the registry demo)
    python -m services.market.demo --summary   # what the generator builds, without loading

350 stalls in zones A–G (food with fire, food without fire, goods, services), about 320 vendors
(most of them registry residents, the rest outside vendors with valid ID numbers and phones), the
current rule book with its adoption vote, stalls drawn by public lottery, and one simulated night:
open, check-ins, 10,000 visitors through four gate counters, takings, an inspection round with a
few violations including one public-order case (a fight), close. A no-op when vendors exist.
"""

import argparse
import random
import sys
import time
from datetime import timedelta

from stdnum.cn import ric

from services.market import domain
from shared import clock
from shared.loading import client_config, overlapped

DEFAULT_SEED = 2026
ZONES = {
    "A": "food_fire",
    "B": "food_fire",
    "C": "food_no_fire",
    "D": "food_no_fire",
    "E": "goods",
    "F": "goods",
    "G": "services",
}
STALLS_PER_ZONE = 50
VENDORS = 320
OUTSIDE_SHARE = 0.2
GATES = ("north", "south", "east", "west")
QUARTERS = 28  # gate counts every 15 minutes from 18:00 to 01:00
VISITORS = 10_000
OFFICER = {"id": "MO-DEMO", "role": "market_officer"}
INSPECTORS = ({"id": "IN-DEMO-1", "role": "inspector"}, {"id": "IN-DEMO-2", "role": "inspector"})

RULE_BOOK = {
    "title": "阳光夜市经营管理公约（2026年修订）",
    "thresholds": {"warning": 6, "suspension": 12, "suspension_nights": 7, "revocation": 24},
    "violation_types": {
        "beyond_stall_line": {
            "name": "超出摊位线经营",
            "points": 2,
            "fine_fen": 5000,
            "public_order": False,
        },
        "hygiene": {"name": "卫生不达标", "points": 3, "fine_fen": 10000, "public_order": False},
        "noise_after_hours": {
            "name": "超时噪音扰民",
            "points": 2,
            "fine_fen": 5000,
            "public_order": False,
        },
        "open_flame_without_permit": {
            "name": "无许可使用明火",
            "points": 6,
            "fine_fen": 50000,
            "public_order": True,
        },
        "prohibited_goods": {
            "name": "销售违禁商品",
            "points": 12,
            "fine_fen": 100000,
            "public_order": False,
        },
        "short_weight_or_price_fraud": {
            "name": "短斤缺两/价格欺诈",
            "points": 6,
            "fine_fen": 30000,
            "public_order": False,
        },
        "trading_outside_hours": {
            "name": "非经营时段(18:00-01:00外)营业",
            "points": 2,
            "fine_fen": 5000,
            "public_order": False,
        },
        "no_valid_licence": {
            "name": "无有效证照经营",
            "points": 6,
            "fine_fen": 20000,
            "public_order": False,
        },
        "unsorted_waste": {"name": "垃圾未分类", "points": 1, "fine_fen": 2000, "public_order": False},
        "blocked_fire_lane": {
            "name": "占用消防通道",
            "points": 6,
            "fine_fen": 50000,
            "public_order": True,
        },
        "fighting": {"name": "打架斗殴", "points": 12, "fine_fen": 100000, "public_order": True},
    },
}
# The round's findings: (violation type, description); the fight is the public-order case.
FINDINGS = (
    ("beyond_stall_line", "餐桌摆出摊位线一米"),
    ("unsorted_waste", "厨余与其他垃圾混放"),
    ("hygiene", "操作台油污未清理"),
    ("noise_after_hours", "音响音量过大"),
    ("fighting", "两摊主因争抢顾客发生推搡斗殴"),
)


def build(seed=DEFAULT_SEED, today=None):
    """Plain payloads for the demo market as of `today` (local date): same seed, same market."""
    today = today or domain.local_date(clock.now())
    rng = random.Random(seed)
    stalls = [
        {
            "zone": zone,
            "number": n,
            "kind": kind,
            "size_m2": rng.choice((4, 6, 6, 8, 9)),
            "power": kind != "services" or rng.random() < 0.5,
            "water": kind.startswith("food"),
        }
        for zone, kind in ZONES.items()
        for n in range(1, STALLS_PER_ZONE + 1)
    ]
    kinds = [s["kind"] for s in stalls]
    vendors = []
    for n in range(VENDORS):
        category = kinds[n * len(kinds) // VENDORS]
        licence = {
            "number": f"92350582MA{seed % 100:02d}{n:05d}",
            "expires_on": (today + timedelta(days=rng.randint(10, 900))).isoformat(),
        }
        vendor = {"goods_category": category, "business_licence": licence}
        if category.startswith("food"):
            vendor["food_hygiene_certificate"] = {
                "number": f"JY3505820{n:05d}",
                "expires_on": (today + timedelta(days=rng.randint(20, 700))).isoformat(),
            }
        if rng.random() < OUTSIDE_SHARE:
            birth = today.replace(year=today.year - rng.randint(22, 60), day=1)
            area = rng.choice(("360102", "510104", "430102", "350582"))
            body = f"{area}{birth:%Y%m%d}{rng.randrange(1000):03d}"
            vendor.update(
                name=f"外来摊主{n:03d}",
                id_number=body + ric.calc_check_digit(body + "0"),
                phone=f"139{rng.randrange(10**8):08d}",
            )
        vendors.append(vendor)
    return {"today": today, "stalls": stalls, "vendors": vendors, "seed": seed, "rng": rng}


def summary(market):
    outside = sum(1 for v in market["vendors"] if "id_number" in v)
    return {
        "stalls": len(market["stalls"]),
        "zones": len(ZONES),
        "vendors": len(market["vendors"]),
        "outside_vendors": outside,
        "resident_vendors": len(market["vendors"]) - outside,
    }


def _residents(registry, count):
    """Adult residents to be resident vendors (the registry's own listing, as its demo loader reads it)."""
    found, page = [], 1
    while len(found) < count:
        listing = registry.find_residents({"age_min": 22, "age_max": 62, "page": page, "page_size": 500})
        found += [r["resident_id"] for r in listing["items"]]
        if page * 500 >= listing["total"]:
            break
        page += 1
    return found[:: max(1, len(found) // count)][:count]


def _register(market_rpc, payload, wait_seconds=300):
    """Register a vendor; a resident the market has not heard of yet (the registry's events are
    still arriving) is asked for again until `wait_seconds` pass."""
    from shared.errors import NotFound

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return market_rpc.register_vendor(payload)["vendor_id"]
        except NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _answered(answers):
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return answers


def load(cluster_for, market, log=print, progress=None):
    """Load `market` through the RPCs; `cluster_for(actor)` gives an RPC proxy acting as `actor`.
    `progress(n)` is told of every n calls answered, `size(market)` in all."""
    started = time.monotonic()
    advance = progress or (lambda n: None)

    def answered(sends, **options):  # every answer counts one on the progress bar
        return overlapped(sends, progress=lambda _answer: advance(1), **options)

    office = cluster_for(OFFICER).market
    if office.list_vendors({"page_size": 1})["total"]:
        log("the market already has vendors: the demo market is not loaded again")
        return None
    rng, today = market["rng"], market["today"]

    def as_vendor(vendor_id):
        return cluster_for({"id": vendor_id, "role": "vendor"}).market

    office.lay_out_stalls({"stalls": market["stalls"]})
    advance(1)
    wanted = sum(1 for v in market["vendors"] if "id_number" not in v)
    office_actor = {"id": "market-demo", "role": "community_admin"}
    residents = iter(_residents(cluster_for(office_actor).registry, wanted))
    payloads = [
        dict(v) if "id_number" in v else {**v, "resident_id": next(residents)} for v in market["vendors"]
    ]
    # four at a time: registrations share the vendor-number counter, so more in flight only lose
    # write conflicts to each other (16 lost a quarter of them as Busy)
    answers = answered([lambda p=p: office.register_vendor.call_async(p) for p in payloads], width=4)
    # a resident the market has not heard of yet (registry events still arriving): asked for again
    vendor_ids = [
        a["vendor_id"] if isinstance(a, dict) else _register(office, p)
        for a, p in zip(answers, payloads, strict=True)
    ]
    kinds = {v: market["vendors"][n]["goods_category"] for n, v in enumerate(vendor_ids)}

    # the rule book: proposed, put to the vendors (most vote, most in favour), adopted
    book = office.propose_rules({**RULE_BOOK, "effective_on": (today - timedelta(days=30)).isoformat()})
    votes, ballots = {"for": 0, "against": 0, "abstain": 0}, []
    for vendor_id in vendor_ids:
        if rng.random() < 0.86:
            ballot = rng.choices(("for", "against", "abstain"), (88, 7, 5))[0]
            votes[ballot] += 1
            ballots.append((vendor_id, {"rule_book_id": book["rule_book_id"], "vendor_id": vendor_id,
                                        "ballot": ballot}))
    _answered(answered([lambda v=v, b=b: as_vendor(v).vote_on_rules.call_async(b) for v, b in ballots]))
    adopted = office.publish_rules({"rule_book_id": book["rule_book_id"]})
    advance(2 + len(vendor_ids) - len(ballots))  # the book proposed and published; who did not vote

    # applications and the public lottery, kind by kind
    _answered(answered([
        lambda v=v: as_vendor(v).apply_for_stall.call_async({"vendor_id": v, "kind": kinds[v]})
        for v in vendor_ids
    ]))
    term = {
        "term_start": today.replace(day=1).isoformat(),
        "term_end": (today.replace(day=1) + timedelta(days=364)).isoformat(),
    }
    for kind in dict.fromkeys(ZONES.values()):
        office.allocate_stall(
            {"mode": "lottery", "kind": kind, "seed": f"demo-{market['seed']}-{kind}", **term}
        )
        advance(1)
    held = {
        s["vendor_id"]: s["stall_id"]
        for page in _pages(office.list_stalls, {"status": "allocated"})
        for s in page
    }

    # one night: open, check-ins, gate counters, takings, an inspection round, close
    night = office.open_night({"date": today.isoformat()})["night_id"]
    present = [v for v in held if rng.random() < 0.95]
    advance(1)
    _answered(answered([
        lambda v=v: as_vendor(v).check_in.call_async({"night_id": night, "stall_id": held[v]})
        for v in present
    ]))
    counts = [VISITORS // QUARTERS // len(GATES)] * (QUARTERS * len(GATES))
    counts[-1] += VISITORS - sum(counts)
    footfall = [  # every 15 minutes from 18:00 to 01:00, four gates
        {"night_id": night, "gate": GATES[n % len(GATES)], "count": count} for n, count in enumerate(counts)
    ]
    advance(len(vendor_ids) - len(present))
    _answered(answered([lambda f=f: office.record_footfall.call_async(f) for f in footfall]))
    takings = [(v, {"night_id": night, "vendor_id": v, "takings_fen": rng.randint(30_000, 600_000)})
               for v in present if rng.random() < 0.8]
    _answered(answered([lambda v=v, t=t: as_vendor(v).report_takings.call_async(t) for v, t in takings]))
    advance(len(vendor_ids) - len(takings))
    inspector = cluster_for(INSPECTORS[0]).market
    rounds = inspector.start_inspection({"night_id": night})
    for (violation_type, description), vendor_id in zip(
        FINDINGS, rng.sample(present, len(FINDINGS)), strict=True
    ):
        stall = held[vendor_id]
        kind = next(
            s["kind"] for s in market["stalls"] if domain.stall_id(s["zone"], s["number"]) == stall
        )
        if violation_type not in domain.CHECKLISTS[kind]:
            violation_type, description = "beyond_stall_line", "货架摆出摊位线"
        inspector.record_violation(
            {
                "inspection_id": rounds["inspection_id"],
                "stall_id": stall,
                "violation_type": violation_type,
                "description": description,
                "evidence": [f"photo://demo/{night}/{stall}.jpg"],
            }
        )
        advance(1)
    closed = office.close_night({"night_id": night})
    advance(2)  # the round started, the night closed
    seconds = time.monotonic() - started
    log(
        f"loaded in {seconds:.1f} s: {len(market['stalls'])} stalls, {len(vendor_ids)} vendors, "
        f"rule book {adopted['rule_book_id']} {adopted['status']} ({votes}), {len(held)} stalls allocated; "
        f"night {night}: {closed['present']} present, {closed['footfall']} visitors, "
        f"{closed['takings_fen']} fen takings, violations {closed['violations_by_type']}"
    )
    return {"seconds": seconds, "vendors": len(vendor_ids), "allocated": len(held), **closed}


def size(market):
    """How many calls `load` reports progress on: a registration, a vote, an application, a
    check-in and takings for each vendor (one not voting, not present or not reporting counts
    as answered), the gate counts, and a few single calls."""
    draws = len(set(ZONES.values()))  # a lottery per kind of stall
    single = 1 + 2 + draws + 1 + len(FINDINGS) + 2  # layout, the rule book, draws, the night
    return 5 * len(market["vendors"]) + QUARTERS * len(GATES) + single


def _pages(method, query):
    page = 1
    while True:
        listing = method({**query, "page": page, "page_size": 500})
        yield listing["items"]
        if page * 500 >= listing["total"]:
            return
        page += 1


class Clients:
    """`cluster_for(actor)`: an RPC proxy acting as `actor`. Staff get a connection each; vendors
    (hundreds of them) share one whose context names the vendor of the moment (nameko sends the
    context dict as it is when a call is sent, and the loader sends one call at a time even when
    several are in flight)."""

    def __init__(self, config):
        from nameko.standalone.rpc import ClusterRpcProxy

        self.config, self.proxy_cls = config, ClusterRpcProxy
        self.proxies, self.vendor_context = {}, {}

    def __call__(self, actor):
        if actor["role"] == "vendor":
            self.vendor_context["actor"] = actor
            key, context = "vendor", self.vendor_context
        else:
            key, context = actor["id"], {"actor": actor}
        if key not in self.proxies:
            proxy = self.proxy_cls(self.config, timeout=120, context_data=context)
            self.proxies[key] = (proxy, proxy.start())
        return self.proxies[key][1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proxy, _ in self.proxies.values():
            proxy.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help="load into the running platform")
    parser.add_argument("--summary", action="store_true", help="print what the generator builds")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if not (args.load or args.summary):
        parser.error("say --load or --summary")
    market = build(args.seed)
    print(f"demo market: {summary(market)}")
    if args.load:
        import eventlet

        eventlet.monkey_patch()
        config = client_config()
        with Clients(config) as cluster_for:
            load(cluster_for, market)
    return 0


if __name__ == "__main__":
    sys.exit(main())
