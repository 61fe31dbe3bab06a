"""Rents: units, leases, monthly invoices, payments matched (partial, over, unmatched), arrears."""

from datetime import UTC, datetime

import pytest
from nameko.testing.services import entrypoint_hook

from shared.errors import Conflict, InvalidInput
from tests.integration.finance.conftest import assert_books_sound
from tests.support import wait_until

RENT = 1_000_000  # 10,000 yuan a month


@pytest.fixture
def leased(finance, officer):
    officer.register_unit({"unit_id": "U-SHOP-1", "kind": "shop", "name": "临街商铺1号", "area_m2": 120})
    officer.sign_lease(
        {
            "lease_id": "L-1",
            "unit_id": "U-SHOP-1",
            "tenant_id": "T-001",
            "tenant_name": "王记餐饮",
            "monthly_rent_fen": RENT,
            "start_month": "2026-09",
            "months": 24,
            "escalation_bp": 500,
        }
    )
    for month in ("2026-09", "2026-10", "2026-11"):
        officer.raise_invoices({"month": month})
    return officer


def test_invoices_are_raised_once_per_lease_and_month(leased, fdb, listen):
    issued = listen("invoice_issued")
    assert leased.raise_invoices({"month": "2026-11"})["issued"] == 0  # the timer ran again: no-op
    assert leased.raise_invoices({"month": "2026-12"})["issued"] == 1
    assert leased.raise_invoices({"month": "2028-09"})["issued"] == 0  # after the term
    assert fdb.invoices.count_documents({}) == 4
    assert leased.account_balance({"account": "community/rent_receivable"})["balance_fen"] == 4 * RENT
    wait_until(lambda: len(issued()) == 1, timeout=30, message="invoice_issued for December")
    assert issued()[0]["payload"]["amount_fen"] == RENT and issued()[0]["payload"]["period"] == "2026-12"
    assert_books_sound(fdb, leased)


def test_a_lease_cannot_overlap_another_on_the_same_unit(leased, fdb):
    with pytest.raises(Conflict) as refused:
        leased.sign_lease(
            {
                "lease_id": "L-2",
                "unit_id": "U-SHOP-1",
                "tenant_id": "T-002",
                "tenant_name": "李",
                "monthly_rent_fen": RENT,
                "start_month": "2027-01",
                "months": 12,
            }
        )
    assert "unit_id" in refused.value.fields
    with pytest.raises(InvalidInput) as refused:
        leased.sign_lease(
            {
                "lease_id": "L-3",
                "unit_id": "U-SHOP-1",
                "tenant_id": "T-002",
                "tenant_name": "李",
                "monthly_rent_fen": 99.5,
                "start_month": "2028-09",
                "months": 12,
            }
        )
    assert "monthly_rent_fen" in refused.value.fields
    assert fdb.leases.count_documents({}) == 1


def test_payments_partial_over_and_unmatched(leased, fdb, listen):
    received = listen("payment_received")
    partial = leased.record_payment(
        {
            "payment_id": "PAY-1",
            "source": "rent",
            "payer": "T-001",
            "amount_fen": 400_000,
            "reference": "INV-L-1-2026-10",
        }
    )
    assert partial["applied"] == [{"reference": "INV-L-1-2026-10", "amount_fen": 400_000}]
    assert not partial["settled"] and partial["unapplied_fen"] == 0
    # 2,700,000: the rest of October first (it was named before), then September and November
    # oldest first; 100,000 is left over as the tenant's credit.
    over = leased.record_payment(
        {
            "payment_id": "PAY-2",
            "source": "rent",
            "payer": "T-001",
            "amount_fen": 2_700_000,
            "reference": "INV-L-1-2026-10",
        }
    )
    assert over["applied"] == [
        {"reference": "INV-L-1-2026-10", "amount_fen": 600_000},
        {"reference": "INV-L-1-2026-09", "amount_fen": 1_000_000},
        {"reference": "INV-L-1-2026-11", "amount_fen": 1_000_000},
    ]
    assert over["unapplied_fen"] == 100_000 and over["settled"]
    unmatched = leased.record_payment(
        {"payment_id": "PAY-3", "source": "rent", "payer": "T-999", "amount_fen": 5_000}
    )
    assert unmatched["applied"] == [] and unmatched["unapplied_fen"] == 5_000
    # the same payment again: its first answer; another body under its id: refused
    assert (
        leased.record_payment(
            {"payment_id": "PAY-3", "source": "rent", "payer": "T-999", "amount_fen": 5_000}
        )["applied_fen"]
        == 0
    )
    with pytest.raises(Conflict):
        leased.record_payment(
            {"payment_id": "PAY-3", "source": "rent", "payer": "T-999", "amount_fen": 6_000}
        )

    assert leased.account_balance({"account": "community/rent_receivable"})["balance_fen"] == 0
    assert leased.account_balance({"account": "community/unapplied_payments"})["balance_fen"] == -105_000
    assert leased.account_balance({"account": "community/bank"})["balance_fen"] == 3_105_000
    assert fdb.invoices.count_documents({"status": "open"}) == 0
    wait_until(lambda: len(received()) == 3, message="three payment_received events")
    first = received()[0]["payload"]
    assert {k: first[k] for k in ("payment_id", "source", "reference", "payer", "amount_fen")} == {
        "payment_id": "PAY-1",
        "source": "rent",
        "reference": "INV-L-1-2026-10",
        "payer": "T-001",
        "amount_fen": 400_000,
    }
    assert_books_sound(fdb, leased)


def test_a_bank_statement_books_each_line_as_one_payment_would_in_order(leased, fdb, listen):
    """Lines of one statement see each other: the second payment of a tenant pays what the first
    left open, a line repeated in the statement is booked once, an unknown payer is held unapplied."""
    received = listen("payment_received")
    line = {"source": "rent", "payer": "T-001"}
    summary = leased.import_payments({"payments": [
        {**line, "payment_id": "PAY-S1", "amount_fen": RENT + 300_000},  # September and part of October
        {**line, "payment_id": "PAY-S2", "amount_fen": 900_000},  # the rest of October, part of November
        {**line, "payment_id": "PAY-S1", "amount_fen": RENT + 300_000},  # the bank's duplicate line
        {"source": "rent", "payer": "T-404", "payment_id": "PAY-S3", "amount_fen": 5_000},
    ]})

    def applied(*parts):
        return [{"reference": f"INV-L-1-2026-{month}", "amount_fen": fen} for month, fen in parts]

    # the duplicate line answers as the first did (it counts in the summary, it is not booked again)
    assert summary == {"recorded": 4, "applied_fen": 2 * (RENT + 300_000) + 900_000, "unapplied_fen": 5_000}
    booked = {p["_id"]: p for p in fdb.payments.find()}
    assert booked["PAY-S1"]["applied"] == applied(("09", RENT), ("10", 300_000))
    assert booked["PAY-S2"]["applied"] == applied(("10", 700_000), ("11", 200_000))
    assert booked["PAY-S3"]["unapplied_fen"] == 5_000
    assert {i["_id"]: (i["open_fen"], i["status"]) for i in fdb.invoices.find()} == {
        "INV-L-1-2026-09": (0, "paid"), "INV-L-1-2026-10": (0, "paid"), "INV-L-1-2026-11": (800_000, "open")}
    assert fdb.payments.count_documents({}) == 3 and fdb.journal.count_documents({"code": "payment"}) == 3
    again = leased.import_payments({"payments": [{**line, "payment_id": "PAY-S2", "amount_fen": 900_000}]})
    assert again["applied_fen"] == 900_000 and fdb.payments.count_documents({}) == 3  # imported twice
    wait_until(lambda: len(received()) == 3, message="one payment_received per booked line")
    assert_books_sound(fdb, leased)


def test_arrears_age_in_buckets_and_each_bucket_is_announced_once(leased, fdb, finance, frozen_clock, listen):
    overdue = listen("rent_overdue")
    leased.record_payment(
        {
            "payment_id": "PAY-9",
            "source": "rent",
            "payer": "T-001",
            "amount_fen": 300_000,
            "reference": "INV-L-1-2026-11",
        }
    )
    report = leased.arrears_report({"as_of": "2026-12-15"})
    # due on the 11th: September 95 days late, October 65, November 34 (700,000 still open)
    assert report["buckets_fen"] == {"1-30": 0, "31-60": 700_000, "61-90": RENT, "90+": RENT}
    assert report["total_fen"] == 2_700_000 and report["tenants"] == [
        {"tenant_id": "T-001", "open_fen": 2_700_000}
    ]

    frozen_clock.current = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
    with entrypoint_hook(finance, "monthly_work") as tick:
        tick()
        tick()  # twice: still one notice per invoice and bucket
    # the timer also raised December's invoice, due on the 11th: 4 days late on the 15th
    wait_until(lambda: len(overdue()) == 4, message="four rent_overdue events")
    assert sorted(e["payload"]["bucket"] for e in overdue()) == ["1-30", "31-60", "61-90", "90+"]
    assert fdb.invoices.count_documents({"period": "2026-12"}) == 1  # the timer raised December's
    assert_books_sound(fdb, leased)


def test_a_deposit_is_invoiced_at_signing_and_held_as_a_liability(finance, officer, fdb):
    officer.register_unit({"unit_id": "U-FLOOR-2", "kind": "floor", "name": "厂房二层", "area_m2": 800})
    lease = {
        "lease_id": "L-7",
        "unit_id": "U-FLOOR-2",
        "tenant_id": "T-007",
        "tenant_name": "某电子厂",
        "monthly_rent_fen": 2_400_000,
        "start_month": "2026-11",
        "months": 36,
        "deposit_fen": 4_800_000,
    }
    officer.sign_lease(lease)
    officer.sign_lease(lease)  # retried: the same lease, one deposit invoice
    officer.record_payment(
        {
            "payment_id": "PAY-D",
            "source": "deposit",
            "payer": "T-007",
            "amount_fen": 4_800_000,
            "reference": "DEP-L-7",
        }
    )
    assert officer.account_balance({"account": "community/deposits_held"})["balance_fen"] == -4_800_000
    statement = officer.payer_statement({"payer": "T-007"})
    assert statement["invoices"][0]["status"] == "paid" and statement["open_fen"] == 0
    assert_books_sound(fdb, officer)
