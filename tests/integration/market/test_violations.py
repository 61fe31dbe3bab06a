"""Inspections and violations: points and fines under the rule book in force that night,
thresholds (warning → suspension for N nights → revocation), appeals reversing by new facts."""

import pytest

from shared.errors import Conflict, InvalidInput
from tests.integration.market.conftest import RULE_BOOK
from tests.support import wait_until


@pytest.fixture
def stallholder(market):
    """One food vendor at S-A001 (zone A, grid G7), the rule book adopted, tonight open."""
    market.lay_out(zones=("A", "B"), per_zone=2, kinds=("food_fire",))
    vendor_id = market.vendor("food_fire")
    market.adopt()
    market.give_stall("S-A001", vendor_id)
    market.office.open_night({"date": "2026-11-02"})
    return vendor_id


def record(market, violation_type, stall_id="S-A001", night_id="N-20261102"):
    round_ = market.inspector.start_inspection({"night_id": night_id})
    return market.inspector.record_violation(
        {
            "inspection_id": round_["inspection_id"],
            "stall_id": stall_id,
            "violation_type": violation_type,
            "description": "巡查发现",
            "evidence": ["photo://ins/1.jpg"],
        }
    )


def test_a_violation_adds_points_and_a_fine_and_escalates_by_threshold(
    market, stallholder, emitted, mdb
):
    first = record(market, "hygiene")  # 3 points
    assert first["points"] == 3 and first["fine_fen"] == 10000 and first["escalation"] == "none"
    assert first["grid_code"] == "G7" and first["inspector_id"] == "IN-1"
    warned = record(market, "blocked_fire_lane")  # 9: past the warning at 6
    assert warned["escalation"] == "warning" and warned["public_order"] is True
    suspended = record(market, "hygiene")  # 12: suspension for 7 nights
    assert suspended["escalation"] == "suspension"
    [suspension] = emitted("market.vendor_suspended")
    assert suspension["payload"]["until"] == "2026-11-10" and suspension["payload"]["nights"] == 7
    vendor = market.office.vendor_record({"vendor_id": stallholder})
    assert vendor["status"] == "suspended" and vendor["points"] == 12
    assert vendor["arrears_fen"] == 10000 + 50000 + 10000
    with pytest.raises(Conflict, match="suspended"):
        market.vendor_actor(stallholder).check_in({"night_id": "N-20261102", "stall_id": "S-A001"})
    revoked = record(market, "fighting")  # 24: revocation, the stall released
    assert revoked["escalation"] == "revocation"
    emitted("market.vendor_revoked")
    [released] = emitted("market.stall_released")
    assert released["payload"]["stall_id"] == "S-A001"
    assert mdb.stalls.find_one({"_id": "S-A001"})["status"] == "vacant"
    recorded = emitted("market.violation_recorded", 4)
    assert [e["payload"]["points_total"] for e in recorded] == [3, 9, 12, 24]
    assert len({e["correlation_id"] for e in recorded}) == 4  # one request each


def test_a_suspension_ends_when_its_nights_are_served(market, stallholder, emitted, frozen_clock):
    for violation_type in ("fighting",):  # 12 points at once
        record(market, violation_type)
    market.office.close_night({"night_id": "N-20261102"})
    market.office.open_night({"date": "2026-11-09"})  # still suspended (until the 10th)
    assert market.office.vendor_record({"vendor_id": stallholder})["status"] == "suspended"
    market.office.close_night({"night_id": "N-20261109"})
    market.office.open_night({"date": "2026-11-10"})
    [reinstated] = emitted("market.vendor_reinstated")
    assert reinstated["payload"]["reason"] == "suspension served"
    market.vendor_actor(stallholder).check_in({"night_id": "N-20261110", "stall_id": "S-A001"})


def test_an_upheld_appeal_reverses_by_new_facts_and_reinstates(market, stallholder, emitted, mdb):
    fight = record(market, "fighting")  # 12: suspended
    original = mdb.violations.find_one({"_id": fight["violation_id"]})
    vendor_side = market.vendor_actor(stallholder)
    vendor_side.appeal_violation({"violation_id": fight["violation_id"], "grounds": "监控显示是劝架"})
    with pytest.raises(Conflict):
        vendor_side.appeal_violation({"violation_id": fight["violation_id"], "grounds": "again"})
    decided = market.office.decide_appeal(
        {"violation_id": fight["violation_id"], "upheld": True, "reason": "监控录像证实该摊主为劝架方"}
    )
    assert decided["reversed"] is True
    [reversal] = emitted("market.violation_reversed")
    assert reversal["payload"]["points"] == 12 and reversal["payload"]["fine_fen"] == 100000
    assert reversal["payload"]["points_total"] == 0
    emitted("market.vendor_reinstated")
    record_ = market.office.vendor_record({"vendor_id": stallholder})
    assert record_["status"] == "active" and record_["points"] == 0 and record_["arrears_fen"] == 0
    assert [(e["kind"], e["delta"]) for e in record_["points_ledger"]] == [
        ("violation", 12),
        ("reversal", -12),
    ]
    kept = mdb.violations.find_one({"_id": fight["violation_id"]})
    for field in ("points", "fine_fen", "rule_book_id", "violation_type", "recorded_at", "escalation"):
        assert kept[field] == original[field]  # the finding itself is never edited
    with pytest.raises(Conflict):
        market.office.decide_appeal(
            {"violation_id": fight["violation_id"], "upheld": False, "reason": "x"}
        )


def test_a_dismissed_appeal_changes_nothing(market, stallholder, emitted):
    found = record(market, "hygiene")
    market.vendor_actor(stallholder).appeal_violation(
        {"violation_id": found["violation_id"], "grounds": "没有"}
    )
    market.office.decide_appeal(
        {"violation_id": found["violation_id"], "upheld": False, "reason": "照片清楚"}
    )
    assert market.office.vendor_record({"vendor_id": stallholder})["points"] == 3
    assert emitted("market.violation_reversed", 0) == []


def test_a_later_rule_book_applies_from_its_date_and_never_rewrites_the_past(
    market, stallholder, frozen_clock
):
    before = record(market, "hygiene")
    stricter = {
        **RULE_BOOK,
        "title": "修订版",
        "effective_on": "2026-11-10",
        "violation_types": {
            **RULE_BOOK["violation_types"],
            "hygiene": {"name": "卫生不达标", "points": 4, "fine_fen": 20000, "public_order": False},
        },
    }
    v2 = market.adopt(stricter)
    assert v2["status"] == "adopted"
    still_old = record(market, "hygiene")  # tonight is the 2nd: the old book
    assert still_old["rule_book_id"] == before["rule_book_id"] and still_old["fine_fen"] == 10000
    market.office.close_night({"night_id": "N-20261102"})
    frozen_clock.advance(days=10)
    market.office.open_night({"date": "2026-11-12"})
    after = record(market, "hygiene", night_id="N-20261112")
    assert (
        after["rule_book_id"] == v2["rule_book_id"]
        and after["fine_fen"] == 20000
        and after["points"] == 4
    )
    history = {
        v["violation_id"]: v for v in market.office.list_violations({"vendor_id": stallholder})["items"]
    }
    assert history[before["violation_id"]]["fine_fen"] == 10000
    assert history[before["violation_id"]]["rule_book_id"] == before["rule_book_id"]


def test_bad_findings_are_refused_naming_the_field_and_nothing_is_written(market, stallholder, mdb):
    round_ = market.inspector.start_inspection({"night_id": "N-20261102", "zone": "A"})
    # the round's own event leaves the outbox once relayed: count from a settled outbox
    wait_until(lambda: mdb.outbox.count_documents({}) == 0, message="the outbox to be relayed")
    before = {c: mdb[c].count_documents({}) for c in ("violations", "points_ledger", "outbox")}
    base = {
        "inspection_id": round_["inspection_id"],
        "stall_id": "S-A001",
        "violation_type": "hygiene",
        "description": "巡查发现",
    }
    for change, field in (
        ({"violation_type": "littering"}, "violation_type"),
        ({"violation_type": "prohibited_goods"}, "violation_type"),  # not in the book
        ({"stall_id": "S-B001"}, "stall_id"),  # outside the round's zone
        ({"stall_id": {"$gt": ""}}, "stall_id"),
        ({"description": "\x00"}, "description"),
        ({"evidence": ["p"] * 11}, "evidence"),
        ({"inspection_id": "INS-1"}, "inspection_id"),
    ):
        with pytest.raises(InvalidInput) as refused:
            market.inspector.record_violation({**base, **change})
        assert field in refused.value.fields, (change, refused.value.fields)
    assert {c: mdb[c].count_documents({}) for c in before} == before
