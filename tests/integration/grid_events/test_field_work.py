"""Mediation, patrols and CCTV alarms."""

import pytest

from shared.errors import CommandRefused, Conflict, InvalidInput, NotFound


def test_mediation_of_a_dispute_incident_until_agreement(community, rpc):
    ge = rpc("grid_events")
    dispute = ge.report_incident(
        {"category": "dispute", "description": "楼上漏水邻里纠纷", "grid_code": "G1"})
    noise = ge.report_incident({"category": "noise", "description": "x", "grid_code": "G1"})
    parties = [{"name": "王某", "resident_id": "R-1"}, {"name": "李某"}]
    mediators = [{"name": "人民调解员"}, {"name": "社区民警", "role": "police"}]
    with pytest.raises(InvalidInput):
        ge.open_mediation({"subject": "x", "incident_id": noise["incident_id"], "parties": parties,
                           "mediators": mediators})
    mediation = ge.open_mediation({"subject": "漏水赔偿", "incident_id": dispute["incident_id"],
                                   "parties": parties, "mediators": mediators})
    mid = mediation["mediation_id"]
    assert ge.get_incident(dispute["incident_id"])["mediation_id"] == mid
    assert ge.record_mediation_session({"mediation_id": mid, "notes": "双方陈述",
                                        "outcome": "continued"})["status"] == "open"
    with pytest.raises(InvalidInput) as refused:
        ge.record_mediation_session({"mediation_id": mid, "notes": "达成一致", "outcome": "agreed"})
    assert "agreement" in refused.value.fields
    agreed = ge.record_mediation_session({"mediation_id": mid, "notes": "达成一致", "outcome": "agreed",
                                          "agreement": "楼上赔偿 800 元并修复防水"})
    assert agreed["status"] == "agreed" and len(agreed["sessions"]) == 2
    with pytest.raises(Conflict):
        ge.record_mediation_session({"mediation_id": mid, "notes": "x", "outcome": "continued"})


def test_a_patrol_checks_in_along_its_route_and_its_finding_becomes_an_incident(community, rpc, emitted):
    ge = rpc("grid_events")
    patrol = ge.start_patrol({"grid_code": "G1", "shift": "night", "team": [community.worker1, "保安甲"],
                              "route": ["北门", "B1", "B2", "南门"]})
    pid = patrol["patrol_id"]
    ge.patrol_checkin({"patrol_id": pid, "checkpoint": "北门"})
    with pytest.raises(InvalidInput):
        ge.patrol_checkin({"patrol_id": pid, "checkpoint": "夜市"})
    checkin = ge.patrol_checkin({"patrol_id": pid, "checkpoint": "B2", "finding": {
        "category": "fire_safety", "description": "消防通道堆放杂物",
        "address": {"building": "B2", "room": "1F"}}})
    incident = ge.get_incident(checkin["incident_id"])
    assert incident["source"] == "patrol" and incident["grid_code"] == "G1"
    assert incident["priority"] == "urgent" and incident["status"] == "dispatched"
    assert incident["patrol_id"] == pid
    assert emitted("grid_events.incident_reported")[0]["source"] == "patrol"
    ended = ge.end_patrol({"patrol_id": pid})
    assert ended["missed_checkpoints"] == ["B1", "南门"]
    with pytest.raises(Conflict):
        ge.patrol_checkin({"patrol_id": pid, "checkpoint": "南门"})


def test_repeated_cctv_alarms_from_one_camera_fold_into_one_incident(community, rpc, frozen_clock, emitted):
    ge = rpc("grid_events")
    with pytest.raises(NotFound):
        ge.cctv_alarm({"camera_id": "CAM-404"})
    ge.register_camera({"camera_id": "CAM-017", "grid_code": "G2", "building": "B3"})
    first = ge.cctv_alarm({"camera_id": "CAM-017", "description": "人员聚集"})
    assert first["folded"] is False
    frozen_clock.advance(minutes=20)
    again = ge.cctv_alarm({"camera_id": "CAM-017", "description": "人员聚集"})
    frozen_clock.advance(minutes=25)  # 25 min after the previous alarm: still folds
    third = ge.cctv_alarm({"camera_id": "CAM-017", "description": "人员聚集"})
    assert again["incident_id"] == third["incident_id"] == first["incident_id"]
    assert third["alarm_count"] == 3
    incident = ge.get_incident(first["incident_id"])
    assert incident["source"] == "cctv" and incident["grid_code"] == "G2" and incident["alarm_count"] == 3
    assert incident["assignee_staff_id"] == community.worker2 and incident["also_police"] is True
    frozen_clock.advance(minutes=31)
    later = ge.cctv_alarm({"camera_id": "CAM-017"})
    assert later["folded"] is False and later["incident_id"] != first["incident_id"]
    assert len(emitted("grid_events.incident_reported", 2)) == 2


def _at_once(config, calls):
    """Run (rpc, payload) calls at the same time, each on its own client; (kind, answer) each."""
    import eventlet
    from nameko.standalone.rpc import ClusterRpcProxy

    def call(job):
        name, payload = job
        with ClusterRpcProxy(config, context_data={"actor": {"id": "CA-1", "role": "community_admin"}}) as c:
            try:
                return "ok", getattr(c.grid_events, name)(payload)
            except CommandRefused as refused:
                return refused.code, refused.fields
            except Exception as exc:  # noqa: BLE001 -- what the bug gave: a bare RemoteError
                return type(exc).__name__, str(exc)[:200]

    return list(eventlet.GreenPool(len(calls)).imap(call, calls))


def test_concurrent_sessions_and_check_ins_are_each_kept_in_order(community, rpc, config, gdb):
    """Writes that collide are rerun from a fresh read: ten sessions at once are numbered 1..10,
    twelve check-ins at once are all kept, and none answers anything but its result."""
    ge = rpc("grid_events")
    route = [f"P{n}" for n in range(12)]
    pid = ge.start_patrol({"grid_code": "G1", "shift": "night", "team": ["甲"], "route": route})["patrol_id"]
    mid = ge.open_mediation({"subject": "x", "grid_code": "G1", "parties": [{"name": "a"}, {"name": "b"}],
                             "mediators": [{"name": "m"}]})["mediation_id"]
    results = _at_once(config, [("patrol_checkin", {"patrol_id": pid, "checkpoint": p}) for p in route]
                       + [("record_mediation_session", {"mediation_id": mid, "notes": f"第{n}次",
                                                        "outcome": "continued"}) for n in range(10)])
    assert [kind for kind, _ in results] == ["ok"] * 22
    patrol = gdb.patrols.find_one({"_id": pid})
    assert sorted(c["checkpoint"] for c in patrol["checkins"]) == sorted(route)
    sessions = gdb.mediations.find_one({"_id": mid})["sessions"]
    assert [s["number"] for s in sessions] == list(range(1, 11))

    ended = _at_once(config, [("end_patrol", {"patrol_id": pid})] * 4)
    assert sorted(kind for kind, _ in ended) == ["illegal_transition"] * 3 + ["ok"]
    assert gdb.patrols.find_one({"_id": pid})["missed_checkpoints"] == []
