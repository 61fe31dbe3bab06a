"""Every writing RPC of grid_events, fuzzed with what its schema refuses (tests/fuzz.py): a
structured InvalidInput naming the spoilt field, and not one document written anywhere in the
service's database (outbox included: the relay is off, so only a write would change it)."""

import pytest

from services.grid_events import schemas as s
from services.grid_events.service import GridEventsService
from tests.fuzz import refuses_bad_input

INC = {"incident_id": "INC-261102-7F3A9C"}
PATROL = {"patrol_id": "PAT-261102-7F3A9C"}
WINDOW = {"request_id": "WR-261102-7F3A9C"}
PARTIES = {"parties": [{"name": "王某", "resident_id": "R-000001"}, {"name": "李某"}],
           "mediators": [{"name": "调解员", "staff_id": "ST-0001", "role": "mediator"}]}

# (rpc, its schema, a valid payload the fuzzer spoils one way at a time)
WRITES = [
    ("report_incident", s.ReportIncident, {
        "category": "noise", "description": "深夜噪音", "grid_code": "G1", "reporter_resident_id": "R-000001",
        "address": {"building": "B1", "unit": "1", "room": "101"}, "location": {"lat": 22.5, "lng": 114.0},
        "photos": ["http://x/1.jpg"], "source": "hotline", "priority": "high"}),
    ("dispatch", s.Dispatch, {**INC, "assignee_staff_id": "ST-0001", "note": "请处理"}),
    ("accept", s.IncidentRef, {**INC, "note": "收到"}),
    ("start", s.IncidentRef, {**INC, "note": "出发"}),
    ("resolve", s.Resolve, {**INC, "resolution": "已处理"}),
    ("close", s.IncidentRef, {**INC, "note": "结案"}),
    ("reject", s.WithReason, {**INC, "reason": "非本社区事务"}),
    ("reopen", s.WithReason, {**INC, "reason": "没修好"}),
    ("rate", s.Rate, {**INC, "rating": 4, "comment": "及时"}),
    ("merge_duplicate", s.Merge, {**INC, "into_incident_id": "INC-261102-000001"}),
    ("request_extension", s.RequestExtension, {**INC, "minutes": 60, "reason": "等配件"}),
    ("grant_extension", s.GrantExtension, {**INC, "extension_id": "EXT-1", "granted": True,
                                           "reason": "同意"}),
    ("record_visit", s.RecordVisit, {"task_id": "VT-261102-7F3A9C", "notes": "慰问",
                                     "visited_on": "2026-11-02", "staff_id": "ST-0001"}),
    ("create_year_end_visits", s.YearEndVisits, {"year": 2026}),
    ("start_campaign", s.StartCampaign, {"name": "反诈入户", "kind": "anti_fraud",
                                         "grid_codes": ["G1", "G2"]}),
    ("record_household_visit", s.RecordHouseholdVisit, {
        "campaign_id": "CMP-261102-7F3A9C", "household_id": "HH-G1-00001",
        "residents_reached": ["R-000001", "R-000002"], "note": "在家"}),
    ("submit_window_request", s.SubmitWindowRequest, {"window": "documents", "subject": "居住证",
                                                      "details": "材料齐全", "resident_id": "R-000001"}),
    ("transfer_window_request", s.TransferWindowRequest, {**WINDOW, "to": "health", "reason": "卫健窗口"}),
    ("escalate_window_request", s.EscalateWindowRequest, {**WINDOW, "reason": "超时"}),
    ("complete_window_request", s.CompleteWindowRequest, {**WINDOW, "outcome": "handled", "note": "已办结"}),
    ("open_mediation", s.OpenMediation, {"subject": "漏水纠纷", "incident_id": "INC-261102-7F3A9C",
                                         "grid_code": "G1", **PARTIES}),
    ("record_mediation_session", s.MediationSession, {"mediation_id": "MED-261102-7F3A9C", "notes": "陈述",
                                                      "outcome": "continued"}),
    ("start_patrol", s.StartPatrol, {"grid_code": "G1", "shift": "night", "team": ["甲", "乙"],
                                     "route": ["东门", "西门"]}),
    ("patrol_checkin", s.PatrolCheckin, {**PATROL, "checkpoint": "东门", "note": "正常", "finding": {
        "category": "sanitation", "description": "垃圾", "address": {"building": "B1"}}}),
    ("end_patrol", s.EndPatrol, {**PATROL, "note": "结束"}),
    ("register_camera", s.RegisterCamera, {"camera_id": "CAM-1", "grid_code": "G1", "building": "B1",
                                           "location": {"lat": 22.5, "lng": 114.0}}),
    ("cctv_alarm", s.CctvAlarm, {"camera_id": "CAM-1", "category": "public_order", "description": "聚集"}),
]


def test_every_writing_rpc_is_fuzzed():
    reads = {"health", "categories", "get_incident", "list_incidents", "grid_stats", "all_grid_stats",
             "list_visit_tasks", "list_visit_logs", "campaign_coverage", "get_window_request"}
    rpcs = {name for name, method in vars(GridEventsService).items()
            if any(type(e).__name__ == "Rpc" for e in getattr(method, "nameko_entrypoints", ()))}
    assert {name for name, _, _ in WRITES} == rpcs - reads


@pytest.fixture
def quiet(runner_factory, config):
    """grid_events alone with its outbox relay off: nothing but a write changes its database."""
    runner = runner_factory({**config, "OUTBOX_RELAY": False}, GridEventsService)
    runner.start()
    return runner


@pytest.mark.parametrize("name, schema, base", WRITES, ids=[w[0] for w in WRITES])
def test_junk_is_refused_with_the_field_named_and_nothing_written(quiet, name, gdb, as_actor, schema, base):
    client = as_actor({"id": "CA-1", "role": "community_admin"}).grid_events
    refuses_bad_input(getattr(client, name), schema(), base, gdb, max_examples=15)
