"""Bad input to any writing RPC is refused with the field named, and nothing is written."""

import pytest

from shared.errors import InvalidInput

CASES = [
    (
        "record_payment",
        {"payment_id": "PAY-1", "source": "rent", "payer": "T-1", "amount_fen": 10.5},
        "amount_fen",
    ),
    (
        "record_payment",
        {"payment_id": "PAY-1", "source": "rent", "payer": {"$ne": None}, "amount_fen": 10},
        "payer",
    ),
    (
        "record_payment",
        {"payment_id": "PAY-1", "source": "cheque", "payer": "T-1", "amount_fen": 10},
        "source",
    ),
    (
        "import_payments",
        {"payments": [{"payment_id": "P 1", "source": "rent", "payer": "T-1", "amount_fen": 1}]},
        "payments",
    ),
    (
        "sign_lease",
        {
            "lease_id": "L-1",
            "unit_id": "U-1",
            "tenant_id": "T-1",
            "tenant_name": "   ",
            "monthly_rent_fen": 100,
            "start_month": "2026-01",
            "months": 12,
        },
        "tenant_name",
    ),
    (
        "sign_lease",
        {
            "lease_id": "L-1",
            "unit_id": "U-1",
            "tenant_id": "T-1",
            "tenant_name": "x",
            "monthly_rent_fen": 100,
            "start_month": "2026-13",
            "months": 12,
        },
        "start_month",
    ),
    ("register_unit", {"unit_id": "U-1", "kind": "shop", "name": "x" * 201, "area_m2": 10}, "name"),
    ("preview_dividends", {"year": 2026, "community_fen": 100, "groups_fen": {"第1组": 1.5}}, "groups_fen"),
    ("preview_dividends", {"year": 2026, "community_fen": -1}, "community_fen"),
    ("run_allowances", {"month": "26-11"}, "month"),
    ("run_subsidies", {"kind": "pension", "year": 2026}, "kind"),
    (
        "record_enterprise_income",
        {"entry_id": "EI-1", "enterprise_id": "E-01", "period": "2026", "amount_fen": "100"},
        "amount_fen",
    ),
]


@pytest.mark.parametrize("rpc, payload, field", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_refused_with_the_field_named_and_nothing_written(finance, officer, fdb, rpc, payload, field):
    with pytest.raises(InvalidInput) as refused:
        getattr(officer, rpc)(payload)
    assert any(name == field or name.startswith(field + ".") for name in refused.value.fields), (
        refused.value.fields
    )
    written = {
        name: fdb[name].count_documents({})
        for name in fdb.list_collection_names()
        if name not in ("locks", "processed_events")
    }
    assert not any(written.values()), written
