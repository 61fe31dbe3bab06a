"""Paying out: the two-level dividend run with maker-checker, allowances, subsidies."""

from datetime import date

import pytest

from shared.errors import Conflict, Forbidden, NotFound
from tests.integration.finance.conftest import assert_books_sound, wait_for_count
from tests.support import wait_until

# the unit tests' hand-computed case: community 1000 fen over shares 1:2:3 → 167 / 333 / 500;
# 第1组's 100 fen over 1:2 → 33 / 67; 第2组's 50 fen → 50 to its only holder with shares.
ROWS = [(1, "第1组", 1), (2, "第1组", 2), (3, "第2组", 3), (4, "第2组", 0)]
EXPECTED = {"SH-00001": 200, "SH-00002": 400, "SH-00003": 550}
PREVIEW = {"year": 2026, "community_fen": 1000, "groups_fen": {"第1组": 100, "第2组": 50}}


@pytest.fixture
def shareholders(registry_events, fdb):
    registry_events.shareholders(ROWS)
    wait_for_count(fdb.shareholders, {}, len(ROWS))


def test_a_dividend_run_is_previewed_approved_by_another_person_and_paid_once(
    shareholders, officer, approver, as_actor, fdb, listen
):
    paid = listen("dividend_paid")
    run = officer.preview_dividends(PREVIEW)
    assert (run["run_id"], run["status"], run["shareholders"], run["total_fen"]) == (
        "DR-2026",
        "previewed",
        3,
        1150,
    )
    with pytest.raises(Conflict):
        officer.run_dividends({"run_id": "DR-2026"})  # not approved yet
    with pytest.raises(Forbidden):  # maker-checker: the maker, even holding the approver role
        as_actor({"id": "ST-0101", "role": "finance_approver"}).finance.approve_dividends(
            {"run_id": "DR-2026"}
        )
    with pytest.raises(Forbidden):  # and an officer may not approve at all
        officer.approve_dividends({"run_id": "DR-2026"})
    assert approver.approve_dividends({"run_id": "DR-2026"})["approver"] == "ST-0102"
    with pytest.raises(Conflict):  # approved: the preview is frozen
        officer.preview_dividends({**PREVIEW, "community_fen": 2000})

    assert officer.dividend_run({"run_id": "DR-2026"})["lines_paid"] == 0

    assert officer.run_dividends({"run_id": "DR-2026"})["status"] == "paid"
    assert officer.run_dividends({"run_id": "DR-2026"})["paid"] == 3  # again: nothing more is paid
    shown = officer.dividend_run({"run_id": "DR-2026"})
    assert shown["lines_paid"] == 3 and [line["status"] for line in shown["first_lines"]] == ["paid"] * 3
    assert {
        d["_id"].split(":")[1]: sum(x["amount_fen"] for x in d["lines"] if x["amount_fen"] > 0)
        for d in fdb.journal.find({"code": "dividend"})
    } == EXPECTED
    assert officer.account_balance({"account": "community/bank"})["balance_fen"] == -1000
    assert officer.account_balance({"account": "group:第1组/bank"})["balance_fen"] == -100
    wait_until(lambda: len(paid()) == 3, message="three dividend_paid events")
    assert {e["payload"]["shareholder_id"]: e["payload"]["amount_fen"] for e in paid()} == EXPECTED
    assert_books_sound(fdb, officer)


def test_a_shareholder_reads_their_own_statement_only(shareholders, officer, approver, as_actor):
    officer.preview_dividends(PREVIEW)
    approver.approve_dividends({"run_id": "DR-2026"})
    officer.run_dividends({"run_id": "DR-2026"})
    me = as_actor({"id": "R-000002", "role": "resident"}).finance
    statement = me.dividend_statement({"resident_id": "R-000002"})
    assert statement["paid_fen"] == 400 and statement["runs"][0]["community_fen"] == 333
    with pytest.raises(NotFound):
        me.dividend_statement({"shareholder_id": "SH-00001"})


def test_a_share_change_before_the_preview_counts(registry_events, shareholders, officer, fdb):
    registry_events.emit_many(
        "registry.shareholder_changed",
        [
            {
                "shareholder_id": "SH-00004",
                "resident_id": "R-000004",
                "before": {"shares": 0},
                "after": {"shares": 3},
                "reason": "inheritance",
            }
        ],
    )
    wait_until(lambda: fdb.shareholders.find_one({"_id": "SH-00004"})["shares"] == 3, message="the change")
    run = officer.preview_dividends(PREVIEW)
    assert run["shareholders"] == 4 and run["total_fen"] == 1150  # totals still match to the fen


def test_the_monthly_allowance_and_the_month_of_turning_60(registry_events, officer, fdb, listen):
    paid = listen("allowance_paid")
    registry_events.residents([date(1950, 3, 3), date(1966, 11, 16), date(1970, 1, 1), date(1945, 5, 5)])
    registry_events.emit_many(
        "registry.resident_registered",
        [
            {
                "resident_id": "R-000099",
                "household_id": "HH-G1-00099",
                "grid_code": "G1",
                "name": "流动人口",
                "sex": "M",
                "birth_date": date(1940, 1, 1),
                "residence_type": "floating",
            }
        ],
    )
    wait_for_count(fdb.residents, {}, 5)
    registry_events.emit_many(
        "registry.resident_died",
        [
            {
                "resident_id": "R-000004",
                "household_id": "HH-G1-00004",
                "grid_code": "G1",
                "died_on": date(2026, 10, 2),
            }
        ],
    )
    wait_until(lambda: fdb.residents.find_one({"_id": "R-000004", "status": "deceased"}), message="the death")

    result = officer.run_allowances({"month": "2026-12"})
    # R-000001: 600 yuan; R-000002, 60 on 16 November: December's 600 + 15/30 of November = 900
    assert (result["eligible"], result["paid_now"], result["total_fen"]) == (2, 2, 150_000)
    assert officer.run_allowances({"month": "2026-12"})["paid_now"] == 0  # once per month
    wait_until(lambda: len(paid()) == 2, message="two allowance_paid events")
    assert {
        e["payload"]["resident_id"]: (e["payload"]["amount_fen"], e["payload"]["first_month_fen"])
        for e in paid()
    } == {"R-000001": (60_000, 0), "R-000002": (90_000, 30_000)}
    assert officer.run_allowances({"month": "2027-01"})["total_fen"] == 120_000
    assert_books_sound(fdb, officer)


def test_school_entry_subsidies_and_insurance_premiums(registry_events, officer, fdb, listen):
    paid = listen("subsidy_paid")
    registry_events.residents([date(2019, 9, 1), date(2020, 8, 31), date(2020, 9, 1), date(1980, 1, 1)])
    wait_for_count(fdb.residents, {}, 4)
    school = officer.run_subsidies({"kind": "school_entry", "year": 2026, "amount_fen": 100_000})
    assert (school["beneficiaries"], school["paid_now"]) == (2, 2)
    insurance = officer.run_subsidies({"kind": "insurance_premium", "year": 2026, "amount_fen": 38_000})
    assert (insurance["beneficiaries"], insurance["total_fen"]) == (4, 152_000)
    assert (
        officer.run_subsidies({"kind": "insurance_premium", "year": 2026, "amount_fen": 38_000})["paid_now"]
        == 0
    )
    wait_until(lambda: len(paid()) == 6, message="six subsidy_paid events")
    assert officer.account_balance({"account": "community/insurance_expense"})["balance_fen"] == 152_000
    assert_books_sound(fdb, officer)
