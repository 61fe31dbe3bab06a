"""The market's pure rules: the lottery, escalation, adoption, rule books by date, fees, licences."""

from datetime import date

import pytest

from services.market import domain

T = domain.Thresholds(warning=6, suspension=12, suspension_nights=7, revocation=24)


def test_the_lottery_gives_the_same_draw_for_the_same_seed_whatever_the_input_order():
    stalls = [f"S-A{n:03d}" for n in range(1, 6)]
    applicants = [(f"APP-{n:012d}", f"V-{n:06d}") for n in range(1, 9)]
    first = domain.lottery("seed-1", stalls, applicants)
    again = domain.lottery("seed-1", list(reversed(stalls)), list(reversed(applicants)))
    assert first == again
    assert domain.lottery("seed-2", stalls, applicants) != first
    assignments, waiting = first
    assert len(assignments) == 5 and len(waiting) == 3
    assert len({s for s, _, _ in assignments}) == 5 and len({v for _, _, v in assignments}) == 5
    drawn = {a for _, a, _ in assignments} | set(waiting)
    assert drawn == {a for a, _ in applicants}  # everyone drawn, nobody invented


def test_a_vendor_with_two_applications_is_drawn_once_and_nobody_else_is_dropped():
    applicants = [("APP-A", "V-000001"), ("APP-B", "V-000001"), ("APP-C", "V-000002")]
    assignments, waiting = domain.lottery("s", ["S-A001", "S-A002", "S-A003"], applicants)
    assert sorted(v for _, _, v in assignments) == ["V-000001", "V-000002"] and waiting == []


def test_the_lottery_is_roughly_uniform_over_many_seeds():
    wins = {f"V-{n:06d}": 0 for n in range(1, 5)}
    applicants = [(f"APP-{n}", v) for n, v in enumerate(wins)]
    for seed in range(4000):
        [(_, _, winner)], _ = domain.lottery(seed, ["S-A001"], applicants)
        wins[winner] += 1
    assert all(850 < n < 1150 for n in wins.values()), wins


@pytest.mark.parametrize(
    "before, after, step",
    [
        (0, 3, "none"),
        (3, 6, "warning"),
        (5, 9, "warning"),
        (9, 12, "suspension"),
        (3, 15, "suspension"),
        (12, 23, "none"),
        (20, 24, "revocation"),
        (0, 30, "revocation"),
        (24, 30, "none"),
    ],
)
def test_escalation_is_the_highest_threshold_crossed(before, after, step):
    assert domain.escalation(before, after, T) == step


def test_a_suspension_of_n_nights_ends_the_night_after_the_nth():
    assert domain.suspension_end(date(2026, 11, 2), 7) == date(2026, 11, 10)


def test_a_reversal_below_the_threshold_that_stopped_a_vendor_reinstates_them():
    assert domain.after_reversal({"status": "suspended"}, 11, T)
    assert not domain.after_reversal({"status": "suspended"}, 12, T)
    assert domain.after_reversal({"status": "revoked"}, 23, T)
    assert not domain.after_reversal({"status": "active"}, 0, T)


@pytest.mark.parametrize(
    "votes, adopted, why",
    [
        ({"a": "for"}, False, "no quorum"),  # 1 of 4 < 50 %
        ({"a": "for", "b": "against"}, False, "no majority"),  # 2 of 4 voted, 1 for
        ({"a": "for", "b": "for", "c": "against"}, True, "adopted"),
        ({"a": "for", "b": "abstain"}, False, "no majority"),  # abstentions count as cast
        ({"a": "for", "b": "for", "x": "for", "y": "for"}, True, "adopted"),  # x, y: not electors
        ({"x": "for", "y": "for"}, False, "no quorum"),
    ],
)
def test_adoption_needs_quorum_and_majority_of_the_electorate(votes, adopted, why):
    result = domain.tally({"a", "b", "c", "d"}, votes, quorum=0.5, majority=0.5)
    assert result[0] is adopted and result[3].startswith(why)


def test_the_rule_book_in_force_is_the_latest_adopted_one_effective_by_that_day():
    books = [
        {"_id": "RB-0001", "version": 1, "status": "adopted", "effective_on": date(2026, 1, 1)},
        {"_id": "RB-0002", "version": 2, "status": "rejected", "effective_on": date(2026, 6, 1)},
        {"_id": "RB-0003", "version": 3, "status": "adopted", "effective_on": date(2026, 11, 10)},
    ]
    assert domain.rule_book_in_force(books, date(2025, 12, 31)) is None
    assert domain.rule_book_in_force(books, date(2026, 11, 9))["_id"] == "RB-0001"
    assert domain.rule_book_in_force(books, date(2026, 11, 10))["_id"] == "RB-0003"


def test_fees_are_integer_fen_from_the_schedule():
    items, total = domain.fee_items("food_fire", domain.DEFAULT_FEES_FEN)
    assert items == {"management": 30000, "sanitation": 8000, "power": 6000} and total == 44000
    assert all(isinstance(v, int) for v in items.values())
    assert domain.fee_id("2026-11", "S-A001") == "FEE-202611-A001"
    assert domain.fee_due_on("2026-11", 15) == date(2026, 11, 15)


def test_licences_expiring_within_the_warning_window():
    vendor = {
        "business_licence": {"expires_on": date(2026, 11, 20)},
        "food_hygiene_certificate": {"expires_on": date(2027, 3, 1)},
    }
    assert domain.expiring_documents(vendor, date(2026, 11, 2), 30) == [
        ("business_licence", date(2026, 11, 20), 18)
    ]


def test_eligibility_lists_every_reason():
    vendor = {
        "status": "suspended",
        "goods_category": "goods",
        "resident_status": "moved_out",
        "business_licence": {"expires_on": date(2026, 1, 1)},
    }
    reasons = domain.application_refusals(vendor, "food_fire", date(2026, 11, 2), 300, True)
    assert reasons == [
        "vendor is suspended",
        "licence expired",
        "sells goods, not food",
        "arrears of 300 fen",
        "already holds a stall",
        "no longer a resident",
    ]


def test_masking_keeps_only_what_a_role_needs():
    doc = {
        "_id": "V-000001",
        "name": "陈",
        "resident_id": None,
        "phone": "13912340001",
        "id_number": "350582198005170011",
        "goods_category": "goods",
        "status": "active",
        "points": 0,
        "business_licence": {"number": "B", "expires_on": date(2027, 1, 1)},
        "registered_at": __import__("datetime").datetime(2026, 11, 2),
    }
    assert domain.vendor_view(doc, "inspector")["phone"] == "*******0001"
    assert domain.vendor_view(doc, "market_officer")["phone"] == "13912340001"
    assert domain.vendor_view(doc, "market_officer")["id_number"] == "350582********0011"
    assert domain.vendor_view(doc, "vendor", own=True)["id_number"] == "350582198005170011"


def _vendor(vendor_id, **extra):
    return {"_id": vendor_id, "status": "active", "goods_category": "goods",
            "business_licence": {"expires_on": date(2028, 1, 1)}, **extra}


STALL = {"_id": "S-A001", "kind": "goods", "status": "allocated", "vendor_id": "V-000001"}
TODAY = date(2026, 11, 2)


def test_a_stall_passes_to_an_eligible_relative_once_a_term():
    holder, relative = _vendor("V-000001"), _vendor("V-000002")
    assert domain.transfer_refusals(STALL, holder, relative, {}, False, TODAY) == {}
    again = {**STALL, "transferred_in_term": True}
    assert domain.transfer_refusals(again, holder, relative, {}, False, TODAY) == {
        "stall_id": ["already transferred once this term"]}


def test_a_transfer_names_every_reason_on_each_side():
    holder = _vendor("V-000001", status="suspended")
    receiver = _vendor("V-000002", business_licence={"expires_on": date(2026, 1, 1)})
    refusals = domain.transfer_refusals(STALL, holder, receiver, {"V-000001": 800, "V-000002": 0}, True,
                                        TODAY)
    assert refusals == {
        "from_vendor_id": ["vendor is suspended", "arrears of 800 fen: settle them first"],
        "to_vendor_id": ["licence expired", "already holds a stall"],
    }
    assert domain.transfer_refusals(STALL, _vendor("V-000009"), _vendor("V-000002"), {}, False, TODAY) == {
        "stall_id": ["not held by the vendor transferring it"]}
    assert domain.transfer_refusals(STALL, _vendor("V-000001"), _vendor("V-000001"), {}, False, TODAY) == {
        "to_vendor_id": ["the holder themselves"]}
