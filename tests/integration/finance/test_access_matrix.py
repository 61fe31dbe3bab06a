"""Who may call what: every finance RPC × every role × own / other record, written by hand.

A = allowed (answers), R = refused (Forbidden before any worker runs), N = not found (the record
is someone else's: to this caller it does not exist). The table is the specification; it is not
computed from domain.POLICY."""

import itertools

import pytest

from shared.errors import Forbidden, NotFound

MATRIX = """
rpc                          officer approver admin resident vendor operator system grid_worker
post_transfer                A       R        R     R        R      R        R      R
reverse_transfer             A       R        R     R        R      R        R      R
account_balance              A       A        A     R        R      R        R      R
trial_balance                A       A        A     R        R      R        R      R
journal                      A       A        A     R        R      R        R      R
verify_journal               A       A        A     R        R      A        R      R
reconcile                    A       A        A     R        R      A        R      R
register_unit                A       R        R     R        R      R        R      R
sign_lease                   A       R        R     R        R      R        R      R
raise_invoices               A       R        R     R        R      R        A      R
record_payment               A       R        R     R        R      R        A      R
import_payments              A       R        R     R        R      R        A      R
arrears_report               A       A        A     R        R      R        R      R
payer_statement:own          A       A        A     A        A      R        R      R
payer_statement:other        A       A        A     N        N      R        R      R
register_enterprise          A       R        R     R        R      R        R      R
record_enterprise_income     A       R        R     R        R      R        R      R
income_report                A       A        A     R        R      R        R      R
preview_dividends            A       R        R     R        R      R        R      R
approve_dividends            R       A        R     R        R      R        R      R
run_dividends                A       A        R     R        R      R        A      R
dividend_run                 A       A        A     R        R      R        R      R
dividend_statement:own       A       A        R     A        R      R        R      R
dividend_statement:other     A       A        R     N        R      R        R      R
run_allowances               A       R        R     R        R      R        A      R
run_subsidies                A       R        R     R        R      R        A      R
stats                        A       A        A     R        R      A        R      R
health                       A       A        A     A        A      A        A      A
"""

ACTORS = {
    "officer": {"id": "ST-0101", "role": "finance_officer"},
    "approver": {"id": "ST-0102", "role": "finance_approver"},
    "admin": {"id": "ST-0001", "role": "community_admin"},
    "resident": {"id": "R-000001", "role": "resident"},
    "vendor": {"id": "V-0001", "role": "vendor"},
    "operator": {"id": "OP-1", "role": "operator"},
    "system": {"id": "market", "role": "system"},
    "grid_worker": {"id": "ST-0200", "role": "grid_worker", "grid": "G1"},
}
_n = itertools.count(1)


def payload(rpc, scope, who):
    """A valid request for `rpc` made by `who` about its own record or someone else's."""
    n = next(_n)
    own_payer = {"resident": "R-000001", "vendor": "V-0001"}.get(who, "V-0001")
    return {
        "post_transfer": {"entry_id": f"T-M{n}", "code": "adjustment", "debit": "community/bank",
                          "credit": "community/income_other", "amount_fen": 100},
        "reverse_transfer": {"entry_id": "T-SEED", "reversal_id": "T-SEED-R", "reason": "matrix"},
        "account_balance": {"account": "community/bank"},
        "register_unit": {"unit_id": f"U-M{n}", "kind": "parking", "name": "车位", "area_m2": 12},
        "sign_lease": {"lease_id": f"L-M{n}", "unit_id": "U-SEED", "tenant_id": "T-M", "tenant_name": "租户",
                       "monthly_rent_fen": 50_000, "start_month": "2026-01", "months": 12},
        "raise_invoices": {"month": "2026-11"},
        "record_payment": {"payment_id": f"PAY-M{n}", "source": "rent", "payer": "T-M", "amount_fen": 100},
        "import_payments": {"payments": [{"payment_id": f"PAY-I{n}", "source": "rent", "payer": "T-M",
                                          "amount_fen": 100}]},
        "payer_statement": {"payer": own_payer if scope == "own" else "T-OTHER"},
        "register_enterprise": {"enterprise_id": f"E-M{n}", "name": f"企业{n}", "kind": "self_run"},
        "record_enterprise_income": {"entry_id": f"EI-M{n}", "enterprise_id": "E-SEED", "period": "2026",
                                     "amount_fen": 100},
        "income_report": {"year": 2026},
        "preview_dividends": {"year": 2030, "community_fen": 300, "groups_fen": {}},
        "approve_dividends": {"run_id": "DR-2031"},
        "run_dividends": {"run_id": "DR-2032"},
        "dividend_run": {"run_id": "DR-2032"},
        "dividend_statement": {"resident_id": "R-000001" if scope == "own" else "R-000002"},
        "run_allowances": {"month": "2026-11"},
        "run_subsidies": {"kind": "insurance_premium", "year": 2026, "amount_fen": 100},
    }.get(rpc)


@pytest.fixture
def seeded(finance, fdb, as_actor):
    fdb.shareholders.insert_many([
        {"_id": f"SH-0000{n}", "shareholder_id": f"SH-0000{n}", "resident_id": f"R-00000{n}",
         "group": "第1组", "shares": n, "status": "active"} for n in (1, 2)])
    officer = as_actor(ACTORS["officer"]).finance
    approver = as_actor(ACTORS["approver"]).finance
    officer.post_transfer({"entry_id": "T-SEED", "code": "adjustment", "debit": "community/bank",
                           "credit": "community/income_other", "amount_fen": 100})
    officer.register_unit({"unit_id": "U-SEED", "kind": "shop", "name": "商铺", "area_m2": 30})
    officer.register_enterprise({"enterprise_id": "E-SEED", "name": "物业公司", "kind": "self_run"})
    for payer in ("V-0001", "R-000001", "T-OTHER"):
        officer.record_payment({"payment_id": f"PAY-{payer}", "source": "other", "payer": payer,
                                "amount_fen": 10})
    for year in (2031, 2032):
        officer.preview_dividends({"year": year, "community_fen": 300, "groups_fen": {}})
    approver.approve_dividends({"run_id": "DR-2032"})


def cells():
    rows = [line.split() for line in MATRIX.strip().splitlines()]
    roles = rows[0][1:]
    for row in rows[1:]:
        rpc, _, scope = row[0].partition(":")
        for role, expected in zip(roles, row[1:], strict=True):
            yield rpc, scope or "own", role, expected


def outcome(client, rpc, body):
    try:
        getattr(client, rpc)(body) if body is not None else getattr(client, rpc)()
        return "A"
    except Forbidden:
        return "R"
    except NotFound:
        return "N"


def test_every_rpc_has_a_row_and_every_row_is_an_rpc():
    from services.finance.domain import POLICY

    assert {rpc for rpc, *_ in cells()} == set(POLICY.rows)


def test_the_access_matrix(seeded, as_actor):
    clients = {role: as_actor(actor).finance for role, actor in ACTORS.items()}
    found = {}
    for rpc, scope, role, expected in cells():
        found[(rpc, scope, role)] = (outcome(clients[role], rpc, payload(rpc, scope, role)), expected)
    wrong = {cell: got for cell, got in found.items() if got[0] != got[1]}
    assert wrong == {}, f"(got, expected) per cell: {wrong}"


def test_no_actor_or_an_unknown_role_is_refused(seeded, as_actor):
    # (the kit refuses these before any worker for every RPC: tests/integration/test_access.py)
    for actor in (None, {"id": "X", "role": "superuser"}):
        client = as_actor(actor).finance
        for rpc in ("record_payment", "trial_balance", "dividend_statement"):
            assert outcome(client, rpc, payload(rpc, "own", "officer")) == "R", (actor, rpc)
