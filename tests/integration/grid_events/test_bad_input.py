"""Bad input to grid_events is refused with the caller's own field named, and nothing is written:
query operators as ids (every id-taking RPC), megabyte ids, invisible characters, wrong argument
counts, and refusals the registry words in its own field names."""

from shared.errors import InvalidInput, NotFound

OPERATORS = ({"$gt": ""}, {"$ne": None})
INC = {"incident_id": "INC-261102-000000"}

# (rpc, payload with OP where an id goes, the field the refusal names)
ID_CASES = [
    ("get_incident", "OP", "incident_id"),
    ("campaign_coverage", "OP", "campaign_id"),
    ("get_window_request", "OP", "request_id"),
    ("report_incident", {"category": "noise", "description": "x", "grid_code": "OP"}, "grid_code"),
    ("report_incident", {"category": "noise", "description": "x", "grid_code": "G1",
                         "reporter_resident_id": "OP"}, "reporter_resident_id"),
    ("report_incident", {"category": "noise", "description": "x", "address": {"building": "OP"}}, "address"),
    ("list_incidents", {"grid_code": "OP"}, "grid_code"),
    ("dispatch", {"incident_id": "OP", "assignee_staff_id": "ST-1"}, "incident_id"),
    ("dispatch", {**INC, "assignee_staff_id": "OP"}, "assignee_staff_id"),
    ("accept", {"incident_id": "OP"}, "incident_id"),
    ("start", {"incident_id": "OP"}, "incident_id"),
    ("resolve", {"incident_id": "OP", "resolution": "x"}, "incident_id"),
    ("reject", {"incident_id": "OP", "reason": "x"}, "incident_id"),
    ("close", {"incident_id": "OP"}, "incident_id"),
    ("reopen", {"incident_id": "OP", "reason": "x"}, "incident_id"),
    ("rate", {"incident_id": "OP", "rating": 5}, "incident_id"),
    ("merge_duplicate", {**INC, "into_incident_id": "OP"}, "into_incident_id"),
    ("request_extension", {"incident_id": "OP", "minutes": 5, "reason": "x"}, "incident_id"),
    ("grant_extension", {**INC, "extension_id": "OP", "reason": "x"}, "extension_id"),
    ("grid_stats", {"grid_code": "OP"}, "grid_code"),
    ("list_visit_tasks", {"resident_id": "OP"}, "resident_id"),
    ("list_visit_tasks", {"grid_code": "OP"}, "grid_code"),
    ("record_visit", {"task_id": "OP", "notes": "x"}, "task_id"),
    ("record_visit", {"task_id": "VT-1", "notes": "x", "staff_id": "OP"}, "staff_id"),
    ("list_visit_logs", {"resident_id": "OP"}, "resident_id"),
    ("list_visit_logs", {"task_id": "OP"}, "task_id"),
    ("start_campaign", {"name": "x", "grid_codes": ["OP"]}, "grid_codes"),
    ("record_household_visit", {"campaign_id": "OP", "household_id": "HH-G1-00001"}, "campaign_id"),
    ("record_household_visit", {"campaign_id": "CMP-1", "household_id": "OP"}, "household_id"),
    ("record_household_visit", {"campaign_id": "CMP-1", "household_id": "HH-G1-00001",
                                "residents_reached": ["OP"]}, "residents_reached"),
    ("submit_window_request", {"window": "health", "subject": "x", "resident_id": "OP"}, "resident_id"),
    ("transfer_window_request", {"request_id": "OP", "to": "health", "reason": "x"}, "request_id"),
    ("escalate_window_request", {"request_id": "OP", "reason": "x"}, "request_id"),
    ("complete_window_request", {"request_id": "OP", "outcome": "handled", "note": "x"}, "request_id"),
    ("open_mediation", {"subject": "x", "incident_id": "OP", "parties": [{"name": "a"}, {"name": "b"}],
                        "mediators": [{"name": "m"}]}, "incident_id"),
    ("open_mediation", {"subject": "x", "parties": [{"name": "a", "resident_id": "OP"}, {"name": "b"}],
                        "mediators": [{"name": "m"}]}, "parties"),
    ("record_mediation_session", {"mediation_id": "OP", "notes": "x", "outcome": "continued"},
     "mediation_id"),
    ("start_patrol", {"grid_code": "OP", "shift": "day", "team": ["a"], "route": ["b"]}, "grid_code"),
    ("patrol_checkin", {"patrol_id": "OP", "checkpoint": "b"}, "patrol_id"),
    ("end_patrol", {"patrol_id": "OP"}, "patrol_id"),
    ("register_camera", {"camera_id": "OP", "grid_code": "G1"}, "camera_id"),
    ("register_camera", {"camera_id": "CAM-1", "grid_code": "OP"}, "grid_code"),
    ("cctv_alarm", {"camera_id": "OP"}, "camera_id"),
]


def with_operator(payload, operator):
    if payload == "OP":
        return operator
    if isinstance(payload, dict):
        return {k: with_operator(v, operator) for k, v in payload.items()}
    if isinstance(payload, list):
        return [with_operator(v, operator) for v in payload]
    return payload


def written(gdb):
    """Documents of every collection a command writes: not the kit's claim records, nor the read
    models that registry events keep filling meanwhile (grids, staff)."""
    return {name: gdb[name].count_documents({}) for name in gdb.list_collection_names()
            if name not in ("processed_events", "requests", "grids", "staff")}


def test_query_operators_are_refused_as_ids_by_every_id_taking_rpc(community, rpc, gdb):
    ge = rpc("grid_events")
    before = written(gdb)
    wrong = []
    for name, payload, field in ID_CASES:
        for operator in OPERATORS:
            try:
                getattr(ge, name)(with_operator(payload, operator))
                wrong.append((name, field, operator, "accepted"))
            except InvalidInput as refused:
                if field not in refused.fields:
                    wrong.append((name, field, operator, refused.fields))
    assert wrong == []
    assert {name[0] for name in ID_CASES} >= ID_TAKING
    assert written(gdb) == before


ID_TAKING = {"get_incident", "campaign_coverage", "get_window_request", "report_incident", "list_incidents",
             "dispatch", "accept", "start", "resolve", "reject", "close", "reopen", "rate", "merge_duplicate",
             "request_extension", "grant_extension", "grid_stats", "list_visit_tasks", "record_visit",
             "list_visit_logs", "start_campaign", "record_household_visit", "submit_window_request",
             "transfer_window_request", "escalate_window_request", "complete_window_request",
             "open_mediation", "record_mediation_session", "start_patrol", "patrol_checkin", "end_patrol",
             "register_camera", "cctv_alarm"}


def test_a_megabyte_reporter_id_and_invisible_characters_are_refused_and_nothing_written(community, rpc, gdb,
                                                                                         emitted):
    ge = rpc("grid_events")
    before = written(gdb)
    report = {"category": "noise", "description": "噪音", "grid_code": "G1"}
    cases = [
        ({**report, "reporter_resident_id": "R-" + "1" * 1_000_000}, "reporter_resident_id"),
        ({**report, "description": "噪音\u0000"}, "description"),
        ({**report, "description": "\u202e音噪"}, "description"),
        ({**report, "description": "   "}, "description"),
        ({**report, "description": "x" * 2001}, "description"),
        ({**report, "photos": ["http://x/\u200b.jpg"]}, "photos"),
        ({**report, "address": {"building": "B1", "room": "1" * 21}}, "address"),
        ({**report, "colour": "red"}, "colour"),
    ]
    for payload, field in cases:
        try:
            ge.report_incident(payload)
        except InvalidInput as refused:
            assert list(refused.fields) == [field], (field, refused.fields)
        else:
            raise AssertionError(f"accepted a bad {field}")
    assert written(gdb) == before and gdb.outbox.count_documents({}) == before.get("outbox", 0)
    assert emitted("grid_events.incident_reported", 0) == []


def test_wrong_argument_counts_are_a_structured_refusal(community, rpc):
    ge = rpc("grid_events")
    for call in (lambda: ge.get_incident("INC-1", "extra"), lambda: ge.accept(), lambda: ge.health("x")):
        try:
            call()
        except InvalidInput as refused:
            assert refused.code == "invalid_input" and list(refused.fields) == ["payload"]
        else:
            raise AssertionError("accepted")


def test_registry_refusals_come_back_in_grid_events_own_field_names(community, rpc, gdb):
    """The registry words an unknown grid as `code`, an address outside every grid as `building`:
    the caller of grid_events sent `grid_code`, `address` and `grid_codes`, and sees only those."""
    ge = rpc("grid_events")
    before = written(gdb)
    cases = [
        (lambda: ge.report_incident({"category": "noise", "description": "x", "grid_code": "G404"}),
         NotFound, {"grid_code"}),
        (lambda: ge.report_incident({"category": "noise", "description": "x",
                                     "address": {"building": "Z99"}}), InvalidInput, {"address"}),
        (lambda: ge.start_patrol({"grid_code": "G404", "shift": "day", "team": ["a"], "route": ["b"]}),
         NotFound, {"grid_code"}),
        (lambda: ge.start_campaign({"name": "x", "grid_codes": ["G1", "G404"]}), NotFound, {"grid_codes"}),
    ]
    for call, kind, fields in cases:
        try:
            call()
        except kind as refused:
            assert set(refused.fields) == fields, refused.fields
            assert all(isinstance(reason, str) for reasons in refused.fields.values() for reason in reasons)
        else:
            raise AssertionError(f"accepted: expected {kind.__name__} on {fields}")
    assert written(gdb) == before
