"""The demo market generator: deterministic by seed, the figures the issue asks for, valid data."""

from datetime import date

from services.market import demo, schemas
from shared import personal


def test_same_seed_same_market_350_stalls_in_zones_most_vendors_residents():
    market = demo.build(seed=7, today=date(2026, 11, 2))
    again = demo.build(seed=7, today=date(2026, 11, 2))
    assert market["stalls"] == again["stalls"] and market["vendors"] == again["vendors"]
    assert len(market["stalls"]) == 350 and {s["zone"] for s in market["stalls"]} == set("ABCDEFG")
    figures = demo.summary(market)
    assert figures["resident_vendors"] > 2 * figures["outside_vendors"] > 0  # most are residents


def test_every_demo_payload_passes_the_market_own_schemas():
    market = demo.build(seed=7, today=date(2026, 11, 2))
    schemas.LayOutStalls().load({"stalls": market["stalls"]})
    for vendor in market["vendors"]:
        payload = vendor if "id_number" in vendor else {**vendor, "resident_id": "R-000001"}
        loaded = schemas.RegisterVendor().load(payload)
        if "id_number" in vendor:
            assert personal.parse_id_number(loaded["id_number"], date(2026, 11, 2))[0] == vendor["id_number"]
            personal.normalise_phone(loaded["phone"])
    book = {**demo.RULE_BOOK, "effective_on": "2026-10-01"}
    loaded = schemas.ProposeRules().load(book)
    assert loaded["violation_types"]["fighting"]["public_order"] is True
    assert all(isinstance(t["fine_fen"], int) for t in loaded["violation_types"].values())
