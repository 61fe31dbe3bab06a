"""Service windows and the no-veto rule: never refused without a transfer or an escalation."""

import pytest

from shared.errors import Conflict, InvalidInput


def test_no_veto_a_request_is_never_refused_without_a_transfer_or_an_escalation(services, rpc, gdb, emitted):
    ge = rpc("grid_events")
    request = ge.submit_window_request({"window": "documents", "subject": "居住证办理", "resident_id": "R-1"})
    rid = request["request_id"]
    with pytest.raises(Conflict) as refused:
        ge.complete_window_request({"request_id": rid, "outcome": "refused", "note": "材料不全"})
    assert refused.value.code == "no_veto"
    assert gdb.window_requests.find_one({"_id": rid})["status"] == "open"

    moved = ge.transfer_window_request(
        {"request_id": rid, "to": "floating_population", "reason": "流动人口窗口办理"})
    assert moved["window"] == "floating_population" and moved["status"] == "open"
    assert emitted("grid_events.window_request_transferred") == [
        {"request_id": rid, "from_window": "documents", "to": "floating_population",
         "reason": "流动人口窗口办理", "resident_id": "R-1"}]
    closed = ge.complete_window_request(
        {"request_id": rid, "outcome": "refused", "note": "不符合条件，已告知"})
    assert closed["status"] == "refused"
    with pytest.raises(Conflict):
        ge.complete_window_request({"request_id": rid, "outcome": "handled", "note": "again"})

    escalated = ge.submit_window_request({"window": "legal_advice", "subject": "劳务纠纷"})
    ge.escalate_window_request({"request_id": escalated["request_id"], "reason": "需社区办协调"})
    done = ge.complete_window_request({"request_id": escalated["request_id"], "outcome": "refused",
                                       "note": "超出社区职权，已转介"})
    assert done["status"] == "refused" and done["escalations"][0]["to"] == "community_office"

    handled = ge.submit_window_request({"window": "health", "subject": "疫苗预约"})
    assert ge.complete_window_request({"request_id": handled["request_id"], "outcome": "handled",
                                       "note": "已预约"})["status"] == "handled"


def test_a_transfer_out_to_a_department_and_unknown_windows(services, rpc):
    ge = rpc("grid_events")
    with pytest.raises(InvalidInput):
        ge.submit_window_request({"window": "window_14", "subject": "x"})
    request = ge.submit_window_request({"window": "city_management", "subject": "占道"})
    out = ge.transfer_window_request({"request_id": request["request_id"], "to": "区城管执法局",
                                      "reason": "执法权限在区"})
    assert out["status"] == "transferred_out" and out["department"] == "区城管执法局"


def test_clerks_acting_at_once_on_one_request_are_decided_one_after_the_other(services, rpc, config, gdb):
    """Five transfers of one request to one window at once: one moves it, the others see where it
    now is (already at this window); no crash, one history entry."""
    from tests.integration.grid_events.test_field_work import _at_once

    rid = rpc("grid_events").submit_window_request({"window": "documents", "subject": "居住证"})["request_id"]
    results = _at_once(config, [("transfer_window_request", {"request_id": rid, "to": "health",
                                                             "reason": "卫健"})] * 5)
    assert sorted(kind for kind, _ in results) == ["invalid_input"] * 4 + ["ok"]
    assert [fields for kind, fields in results if kind != "ok"] == [
        {"to": ["must differ from the current window"]}] * 4
    stored = gdb.window_requests.find_one({"_id": rid})
    assert stored["window"] == "health" and len(stored["transfers"]) == 1
