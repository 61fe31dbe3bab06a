# ruff: noqa: E501  (a table of calls reads better one per line)
"""grid_events' access matrix: every RPC × every role × own grid / other grid / no grid. The
expected cells are written here by hand, not computed from domain.POLICY.

Every record the calls name is in grid G1 and was reported for (or requested by) resident R1.
Columns: res / res_other — a resident who is R1 / another resident; gw / gw_other / gw_none — a
grid worker of G1 / of G2 / without a grid (likewise gl for grid liaisons, ps for party
secretaries); then one column per other role; system is another service.

Cells: A allowed (answered, or refused for a business reason: the call got past access),
E allowed but nothing of it visible (an empty list), F forbidden, N not found (a record outside
the caller's grant does not exist for them).

Rows run top to bottom, every column in turn: reads first, then the commands (a command another
column already carried out answers Conflict, which is an A).
"""

import pytest

from services.grid_events.service import GridEventsService
from shared.errors import Forbidden, InvalidInput, NotFound
from tests.support import matrix_cell, matrix_mismatches, read_matrix, wait_until

MATRIX = """
rpc                      res res_other gw gw_other gw_none gl gl_other gl_none ps ps_other ps_none admin police street operator vendor officer inspector fin_off fin_appr system
health                   A   A         A  A        A       A  A        A       A  A        A       A     A      A      A        A      A       A         A       A        A
categories               A   A         A  A        A       A  A        A       A  A        A       A     A      A      A        A      A       A         A       A        A
get_incident             A   N         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
list_incidents           A   E         A  E        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
grid_stats               F   F         A  F        F       A  F        F       A  F        F       A     A      A      F        F      F       F         F       F        A
all_grid_stats           F   F         F  F        F       F  F        F       F  F        F       A     A      A      F        F      F       F         F       F        A
list_visit_tasks         F   F         A  E        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
list_visit_logs          F   F         A  E        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
campaign_coverage        F   F         A  N        F       F  F        F       F  F        F       A     F      A      F        F      F       F         F       F        A
get_window_request       A   N         A  N        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
report_incident          A   A         A  F        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
dispatch                 F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
accept                   F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
start                    F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
request_extension        F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
resolve                  F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
reject                   F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
merge_duplicate          F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
grant_extension          F   F         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
close                    A   N         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
reopen                   A   N         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
rate                     A   N         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
record_visit             F   F         A  N        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
create_year_end_visits   F   F         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
start_campaign           F   F         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
record_household_visit   F   F         A  N        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
submit_window_request    A   A         A  A        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
transfer_window_request  F   F         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
escalate_window_request  F   F         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
complete_window_request  F   F         F  F        F       F  F        F       F  F        F       A     F      F      F        F      F       F         F       F        A
open_mediation           F   F         A  F        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
record_mediation_session F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
start_patrol             F   F         A  F        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
patrol_checkin           F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
end_patrol               F   F         A  N        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
register_camera          F   F         F  F        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
cctv_alarm               F   F         F  F        F       F  F        F       F  F        F       A     A      F      F        F      F       F         F       F        A
"""
COLUMNS, EXPECTED = read_matrix(MATRIX)


def actors(community, r1, r2):
    scoped = {}
    for prefix, role, own_id in (("gw", "grid_worker", community.worker1), ("gl", "grid_liaison", "ST-GL1"),
                                 ("ps", "party_secretary", "ST-PS1")):
        scoped[prefix] = {"id": own_id, "role": role, "grid": "G1"}
        scoped[f"{prefix}_other"] = {"id": f"{own_id}-2", "role": role, "grid": "G2"}
        scoped[f"{prefix}_none"] = {"id": f"{own_id}-0", "role": role}
    return {"res": {"id": r1, "role": "resident"}, "res_other": {"id": r2, "role": "resident"}, **scoped,
            "admin": {"id": "CA-1", "role": "community_admin"}, "police": {"id": "PD-1", "role": "police_desk"},
            "street": {"id": "SO-1", "role": "street_office"}, "operator": {"id": "OP-1", "role": "operator"},
            "vendor": {"id": "V-000001", "role": "vendor"}, "officer": {"id": "MO-1", "role": "market_officer"},
            "inspector": {"id": "IN-1", "role": "inspector"},
            "fin_off": {"id": "FO-1", "role": "finance_officer"},
            "fin_appr": {"id": "FA-1", "role": "finance_approver"},
            "system": {"id": "market", "role": "system"}}


def test_every_rpc_of_the_service_has_a_row():
    rpcs = {name for name, method in vars(GridEventsService).items()
            if any(type(e).__name__ == "Rpc" for e in getattr(method, "nameko_entrypoints", ()))}
    assert rpcs == set(EXPECTED)


@pytest.fixture
def scene(community, rpc, as_actor):
    """In G1, for resident R1: two incidents (one with an extension asked), two party members
    with a must-visit each (one visited), a campaign, a window request taken by G1's worker, a
    mediation, a patrol and a camera."""
    ge = rpc("grid_events")
    h1 = community.household("B1", "101")
    r1, r2, pm1, pm2 = (community.resident(h1, name) for name in ("甲", "乙", "党员甲", "党员乙"))
    report = {"category": "noise", "description": "深夜噪音", "grid_code": "G1", "reporter_resident_id": r1}
    incident, other = (ge.report_incident(report)["incident_id"] for _ in range(2))
    extension = ge.request_extension({"incident_id": incident, "minutes": 60, "reason": "等配件"})
    for pm in (pm1, pm2):
        community.registry.register_party_member({"resident_id": pm, "branch_code": "BR-1",
                                                  "joined_on": "1998-07-01"})
    tasks = wait_until(lambda: (found := ge.list_visit_tasks({"grid_code": "G1"})["items"]) and
                       len(found) == 2 and found, message="two must-visits in G1")
    visited = next(t for t in tasks if t["resident_id"] == pm1)
    ge.record_visit({"task_id": visited["task_id"], "notes": "慰问"})
    campaign = ge.start_campaign({"name": "入户走访", "grid_codes": ["G1"]})["campaign_id"]
    worker = as_actor({"id": community.worker1, "role": "grid_worker", "grid": "G1"}).grid_events
    window = worker.submit_window_request({"window": "documents", "subject": "开证明", "resident_id": r1})
    mediation = ge.open_mediation({"subject": "邻里纠纷", "grid_code": "G1", "parties": [{"name": "甲"},
                                   {"name": "乙"}], "mediators": [{"name": "调解员"}]})["mediation_id"]
    patrol = ge.start_patrol({"grid_code": "G1", "shift": "night", "team": ["巡逻员"],
                              "route": ["东门", "西门"]})["patrol_id"]
    ge.register_camera({"camera_id": "CAM-1", "grid_code": "G1"})
    return {"r1": r1, "r2": r2, "pm": pm1, "household": h1, "incident": incident, "other": other,
            "extension": extension["extension_id"], "task": next(t for t in tasks if t is not visited)["task_id"],
            "campaign": campaign, "window": window["request_id"], "mediation": mediation, "patrol": patrol}


def calls(sc):
    """(args of each RPC): every record named is G1's / R1's."""
    inc = {"incident_id": sc["incident"]}
    return {
        "health": (), "categories": (),
        "get_incident": (sc["incident"],),
        "list_incidents": ({},),
        "grid_stats": ({"grid_code": "G1"},),
        "all_grid_stats": ({},),
        "list_visit_tasks": ({},),
        "list_visit_logs": ({"resident_id": sc["pm"]},),
        "campaign_coverage": (sc["campaign"],),
        "get_window_request": (sc["window"],),
        "report_incident": ({"category": "sanitation", "description": "垃圾", "grid_code": "G1"},),
        "dispatch": ({**inc, "assignee_staff_id": "ST-0001"},),
        "accept": (inc,), "start": (inc,), "resolve": ({**inc, "resolution": "已处理"},),
        "request_extension": ({**inc, "minutes": 30, "reason": "等配件"},),
        "reject": ({**inc, "reason": "重复"},),
        "merge_duplicate": ({**inc, "into_incident_id": sc["other"]},),
        "grant_extension": ({**inc, "extension_id": sc["extension"], "reason": "同意"},),
        "close": (inc,), "reopen": ({**inc, "reason": "没修好"},), "rate": ({**inc, "rating": 5},),
        "record_visit": ({"task_id": sc["task"], "notes": "走访"},),
        "create_year_end_visits": ({"year": 2026},),
        "start_campaign": ({"name": "走访", "grid_codes": ["G1"]},),
        "record_household_visit": ({"campaign_id": sc["campaign"], "household_id": sc["household"]},),
        "submit_window_request": ({"window": "health", "subject": "疫苗预约"},),
        "transfer_window_request": ({"request_id": sc["window"], "to": "health", "reason": "卫健窗口办理"},),
        "escalate_window_request": ({"request_id": sc["window"], "reason": "超时"},),
        "complete_window_request": ({"request_id": sc["window"], "outcome": "handled", "note": "已办结"},),
        "open_mediation": ({"subject": "纠纷", "grid_code": "G1", "parties": [{"name": "甲"}, {"name": "乙"}],
                            "mediators": [{"name": "调解员"}]},),
        "record_mediation_session": ({"mediation_id": sc["mediation"], "notes": "调解", "outcome": "continued"},),
        "start_patrol": ({"grid_code": "G1", "shift": "day", "team": ["甲"], "route": ["东门"]},),
        "patrol_checkin": ({"patrol_id": sc["patrol"], "checkpoint": "东门"},),
        "end_patrol": ({"patrol_id": sc["patrol"]},),
        "register_camera": ({"camera_id": "CAM-2", "grid_code": "G1"},),
        "cctv_alarm": ({"camera_id": "CAM-1"},),
    }


def outcome(call):
    return matrix_cell(call, refusals={InvalidInput: "A"})  # past access: grid_events' own rules


def test_the_access_matrix(community, scene, as_actor):
    clients = {column: as_actor(actor).grid_events
               for column, actor in actors(community, scene["r1"], scene["r2"]).items()}
    args = calls(scene)
    observed = {rpc: {column: outcome(lambda m=getattr(clients[column], rpc), a=args[rpc]: m(*a))
                      for column in COLUMNS}
                for rpc in EXPECTED}  # rows in table order
    assert matrix_mismatches(EXPECTED, observed) == {}


@pytest.mark.parametrize("actor", [None, {"id": "X", "role": "superuser"}, {"role": "resident"},
                                   {"id": "ST-1", "role": "grid_worker"}, {"id": "ST-1", "role": "grid_worker",
                                                                           "grid": ""}])
def test_no_actor_an_unknown_role_or_a_scoped_role_without_its_scope_is_refused(services, as_actor, actor):
    client = as_actor(actor).grid_events
    refused = [outcome(lambda m=getattr(client, rpc), p=payload: m(p))
               for rpc, payload in (("list_incidents", {}), ("get_incident", "INC-1"),
                                    ("report_incident", {"category": "noise", "description": "x",
                                                         "grid_code": "G1"}), ("list_visit_tasks", {}))]
    assert refused == ["F", "F", "F", "F"]


def test_a_grid_worker_of_grid_1_reads_nothing_of_grid_3(community, rpc, as_actor, gdb):
    """Issue 13's finding: grid 3's incidents and visit tasks, asked for by id, by grid or not at all."""
    ge = rpc("grid_events")
    g3 = ge.report_incident({"category": "noise", "description": "三格噪音", "grid_code": "G3"})["incident_id"]
    g1 = ge.report_incident({"category": "noise", "description": "一格噪音", "grid_code": "G1"})["incident_id"]
    member = community.resident(community.household("B9", "901"), "三格党员")
    community.registry.register_party_member({"resident_id": member, "branch_code": "BR-3",
                                              "joined_on": "2001-07-01"})
    [task] = wait_until(lambda: ge.list_visit_tasks({"grid_code": "G3"})["items"], message="G3's must-visit")
    worker = as_actor({"id": community.worker1, "role": "grid_worker", "grid": "G1"}).grid_events

    with pytest.raises(NotFound) as hidden:
        worker.get_incident(g3)
    assert hidden.value.fields == {"incident_id": [f"unknown incident {g3!r}"]}  # as if it did not exist
    with pytest.raises(Forbidden) as refused:
        worker.list_incidents({"grid_code": "G3"})
    assert refused.value.fields == {"grid_code": ["G3 is not your grid"]}
    assert [i["incident_id"] for i in worker.list_incidents({})["items"]] == [g1]
    with pytest.raises(Forbidden):
        worker.list_visit_tasks({"grid_code": "G3"})
    assert worker.list_visit_tasks({})["total"] == 0
    with pytest.raises(NotFound):
        worker.record_visit({"task_id": task["task_id"], "notes": "越格走访"})
    with pytest.raises(NotFound):
        worker.accept({"incident_id": g3})
    assert gdb.incidents.find_one({"_id": g3})["status"] == "reported"
    assert gdb.visit_tasks.find_one({"_id": task["task_id"]})["status"] == "open"


def test_a_grid_worker_does_not_check_in_to_another_grids_patrol(community, rpc, as_actor, gdb):
    """The bug: a grid worker of G2 could check in to (and end) G1's patrol."""
    patrol = rpc("grid_events").start_patrol({"grid_code": "G1", "shift": "night", "team": ["甲"],
                                              "route": ["东门", "西门"]})["patrol_id"]
    stranger = as_actor({"id": community.worker2, "role": "grid_worker", "grid": "G2"}).grid_events
    with pytest.raises(NotFound):
        stranger.patrol_checkin({"patrol_id": patrol, "checkpoint": "东门"})
    with pytest.raises(NotFound):
        stranger.end_patrol({"patrol_id": patrol})
    with pytest.raises(Forbidden):
        stranger.start_patrol({"grid_code": "G1", "shift": "day", "team": ["乙"], "route": ["东门"]})
    stored = gdb.patrols.find_one({"_id": patrol})
    assert stored["checkins"] == [] and stored["status"] == "on_patrol"
    own = as_actor({"id": community.worker1, "role": "grid_worker", "grid": "G1"}).grid_events
    assert own.patrol_checkin({"patrol_id": patrol, "checkpoint": "东门"})["by"] == community.worker1
    with pytest.raises(Forbidden) as refused:  # a finding in another grid is not theirs to report
        own.patrol_checkin({"patrol_id": patrol, "checkpoint": "西门", "finding": {
            "category": "sanitation", "description": "垃圾", "address": {"building": "B3"}}})
    assert list(refused.value.fields) == ["address"]
    assert len(gdb.patrols.find_one({"_id": patrol})["checkins"]) == 1
    assert gdb.incidents.count_documents({}) == 0
