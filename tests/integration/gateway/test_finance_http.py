"""finance over HTTP: fen in and out, the maker and the checker, the books' readers, CSV arrears."""


def test_a_transfer_in_fen_and_who_may_post_or_read_it(client):
    officer, approver = client("finance_officer"), client("finance_approver")
    admin = client("community_admin")
    resident = client("resident", resident_id="R-000001")
    entry = {"entry_id": "T-GW-0001", "code": "adjustment", "debit": "community/bank",
             "credit": "community/retained_earnings", "amount_fen": 1234567, "memo": "期初余额"}
    posted = officer.post("/v1/finance/transfers", json=entry)
    assert posted.status_code == 201, posted.text
    assert approver.post("/v1/finance/transfers", json={**entry, "entry_id": "T-GW-0002"}).status_code == 403
    assert resident.get("/v1/finance/trial-balance").status_code == 403
    balance = admin.ok("GET", "/v1/finance/balance?account=community/bank")
    assert balance["balance_fen"] == 1234567 and isinstance(balance["balance_fen"], int)
    again = officer.post("/v1/finance/transfers", json=entry)  # the same entry id: never a second posting
    assert again.status_code in (200, 201, 409)
    assert admin.ok("GET", "/v1/finance/balance?account=community/bank")["balance_fen"] == 1234567


def test_arrears_export_is_csv_with_a_bom(client):
    officer = client("finance_officer")
    response = officer.get("/v1/finance/arrears?format=csv")
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    assert response.content.decode("utf-8-sig").splitlines()[0] == \
        "invoice_id,kind,tenant_id,open_fen,due_on,days_overdue,bucket"
