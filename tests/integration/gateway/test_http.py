"""The HTTP edge: login and tokens, the error shape, correlation ids, bad input, Chinese text, CSV."""

import uuid

from tests.integration.gateway.conftest import PASSWORD


def error_of(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields", "correlation_id"}, body
    assert body["error"]["correlation_id"] == response.headers["X-Correlation-Id"]
    return body["error"]


# ---------------------------------------------------------------- accounts and tokens


def test_login_returns_a_token_that_names_the_actor(client):
    worker = client("grid_worker", username="wang.g1", grid="G1", staff_id="ST-0001")
    me = worker.ok("GET", "/v1/me")
    assert me == {"id": "ST-0001", "role": "grid_worker", "grid": "G1", "account": "wang.g1",
                  "staff_id": "ST-0001"}


def test_wrong_password_and_unknown_user_get_the_same_401(anonymous, accounts):
    accounts("li.office", "community_admin")
    wrong = anonymous.post("/v1/auth/login", json={"username": "li.office", "password": "nope-nope-nope"})
    unknown = anonymous.post("/v1/auth/login", json={"username": "nobody.here", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong)["message"] == error_of(unknown)["message"]


def test_repeated_failures_lock_the_account_even_for_the_right_password(anonymous, accounts, frozen_clock):
    accounts("zhao.office", "community_admin")
    for _ in range(3):  # GATEWAY.lockout attempts=3 in the tests
        assert anonymous.post("/v1/auth/login", json={"username": "zhao.office", "password": "x" * 12}) \
            .status_code == 401
    locked = anonymous.post("/v1/auth/login", json={"username": "zhao.office", "password": PASSWORD})
    assert locked.status_code == 429 and error_of(locked)["code"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0
    frozen_clock.advance(minutes=16)
    assert anonymous.post("/v1/auth/login", json={"username": "zhao.office", "password": PASSWORD}) \
        .status_code == 200


def test_no_token_a_forged_token_and_an_expired_token_are_401(client, anonymous, frozen_clock):
    assert error_of(anonymous.get("/v1/incidents"))["code"] == "unauthenticated"
    forged = anonymous.get("/v1/incidents", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    worker = client("grid_worker", grid="G1")
    assert worker.get("/v1/me").status_code == 200
    frozen_clock.advance(minutes=61)
    expired = worker.get("/v1/me")
    assert expired.status_code == 401 and error_of(expired)["fields"] == {"authorization": ["expired"]}


def test_logout_revokes_that_token_only(base_url, client):
    from tests.integration.gateway.conftest import Client

    admin = client("community_admin", username="sun.office")
    again = Client(base_url).ok("POST", "/v1/auth/login",
                                json={"username": "sun.office", "password": PASSWORD})
    second = Client(base_url, again["token"])
    assert admin.ok("POST", "/v1/auth/logout") == {"revoked": True}
    assert admin.get("/v1/me").status_code == 401
    assert second.get("/v1/me").status_code == 200


def test_deactivating_an_account_ends_its_tokens(client):
    operator = client("operator")
    worker = client("grid_worker", username="qian.g2", grid="G2")
    assert worker.get("/v1/me").status_code == 200
    assert operator.ok("POST", "/v1/accounts/qian.g2/deactivate")["active"] is False
    assert worker.get("/v1/me").status_code == 401


def test_only_admins_create_accounts_and_the_shape_is_checked(client):
    operator = client("operator")
    created = operator.post("/v1/accounts", json={"username": "zhou.res", "password": "long enough pw",
                                                  "role": "resident", "resident_id": "R-000001"})
    assert created.status_code == 201 and "password_hash" not in created.json()
    assert created.json()["resident_id"] == "R-000001"
    missing_grid = operator.post("/v1/accounts", json={"username": "wu.gw", "password": "long enough pw",
                                                       "role": "grid_worker"})
    assert missing_grid.status_code == 422 and "grid" in error_of(missing_grid)["fields"]
    taken = operator.post("/v1/accounts", json={"username": "zhou.res", "password": "long enough pw",
                                                "role": "operator"})
    assert taken.status_code == 409
    resident = client("resident", resident_id="R-000002")
    assert resident.post("/v1/accounts", json={}).status_code == 403


# ---------------------------------------------------------------- the edge


def test_correlation_id_is_echoed_or_made_and_reaches_the_error(client, anonymous):
    mine = uuid.uuid4().hex
    response = anonymous.get("/v1/incidents", headers={"X-Correlation-Id": mine})
    assert response.headers["X-Correlation-Id"] == mine and error_of(response)["correlation_id"] == mine
    made = anonymous.get("/health")
    assert len(made.headers["X-Correlation-Id"]) == 32
    junk = anonymous.get("/health", headers={"X-Correlation-Id": "<script>"})
    assert junk.headers["X-Correlation-Id"] != "<script>"


def test_unknown_routes_and_methods_answer_json(anonymous):
    missing = anonymous.get("/v1/no-such-thing")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong_method = anonymous.request("DELETE", "/v1/incidents")
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"


def test_bad_bodies_get_a_structured_4xx_and_write_nothing(admin, community, gateway_config, mongo_client):
    incidents = mongo_client[f"{gateway_config['MONGO_DB_PREFIX']}grid_events"].incidents
    before = incidents.count_documents({})
    not_json = admin.request("POST", "/v1/incidents", data=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and error_of(not_json)["code"] == "malformed_request"
    not_object = admin.post("/v1/incidents", json=[1, 2])
    assert not_object.status_code == 400
    wrong_type = admin.request("POST", "/v1/incidents", data="category=noise",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert wrong_type.status_code == 415 and error_of(wrong_type)["code"] == "unsupported_media_type"
    huge = admin.post("/v1/incidents", json={"category": "noise", "description": "x" * 70_000,
                                             "grid_code": "G1"})
    assert huge.status_code == 413 and error_of(huge)["code"] == "payload_too_large"
    unknown = admin.post("/v1/incidents", json={"category": "noise", "description": "吵", "grid_code": "G1",
                                                "colour": "red"})
    assert unknown.status_code == 422 and "colour" in error_of(unknown)["fields"]
    bad_query = admin.get("/v1/incidents?page_size=1000")
    assert bad_query.status_code == 422 and "page_size" in error_of(bad_query)["fields"]
    assert incidents.count_documents({}) == before


def test_chinese_text_round_trips_and_pages_are_bounded(admin, community):
    reported = admin.ok("POST", "/v1/incidents", json={
        "category": "noise", "description": "楼上深夜装修，噪音扰民 🔨", "grid_code": "G1"})
    again = admin.ok("GET", f"/v1/incidents/{reported['incident_id']}")
    assert again["description"] == "楼上深夜装修，噪音扰民 🔨"
    raw = admin.get(f"/v1/incidents/{reported['incident_id']}")
    assert raw.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "噪音扰民".encode() in raw.content  # UTF-8 as is, not \\u escapes
    page = admin.ok("GET", "/v1/incidents?grid_code=G1&page=1&page_size=100")
    assert page["total"] == 1 and page["page_size"] == 100


def test_csv_export_has_a_bom_and_chinese_names(admin, community):
    response = admin.get("/v1/residents?grid_code=G1&format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("resident_id,name,")
    assert len(lines) == 2 and "G1居民" in lines[1]
    assert "1390013" not in response.text  # phones stay masked in the export


def test_idempotency_key_goes_to_the_service_as_request_id(admin, community):
    """The key travels as context data `request_id` (the kit makes commands honour it); a key
    the gateway cannot pass on safely is refused before anything runs."""
    bad = admin.post("/v1/incidents", json={"category": "noise", "description": "x", "grid_code": "G1"},
                     headers={"Idempotency-Key": "has spaces in it"})
    assert bad.status_code == 400 and error_of(bad)["fields"] == {
        "Idempotency-Key": ["Idempotency-Key: 1 to 100 of A-Z a-z 0-9 . _ : -"]}


def test_a_service_that_is_not_running_is_a_503_not_a_hang(runner_factory, gateway_config, web_config_port,
                                                           accounts):
    """Only the gateway runs: the registry's RPC has nowhere to go; the caller gets the error
    shape with its correlation id and Retry-After, at once."""
    from services.gateway.service import GatewayService
    from tests.integration.gateway.conftest import Client

    quick = {**gateway_config["GATEWAY"], "rpc_timeout_seconds": 0.5}
    runner = runner_factory({**gateway_config, "GATEWAY": quick}, GatewayService)
    runner.start()
    accounts("lone.office", "community_admin")
    base = f"http://127.0.0.1:{web_config_port}"
    token = Client(base).ok("POST", "/v1/auth/login", json={"username": "lone.office", "password": PASSWORD})
    response = Client(base, token["token"]).get("/v1/grids")
    assert response.status_code == 503 and error_of(response)["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    assert "Traceback" not in response.text


def test_access_log_is_one_json_line_with_correlation_and_actor(client, caplog):
    import json as _json
    import logging

    from shared.logs import JsonFormatter

    worker = client("grid_worker", grid="G1", staff_id="ST-0042")
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        worker.get("/v1/me", headers={"X-Correlation-Id": "trace-me-1"})
    [record] = [r for r in caplog.records if r.name == "gateway.access" and r.correlation_id == "trace-me-1"]
    line = _json.loads(JsonFormatter().format(record))
    assert line["correlation_id"] == "trace-me-1" and line["actor_id"] == "ST-0042"
    assert line["actor_role"] == "grid_worker" and line["status"] == 200 and line["route"] == "/v1/me"
    assert line["http_method"] == "GET" and isinstance(line["ms"], float)
