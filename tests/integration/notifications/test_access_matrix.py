"""The notifications access matrix: every RPC × every role, on the caller's own records / grid and
on someone else's. The expected cells are written here by hand, not computed from domain.POLICY.

Each cell has two letters: the call on the caller's own records (their own inbox and preferences;
grid 3, the grid worker's) / on another's (resident R2's inbox and preferences; grid 1).
Letters: A allowed (answered, past access); E allowed but nothing of it visible (an empty log,
inbox or count); F forbidden; I past access, refused as invalid input (preferences of a person
this service does not know: refused, never created).

Columns: one per role (the resident is R1 of grid 3, the grid worker W3 of grid 3, the vendor an
outside vendor, the police desk and the community office staff this service knows of), and
`gw0`, a grid worker whose actor names no grid.
"""

import pytest

from services.notifications.service import NotificationsService
from shared.access import system_actor
from shared.errors import InvalidInput
from tests.support import matrix_cell, matrix_mismatches, read_matrix, shows_nothing, wait_until

# res resident, ven vendor, gw grid_worker, gw0 a grid worker with no grid, gl grid_liaison,
# ps party_secretary, mo market_officer, ins inspector, fo finance_officer, fa finance_approver,
# so street_office, op operator, pd police_desk, ca community_admin, sys system (a service)
MATRIX = """
rpc                    res ven gw  gw0 gl  ps  mo  ins fo  fa  so  op  pd  ca  sys
send                   FF  FF  AF  FF  FF  FF  FF  FF  FF  FF  FF  FF  AA  AA  AA
announcement_progress  FF  FF  AE  FF  FF  FF  FF  FF  FF  FF  FF  FF  AA  AA  AA
delivery_log           FF  FF  AE  FF  FF  FF  FF  FF  FF  FF  FF  FF  AA  AA  AA
inbox                  AF  EF  EF  EF  EF  EF  EF  EF  EF  EF  EF  EF  EF  EA  EA
mark_read              AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AA  AA
get_preferences        AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AF  AA  AA
set_preferences        AF  AF  AF  IF  IF  IF  IF  IF  IF  IF  IF  IF  AF  AA  IA
health                 AA  AA  AA  AA  AA  AA  AA  AA  AA  AA  AA  AA  AA  AA  AA
"""
COLUMNS, EXPECTED = read_matrix(MATRIX)

ACTORS = {
    "res": {"id": "R1", "role": "resident"},
    "ven": {"id": "V-000001", "role": "vendor"},
    "gw": {"id": "W3", "role": "grid_worker", "grid": "3"},
    "gw0": {"id": "W9", "role": "grid_worker"},
    "gl": {"id": "GL-1", "role": "grid_liaison", "grid": "3"},
    "ps": {"id": "PS-1", "role": "party_secretary", "grid": "3"},
    "mo": {"id": "MO-1", "role": "market_officer"},
    "ins": {"id": "IN-1", "role": "inspector"},
    "fo": {"id": "FO-1", "role": "finance_officer"},
    "fa": {"id": "FA-1", "role": "finance_approver"},
    "so": {"id": "SO-1", "role": "street_office"},
    "op": {"id": "OP-1", "role": "operator"},
    "pd": {"id": "PD1", "role": "police_desk"},
    "ca": {"id": "CA1", "role": "community_admin"},
    "sys": system_actor("grid_events"),
}


def test_every_rpc_of_the_service_has_a_row():
    rpcs = {name for name, method in vars(NotificationsService).items()
            if any(type(e).__name__ == "Rpc" for e in getattr(method, "nameko_entrypoints", ()))}
    assert rpcs == set(EXPECTED)


@pytest.fixture
def scene(service, events, ndb, rpc):
    """R1 in grid 3 and R2 in grid 1 (reachable in-app, welcomed there), their grid workers, the
    police desk and the community office, an outside vendor, and an announcement to each grid."""
    events.resident("R1", "3", email="r1@example.org")
    events.resident("R2", "1", email="r2@example.org")
    events.staff("W3", "grid_worker", "3")
    events.staff("W1", "grid_worker", "1")
    events.staff("PD1", "police_desk", None)
    events.staff("CA1", "community_office", None)
    events.emit("market.vendor_registered", {"vendor_id": "V-000001", "name": "陈摊主",
                                             "goods_category": "goods", "phone": "13900000077"})
    known = ["R1", "R2", "W3", "W1", "PD1", "CA1", "V-000001"]
    wait_until(lambda: ndb.people.count_documents({"_id": {"$in": known}}) == len(known),
               message="everyone known")
    welcome = {rid: wait_until(lambda r=rid: ndb.inbox.find_one({"recipient": r}), message=f"{rid} welcomed")
               for rid in ("R1", "R2")}
    announcements = {grid: rpc("notifications").send({
        "target": {"kind": "grid_households", "grid_code": grid}, "title": "停水通知",
        "body": "周二停水。"})["announcement_id"] for grid in ("3", "1")}
    return {"message": {rid: m["_id"] for rid, m in welcome.items()}, "announcement": announcements}


def arguments(scene, actor, own):
    me = actor["id"] if own else "R2"
    grid = "3" if own else "1"
    message = scene["message"].get(me, scene["message"]["R1"])
    return {
        "send": ({"target": {"kind": "grid_households", "grid_code": grid}, "title": "开会",
                  "body": "周五晚七点开会。"},),
        "announcement_progress": ({"announcement_id": scene["announcement"][grid]},),
        "delivery_log": ({"grid_code": grid},),
        "inbox": ({"person_id": me},),
        "mark_read": ({"person_id": me, "message_ids": [message]},),
        "get_preferences": (me,),
        "set_preferences": ({"person_id": me, "language": "en"},),
        "health": (),
    }


def outcome(call):
    return matrix_cell(call, refusals={InvalidInput: "I"},
                       empty=lambda answer: shows_nothing(answer) or isinstance(answer, dict)
                       and answer.get("total") == 0)


def test_the_access_matrix(scene, as_actor):
    clients = {column: as_actor(actor).notifications for column, actor in ACTORS.items()}
    observed = {}
    for rpc in EXPECTED:
        observed[rpc] = {}
        for column in COLUMNS:
            method = getattr(clients[column], rpc)
            observed[rpc][column] = "".join(
                outcome(lambda m=method, a=arguments(scene, ACTORS[column], own)[rpc]: m(*a))
                for own in (True, False))
    assert matrix_mismatches(EXPECTED, observed) == {}


@pytest.mark.parametrize("actor", [None, {"id": "X", "role": "superuser"}, {"role": "resident"},
                                   {"role": "grid_worker"}, {"id": "W9", "role": "grid_worker"}])
def test_no_actor_an_unknown_role_or_a_scoped_role_without_its_scope_is_refused(service, as_actor, actor):
    client = as_actor(actor).notifications
    calls = {
        "delivery_log": lambda: client.delivery_log({}),
        "send": lambda: client.send({"target": {"kind": "grid_staff", "grid_code": "3"}, "title": "t",
                                     "body": "b"}),
        "announcement_progress": lambda: client.announcement_progress({"announcement_id": "ANN-1"}),
        "inbox": lambda: client.inbox({"person_id": "R1"}),
    }
    assert {name: outcome(call) for name, call in calls.items()} == dict.fromkeys(calls, "F")


def test_a_grid_worker_sends_to_people_of_their_own_grid_only(scene, events, ndb, as_actor, rpc):
    events.staff("S3", "branch_secretary", "3")
    wait_until(lambda: ndb.posts.find_one({"staff_id": "S3"}), message="S3's post known")
    worker = as_actor(ACTORS["gw"]).notifications

    def to(person_id, client=worker):
        return outcome(lambda: client.send({"target": {"kind": "person", "person_id": person_id},
                                            "title": "请回电", "body": "有事相商。"}))

    assert [to(p) for p in ("R1", "S3", "R2", "W1", "R-NOBODY")] == ["A", "A", "F", "F", "F"]
    assert to("R-NOBODY", rpc("notifications")) == "I"  # the office hears it is no one known
    sent = worker.delivery_log({"topic": "announcement", "recipient": "S3"})
    assert [n["grid_code"] for n in sent] == ["3"]  # in the grid worker's own log
    assert ndb.notifications.count_documents({"recipient": {"$in": ["R2", "W1", "R-NOBODY"]},
                                              "topic": "announcement", "title": "请回电"}) == 0


def test_phone_numbers_in_the_delivery_log_are_masked_for_staff_and_clear_for_services(
        service, events, ndb, as_actor, rpc):
    welcome = events.resident("R5", "3", phone="13912345678", email="li.na@example.org")
    wait_until(lambda: ndb.notifications.find_one({"event_id": welcome["event_id"], "status": "sent"}))
    query = {"event_id": welcome["event_id"]}

    [office] = rpc("notifications").delivery_log(query)
    [worker] = as_actor(ACTORS["gw"]).notifications.delivery_log(query)
    [police] = as_actor(ACTORS["pd"]).notifications.delivery_log(query)
    [system] = as_actor(ACTORS["sys"]).notifications.delivery_log(query)

    assert office["channel"] == "sms"
    assert office["address"] == worker["address"] == police["address"] == "*******5678"
    assert system["address"] == "13912345678"
    assert "13912345678" not in str([office, worker, police])
