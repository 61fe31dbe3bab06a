"""Finance's pure rules, against cases computed by hand."""

from datetime import date

import pytest

from services.finance import domain
from shared.errors import Conflict, Forbidden, InvalidInput

BOOKED = date(2026, 11, 2)


def test_largest_remainder_gives_the_leftover_fen_to_the_largest_remainders():
    # 1000 fen over shares 1:2:3 is 166.67 / 333.33 / 500: floors 166+333+500 = 999, and the one
    # fen left goes to the largest remainder (A's 4/6, before B's 2/6).
    assert domain.largest_remainder(1000, {"A": 1, "B": 2, "C": 3}) == {"A": 167, "B": 333, "C": 500}


def test_largest_remainder_breaks_ties_by_key_and_handles_empty_pools():
    assert domain.largest_remainder(1, {"B": 1, "A": 1}) == {"A": 1, "B": 0}
    assert domain.largest_remainder(0, {"A": 3}) == {"A": 0}
    assert domain.largest_remainder(7, {"A": 0, "B": 0}) == {"A": 0, "B": 0}


SHAREHOLDERS = [
    {"shareholder_id": "SH-00001", "resident_id": "R-000001", "group": "G1", "shares": 1},
    {"shareholder_id": "SH-00002", "resident_id": "R-000002", "group": "G1", "shares": 2},
    {"shareholder_id": "SH-00003", "resident_id": "R-000003", "group": "G2", "shares": 3},
    {"shareholder_id": "SH-00004", "resident_id": "R-000004", "group": "G2", "shares": 0},
]


def test_two_level_dividends_add_the_community_and_the_group_share():
    lines = {
        line["shareholder_id"]: line
        for line in domain.dividend_lines(SHAREHOLDERS, 1000, {"G1": 100, "G2": 50})
    }
    # community 1000 over 1:2:3 → 167/333/500; G1 100 over 1:2 → 33.33/66.67 → 33/67; G2 50 → 50.
    assert {k: (v["community_fen"], v["group_fen"], v["amount_fen"]) for k, v in lines.items()} == {
        "SH-00001": (167, 33, 200),
        "SH-00002": (333, 67, 400),
        "SH-00003": (500, 50, 550),
    }
    assert sum(line["amount_fen"] for line in lines.values()) == 1150  # to the fen


def test_a_pool_for_a_group_without_shareholders_is_refused_naming_it():
    with pytest.raises(InvalidInput) as refused:
        domain.dividend_lines(SHAREHOLDERS, 1000, {"G9": 100})
    assert "groups_fen.G9" in refused.value.fields


def test_dividend_entry_is_balanced_over_both_levels():
    line = domain.dividend_lines(SHAREHOLDERS, 1000, {"G1": 100, "G2": 50})[0]
    doc = domain.dividend_entry("DR-2026", line, BOOKED)
    assert sum(x["amount_fen"] for x in doc["lines"]) == 0
    assert doc["_id"] == "DR-2026:SH-00001" and domain.amount_of(doc) == 200


def test_maker_checker():
    run = {"status": domain.PREVIEWED, "maker": "ST-1", "year": 2026}
    with pytest.raises(Forbidden):
        domain.check_can_approve(run, "ST-1")
    domain.check_can_approve(run, "ST-2")
    with pytest.raises(Conflict):
        domain.check_can_approve({**run, "status": domain.APPROVED}, "ST-2")
    with pytest.raises(Conflict):
        domain.check_can_pay(run)


def resident(birth, **kw):
    return {"birth_date": birth, "status": "active", "residence_type": "registered", **kw}


@pytest.mark.parametrize(
    "birth, month, expected",
    [
        (date(1966, 11, 1), "2026-11", (60_000, 0)),  # 60 on the 1st: the whole month, in that month
        (date(1966, 11, 2), "2026-11", None),  # 60 on the 2nd: not 60 on the 1st
        # 60 on 16 November: on 1 December, December plus 15 of November's 30 days = 30,000 fen
        (date(1966, 11, 16), "2026-12", (90_000, 30_000)),
        # 60 on 31 January: 1 of 31 days = 60000 // 31 = 1,935 fen (rounded down)
        (date(1966, 1, 31), "2026-02", (61_935, 1_935)),
        (date(1966, 10, 16), "2026-12", (60_000, 0)),  # the prorated month was paid in November
        (date(1950, 5, 5), "2026-12", (60_000, 0)),
        (date(1967, 1, 1), "2026-12", None),  # 59
        (date(1964, 2, 29), "2024-03", (62_068, 2_068)),  # 60 on 29 Feb 2024: 1 of 29 days = 2,068 fen
        (date(1965, 2, 29 - 1), "2025-03", (62_142, 2_142)),  # 60 on 28 Feb 2025: 1 of 28 days
    ],
)
def test_allowance_and_the_month_of_turning_60(birth, month, expected):
    assert domain.allowance(resident(birth), month) == expected


def test_allowance_only_for_the_living_and_registered():
    assert domain.allowance(resident(date(1950, 1, 1), status="deceased"), "2026-11") is None
    assert domain.allowance(resident(date(1950, 1, 1), status="moved_out"), "2026-11") is None
    assert domain.allowance(resident(date(1950, 1, 1), residence_type="floating"), "2026-11") is None


@pytest.mark.parametrize(
    "days, bucket",
    [
        (-3, None),
        (0, None),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_aging_buckets(days, bucket):
    assert domain.aging_bucket(days) == bucket


def test_rent_escalates_each_full_year_rounded_to_the_fen():
    lease = {"monthly_rent_fen": 1_234_567, "start_month": "2024-03", "months": 60, "escalation_bp": 350}
    assert domain.rent_for(lease, date(2025, 2, 1)) == 1_234_567
    assert domain.rent_for(lease, date(2025, 3, 1)) == 1_277_777  # 1,234,567 × 1.035 = 1,277,776.8
    assert domain.rent_for(lease, date(2026, 3, 1)) == 1_322_499  # 1,277,777 × 1.035 = 1,322,499.2
    assert domain.lease_covers(lease, date(2029, 2, 1)) and not domain.lease_covers(lease, date(2029, 3, 1))
    assert not domain.lease_covers(lease, date(2024, 2, 1))


def test_payment_matching_partial_over_and_unmatched():
    items = [{"_id": "I1", "open_fen": 500}, {"_id": "I2", "open_fen": 300}]
    assert domain.match_payment(200, items) == ([("I1", 200)], 0)  # partial
    assert domain.match_payment(1000, items) == ([("I1", 500), ("I2", 300)], 200)  # over
    assert domain.match_payment(700, []) == ([], 700)  # unmatched


def test_entries_must_be_balanced_over_known_accounts():
    with pytest.raises(InvalidInput) as refused:
        domain.entry(
            "T1",
            "x",
            [{"account": "community/bank", "amount_fen": 5}, {"account": "community/cash", "amount_fen": -4}],
            BOOKED,
        )
    assert "lines" in refused.value.fields
    with pytest.raises(InvalidInput) as refused:
        domain.entry(
            "T1",
            "x",
            [
                {"account": "community/yacht", "amount_fen": 5},
                {"account": "community/cash", "amount_fen": -5},
            ],
            BOOKED,
        )
    assert "lines.0.account" in refused.value.fields
    with pytest.raises(InvalidInput):
        domain.entry(
            "T1",
            "x",
            [
                {"account": "community/bank", "amount_fen": 5.0},
                {"account": "community/cash", "amount_fen": -5},
            ],
            BOOKED,
        )


def _journal(n):
    docs = [
        domain.entry(
            f"T{i}", "adjustment", domain.transfer_lines("community/bank", "community/cash", i + 1), BOOKED
        )
        for i in range(n)
    ]
    domain.chain(docs, {"seq": 0, "hash": domain.GENESIS})
    return docs


def test_the_hash_chain_names_the_first_edited_entry():
    docs = _journal(5)
    assert domain.first_broken(docs) is None
    docs[2]["lines"][0]["amount_fen"] += 100  # edited in place: its hash no longer matches
    docs[2]["lines"][1]["amount_fen"] -= 100
    assert domain.first_broken(docs) == {"entry_id": "T2", "seq": 3, "expected_seq": 3}


def test_the_hash_chain_notices_a_removed_entry():
    docs = _journal(4)
    del docs[1]
    assert domain.first_broken(docs)["entry_id"] == "T2"


def test_a_reversal_mirrors_the_original():
    original = _journal(1)[0]
    undo = domain.reversal(original, "T0-R", BOOKED)
    assert [x["amount_fen"] for x in undo["lines"]] == [-1, 1] and undo["reverses"] == "T0"


def test_school_entry_cohort():
    assert domain.enters_school(date(2019, 9, 1), 2026) and domain.enters_school(date(2020, 8, 31), 2026)
    assert not domain.enters_school(date(2020, 9, 1), 2026) and not domain.enters_school(
        date(2019, 8, 31), 2026
    )


def test_yuan_is_for_display_only():
    assert domain.yuan(2_520_000_000) == "25,200,000.00" and domain.yuan(-5) == "-0.05"
