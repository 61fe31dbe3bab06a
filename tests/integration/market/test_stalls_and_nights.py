"""Stalls and nights: the seeded lottery, renewals blocked by arrears, a night's figures, fees
raised by the timer, licence-expiry warnings with injected time."""

import pytest

from services.market import domain
from shared.errors import Conflict, InvalidInput


def test_the_lottery_is_seeded_auditable_and_fair(market, mdb):
    market.lay_out(zones=("A",), per_zone=6, kinds=("goods",))  # 6 goods stalls
    applicants = [market.vendor("goods") for _ in range(9)]
    indebted = applicants[8]
    food_only = market.vendor("food_no_fire")
    for vendor_id in applicants + [food_only]:
        market.vendor_actor(vendor_id).apply_for_stall({"vendor_id": vendor_id, "kind": "goods"})
    mdb.vendors.update_one({"_id": indebted}, {"$set": {"arrears_fen": 500}})  # fell into arrears since
    drawn = market.office.allocate_stall(
        {
            "mode": "lottery",
            "kind": "goods",
            "seed": "2026-11-02 公开摇号",
            "term_start": "2026-11-01",
            "term_end": "2027-10-31",
        }
    )
    winners = [a["vendor_id"] for a in drawn["allocated"]]
    stalls = [a["stall_id"] for a in drawn["allocated"]]
    assert len(winners) == 6 and len(set(winners)) == 6 and len(set(stalls)) == 6  # no stall twice
    assert indebted not in winners and [["arrears of 500 fen"]] == list(drawn["excluded"].values())
    eligible = [tuple(e) for e in drawn["eligible"]]
    assert {v for _, v in eligible} == set(applicants[:8]) | {food_only}  # goods stalls take anyone
    assert len(drawn["waiting"]) == 3
    # anyone can rerun the draw from the record and get the same result; another seed differs
    record = mdb.lotteries.find_one({"_id": drawn["lottery_id"]})
    assignments, waiting = domain.lottery(record["seed"], record["stalls"], eligible)
    assert [list(a) for a in assignments] == record["assignments"] and waiting == record["waiting"]
    other, _ = domain.lottery("another seed", record["stalls"], eligible)
    assert other != assignments
    held = {
        s["stall_id"]: s["vendor_id"]
        for s in market.office.list_stalls({"status": "allocated"})["items"]
    }
    assert held == dict(zip(stalls, winners, strict=True))


def test_renewal_weighs_compliance_and_arrears_block_it(market, mdb):
    market.lay_out(zones=("A",), per_zone=2, kinds=("goods",))
    good, indebted = market.vendor("goods"), market.vendor("goods")
    market.adopt()
    market.give_stall("S-A001", good)
    market.give_stall("S-A002", indebted)
    mdb.vendors.update_one({"_id": indebted}, {"$set": {"arrears_fen": 12000}})
    renewal = {"mode": "renewal", "term_start": "2027-11-01", "term_end": "2028-10-31"}
    assert market.office.allocate_stall({**renewal, "stall_id": "S-A001"})["mode"] == "renewal"
    with pytest.raises(Conflict) as refused:
        market.office.allocate_stall({**renewal, "stall_id": "S-A002"})
    assert "arrears" in str(refused.value.fields)
    mdb.vendors.update_one({"_id": good}, {"$set": {"points": 6}})  # at the warning threshold
    with pytest.raises(Conflict, match="compliance"):
        market.office.allocate_stall({**renewal, "stall_id": "S-A001"})


def test_a_night_open_to_close_gives_its_figures(market, emitted):
    market.lay_out(zones=("A",), per_zone=4, kinds=("goods",))
    vendors = [market.vendor("goods") for _ in range(3)]
    market.adopt()
    for n, vendor_id in enumerate(vendors, start=1):
        market.give_stall(f"S-A00{n}", vendor_id)
    night = market.office.open_night({"date": "2026-11-02"})
    assert night == {
        "night_id": "N-20261102",
        "date": "2026-11-02",
        "status": "open",
        "stalls_allocated": 3,
    }
    for n, vendor_id in enumerate(vendors[:2], start=1):
        market.vendor_actor(vendor_id).check_in({"night_id": "N-20261102", "stall_id": f"S-A00{n}"})
        market.vendor_actor(vendor_id).report_takings(
            {"night_id": "N-20261102", "vendor_id": vendor_id, "takings_fen": 123456 * n}
        )
    for gate, count in (("north", 4200), ("south", 3100), ("north", 900)):
        market.office.record_footfall({"night_id": "N-20261102", "gate": gate, "count": count})
    with pytest.raises(InvalidInput) as refused:
        market.office.record_footfall({"night_id": "N-20261102", "gate": "east", "count": 10.5})
    assert "count" in refused.value.fields
    live = market.office.market_stats({"period": "night", "key": "2026-11-02"})
    assert live["status"] == "open" and live["footfall"] == 8200
    assert live["present_stalls"] == ["S-A001", "S-A002"]
    summary = market.office.close_night({"night_id": "N-20261102"})
    assert summary["present"] == 2 and summary["absent"] == 1 and summary["footfall"] == 8200
    assert summary["takings_fen"] == 123456 * 3 and summary["takings_reported"] == 2
    [closed] = emitted("market.night_closed")
    assert closed["payload"]["takings_fen"] == 370368
    after = market.office.market_stats({"period": "night", "key": "2026-11-02"})
    assert after["status"] == "closed" and after["present_stalls"] == ["S-A001", "S-A002"]
    with pytest.raises(Conflict):
        market.vendor_actor(vendors[2]).check_in({"night_id": "N-20261102", "stall_id": "S-A003"})
    month = market.as_actor({"id": "CA-1", "role": "community_admin"}).market.market_stats(
        {"period": "month", "key": "2026-11"}
    )
    assert month["nights"] == 1 and month["footfall"] == 8200 and month["takings_fen"] == 370368


def test_fees_are_raised_by_the_timer_once_a_month(market, mdb, fire, frozen_clock, emitted):
    market.lay_out(zones=("A",), per_zone=3, kinds=("food_fire", "goods", "services"))
    vendors = [market.vendor("food_fire"), market.vendor("goods")]
    market.give_stall("S-A001", vendors[0])
    market.give_stall("S-A002", vendors[1])
    assert fire("charge_fees") == 2
    assert fire("charge_fees") == 0  # nothing twice
    fees = {f["stall_id"]: f for f in mdb.fees.find()}
    assert fees["S-A001"]["amount_fen"] == 30000 + 8000 + 6000 and fees["S-A001"]["period"] == "2026-11"
    assert isinstance(fees["S-A002"]["amount_fen"], int) and fees["S-A002"]["amount_fen"] == 25000
    charged = emitted("market.fee_charged", 2)
    assert {e["payload"]["fee_id"] for e in charged} == {"FEE-202611-A001", "FEE-202611-A002"}
    assert market.office.vendor_record({"vendor_id": vendors[0]})["arrears_fen"] == 44000
    frozen_clock.advance(days=30)  # December
    assert fire("charge_fees") == 2


def test_licence_expiry_warnings_come_once_with_injected_time(market, fire, frozen_clock, emitted):
    soon = market.vendor("goods", business_licence={"number": "BL9", "expires_on": "2026-11-20"})
    market.vendor("goods")  # expires next June: not yet
    assert fire("warn_expiring_licences") == 1
    assert fire("warn_expiring_licences") == 0
    [warning] = emitted("market.licence_expiring")
    assert warning["payload"]["vendor_id"] == soon and warning["payload"]["days_left"] == 18
    frozen_clock.advance(days=19)  # now expired: one more warning
    assert fire("warn_expiring_licences") == 1
    assert emitted("market.licence_expiring", 2)[1]["payload"]["days_left"] == -1
    market.vendor_actor(soon).renew_licence(
        {"vendor_id": soon, "document": "business_licence", "number": "BL10", "expires_on": "2028-11-20"}
    )
    assert fire("warn_expiring_licences") == 0
