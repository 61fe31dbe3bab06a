"""Grids, staff posts and households: the RPCs other teams build on, and their events."""

import pytest

from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import parse
from tests.integration.registry.conftest import outbox


def test_define_grid_is_an_idempotent_upsert_and_lists_with_its_worker(reg, grids, registry_db):
    reg.define_grid({"code": "G3", "name": "西街网格（新）", "buildings": ["B21", "B22", "B23"]})
    reg.define_grid({"code": "G3", "name": "西街网格（新）", "buildings": ["B21", "B22", "B23"]})  # no change

    listed = reg.list_grids()
    assert [g["code"] for g in listed] == ["G1", "G3"]
    assert listed[1] == {"code": "G3", "name": "西街网格（新）", "buildings": ["B21", "B22", "B23"],
                         "grid_worker": None}
    # grid_events routes reports from these: one per creation or change, none for a no-op
    defined = [parse(e).payload for e in outbox(registry_db, "registry.grid_defined")]
    assert [(d["code"], d["name"]) for d in defined] == [("G1", "东街网格"), ("G3", "西街网格"),
                                                        ("G3", "西街网格（新）")]
    assert defined[-1]["buildings"] == ["B21", "B22", "B23"]


def test_a_building_belongs_to_one_grid(reg, grids, registry_db):
    with pytest.raises(Conflict) as refused:
        reg.define_grid({"code": "G4", "name": "x", "buildings": ["B40", "B21"]})
    assert "buildings" in refused.value.fields
    assert registry_db.grids.count_documents({"code": "G4"}) == 0


def test_grid_of_address_and_an_address_outside_every_grid(reg, grids):
    assert reg.grid_of_address({"building": "B21", "unit": "2", "room": "301"}) == {
        "grid_code": "G3", "grid_name": "西街网格"}
    with pytest.raises(InvalidInput) as refused:
        reg.grid_of_address({"building": "B99", "unit": "1", "room": "101"})
    assert list(refused.value.fields) == ["building"]


def test_get_grid_shows_its_staff_and_an_unknown_grid_is_not_found(reg, grids, registry_db):
    first = reg.assign_grid_staff({"grid_code": "G3", "role": "grid_worker", "name": "林晓",
                                   "phone": "13800000001"})
    liaison = reg.assign_grid_staff({"grid_code": "G3", "role": "liaison", "name": "陈平",
                                     "phone": "13800000002"})
    second = reg.assign_grid_staff({"grid_code": "G3", "role": "grid_worker", "name": "黄敏",
                                    "phone": "13800000003", "email": "hm@example.cn"})
    office = reg.assign_grid_staff({"grid_code": None, "role": "community_office", "name": "社区办",
                                    "phone": "059522345678"})

    grid = reg.get_grid("G3")
    assert grid["grid_worker"] == {"staff_id": second["staff_id"], "name": "黄敏"}  # replaced the first
    assert {s["staff_id"] for s in grid["staff"]} == {liaison["staff_id"], second["staff_id"]}
    assert first["staff_id"].startswith("ST-")
    assert [s["staff_id"] for s in reg.list_staff({"role": "community_office"})] == [office["staff_id"]]
    assert office["grid_code"] is None and office["phone"] == "059522345678"
    assert [g["grid_worker"] for g in reg.list_grids() if g["code"] == "G3"] == [
        {"staff_id": second["staff_id"], "name": "黄敏"}]

    events = [parse(e) for e in outbox(registry_db, "registry.grid_staff_assigned")]
    posts = (first, liaison, second, office)
    assert [e.payload["staff_id"] for e in events] == [s["staff_id"] for s in posts]
    assert events[2].payload["email"] == "hm@example.cn" and events[2].payload["phone"] == "13800000003"
    assert events[3].payload["grid_code"] is None

    with pytest.raises(NotFound):
        reg.get_grid("G9")


def test_staff_posts_refuse_a_bad_grid_or_phone_writing_nothing(reg, grids, registry_db):
    for bad, field in [({"grid_code": "G9", "role": "liaison"}, "grid_code"),
                       ({"grid_code": None, "role": "grid_worker"}, "grid_code"),
                       ({"grid_code": "G1", "role": "liaison", "phone": "12345"}, "phone")]:
        with pytest.raises(InvalidInput) as refused:
            reg.assign_grid_staff({"name": "某人", "phone": "13800000001", **bad})
        assert list(refused.value.fields) == [field]
    assert registry_db.staff.count_documents({}) == 0
    assert outbox(registry_db) == outbox(registry_db, "registry.grid_defined")  # refusals emitted nothing


def test_register_household_derives_its_grid_and_emits_once(reg, grids, registry_db):
    owner = reg.register_household({"building": "B21", "unit": "2", "room": "301", "kind": "rented_out"})
    tenant = reg.register_household({"building": "B21", "unit": "2", "room": "301-2", "kind": "tenant",
                                     "landlord_household_id": owner["household_id"]})

    assert owner["household_id"] == "HH-G3-00001" and owner["grid_code"] == "G3"
    assert tenant["household_id"] == "HH-G3-00002"
    [first, second] = [parse(e) for e in outbox(registry_db, "registry.household_registered")]
    assert first.payload == {"household_id": "HH-G3-00001", "grid_code": "G3", "building": "B21", "unit": "2",
                             "room": "301", "kind": "rented_out", "landlord_household_id": None}
    assert second.payload["landlord_household_id"] == "HH-G3-00001"


def test_household_refusals_name_the_field_and_write_nothing(reg, grids, registry_db):
    with pytest.raises(InvalidInput) as outside:
        reg.register_household({"building": "B99", "unit": "1", "room": "101", "kind": "owner"})
    with pytest.raises(InvalidInput) as unknown_landlord:
        reg.register_household({"building": "B21", "room": "1", "kind": "tenant",
                                "landlord_household_id": "HH-G3-99999"})
    with pytest.raises(InvalidInput) as bad_kind:
        reg.register_household({"building": "B21", "room": "1", "kind": "palace"})

    assert list(outside.value.fields) == ["building"]
    assert list(unknown_landlord.value.fields) == ["landlord_household_id"]
    assert list(bad_kind.value.fields) == ["kind"]
    assert registry_db.households.count_documents({}) == 0
    assert outbox(registry_db) == outbox(registry_db, "registry.grid_defined")  # refusals emitted nothing


def test_list_households_pages_by_grid_with_active_members(reg, grids):
    from tests.integration.registry.helpers import id_number

    g1 = reg.register_household({"building": "B11", "unit": "1", "room": "101", "kind": "owner"})
    g3 = [reg.register_household({"building": "B21", "unit": "1", "room": f"{n}01", "kind": "owner"})
          for n in (1, 2, 3)]
    a = reg.register_resident({"name": "王芳",
                               "id_number": id_number(sequence=2), "household_id": g3[0]["household_id"],
                               "residence_type": "registered"})
    b = reg.register_resident({"name": "王强",
                               "id_number": id_number(sequence=3), "household_id": g3[0]["household_id"],
                               "residence_type": "registered"})
    reg.move_out({"resident_id": b["resident_id"], "moved_out_on": "2026-01-02"})

    page1 = reg.list_households({"grid_codes": ["G3"], "page": 1, "page_size": 2})
    page2 = reg.list_households({"grid_codes": ["G3"], "page": 2, "page_size": 2})

    assert page1["total"] == 3 and page1["page"] == 1 and page1["page_size"] == 2
    assert [h["household_id"] for h in page1["items"] + page2["items"]] == [h["household_id"] for h in g3]
    assert page1["items"][0]["members"] == [a["resident_id"]]  # moved-out members are not members
    assert page1["items"][0]["kind"] == "owner" and page1["items"][0]["room"] == "101"
    c = reg.register_resident({"name": "李雷", "id_number": id_number(sequence=5),
                               "household_id": g1["household_id"], "residence_type": "registered"})
    both = reg.list_households({"grid_codes": ["G1", "G3"]})
    assert both["total"] == 4
    assert {h["household_id"]: h["members"] for h in both["items"]} == {
        g1["household_id"]: [c["resident_id"]], g3[0]["household_id"]: [a["resident_id"]],
        g3[1]["household_id"]: [], g3[2]["household_id"]: []}
    assert reg.list_households({"grid_codes": ["G1"]})["items"][0]["household_id"] == g1["household_id"]


def test_two_racing_grid_worker_assignments_leave_one_current_worker(reg, grids, config, registry_db):
    import eventlet
    from nameko.standalone.rpc import ClusterRpcProxy

    def assign(n):
        with ClusterRpcProxy(config, context_data={"actor": {"id": f"clerk{n}", "role": "community_admin"}}) \
                as cluster:
            try:
                return cluster.registry.assign_grid_staff({"grid_code": "G1", "role": "grid_worker",
                                                           "name": f"网格员{n}", "phone": "13800000001"})
            except Conflict:
                return None

    results = list(eventlet.GreenPool().imap(assign, range(4)))
    assert any(results)
    assert registry_db.staff.count_documents({"grid_code": "G1", "role": "grid_worker", "active": True}) == 1
    assert reg.get_grid("G1")["grid_worker"]["staff_id"] in {r["staff_id"] for r in results if r}
