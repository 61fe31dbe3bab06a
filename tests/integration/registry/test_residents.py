"""Residents: registration and its refusals, masking and the audit of full reads, role scoping,
updates and departures, each with its event emitted once."""

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import parse
from tests.integration.registry.conftest import outbox
from tests.integration.registry.helpers import id_number, with_wrong_check_digit


@pytest.fixture
def household(reg, grids):
    return reg.register_household({"building": "B21", "unit": "2", "room": "301", "kind": "owner"})


def resident(household, **extra):
    return {"name": "张伟", "id_number": id_number("19660115", 131), "phone": "13812345678",
            "household_id": household["household_id"], "residence_type": "registered", **extra}


def as_actor(config, actor):
    return ClusterRpcProxy(config, context_data={"actor": actor} if actor else {})


def test_register_resident_derives_birth_sex_age_and_masks(reg, household, registry_db, frozen_clock):
    view = reg.register_resident(resident(household, email="zw@example.cn", tags=["veteran"],
                                          head_of_household=True))

    assert view["resident_id"] == "R-000001"
    assert view["birth_date"] == "1966-01-15" and view["sex"] == "M" and view["age"] == 60
    assert view["age_group"] == "elderly" and view["grid_code"] == "G3"
    assert view["id_number"] == "110102********1318"[:6] + "*" * 8 + view["id_number"][-4:]
    assert view["id_number"].startswith("110102") and view["id_number"][6:14] == "*" * 8
    assert view["id_number"][-4:] == id_number("19660115", 131)[-4:]
    assert view["phone"] == "*******5678" and view["email"] == "z***@example.cn" and view["masked"]
    assert registry_db.households.find_one({"household_id": household["household_id"]})["head_resident_id"] \
        == "R-000001"
    [event] = [parse(e) for e in outbox(registry_db, "registry.resident_registered")]
    assert event.payload["resident_id"] == "R-000001" and event.payload["phone"] == "13812345678"
    assert str(event.payload["birth_date"]) == "1966-01-15" and event.payload["sex"] == "M"
    assert "id_number" not in event.payload


def test_floating_resident_has_registration_and_expiry(reg, household, frozen_clock):
    view = reg.register_resident(resident(household, residence_type="floating", registered_on="2026-03-01",
                                          expires_on="2027-03-01", id_number=id_number("20150601", 242)))
    assert view["residence_type"] == "floating" and view["expires_on"] == "2027-03-01"
    assert view["sex"] == "F" and view["age_group"] == "child"


@pytest.mark.parametrize("change, field, reason", [
    ({"id_number": with_wrong_check_digit(id_number())}, "id_number", "wrong check digit"),
    ({"id_number": id_number("20300101")}, "id_number", "birth date in the future"),
    ({"id_number": "11010219800115"}, "id_number", "must be 18 characters"),
    ({"household_id": "HH-G3-99999"}, "household_id", "unknown household"),
    ({"phone": "12345"}, "phone", "not a valid Chinese phone number"),
    ({"residence_type": "registered", "expires_on": "2030-01-01"}, "expires_on", "only a floating"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(reg, household, registry_db, frozen_clock,
                                                                  change, field, reason):
    with pytest.raises(InvalidInput) as refused:
        reg.register_resident(resident(household, **change))
    assert list(refused.value.fields) == [field]
    assert reason in refused.value.fields[field][0]
    assert registry_db.residents.count_documents({}) == 0
    assert registry_db.outbox.count_documents({"envelope.type": "registry.resident_registered"}) == 0


def test_a_duplicate_id_number_is_refused(reg, household, registry_db):
    reg.register_resident(resident(household))
    with pytest.raises(InvalidInput) as refused:
        reg.register_resident(resident(household, name="另一人"))
    assert refused.value.fields == {"id_number": ["already registered"]}
    assert registry_db.residents.count_documents({}) == 1
    assert len(outbox(registry_db, "registry.resident_registered")) == 1


def test_full_read_needs_a_reason_and_is_audited(reg, household, registry_db, config):
    rid = reg.register_resident(resident(household))["resident_id"]

    with pytest.raises(InvalidInput) as no_reason:
        reg.get_resident(rid, full=True)
    full = reg.get_resident(rid, full=True, reason="低保复核")
    masked = reg.get_resident(rid)

    assert no_reason.value.fields == {"reason": ["a full read must state its reason"]}
    assert full["id_number"] == id_number("19660115", 131) and full["phone"] == "13812345678"
    assert not full["masked"] and masked["masked"] and masked["phone"] == "*******5678"
    [audit] = reg.list_full_reads({"resident_id": rid})["items"]
    assert audit["actor"] == {"id": "test", "role": "community_admin"} and audit["reason"] == "低保复核"
    assert registry_db.full_reads.count_documents({}) == 1  # masked reads are not full reads
    with as_actor(config, {"id": "finance", "role": "system"}) as system:  # another service: masked only
        assert system.registry.get_resident(rid)["masked"]
        with pytest.raises(Forbidden):
            system.registry.get_resident(rid, full=True, reason="curious")
    with as_actor(config, None) as nobody, pytest.raises(Forbidden):  # no actor is not a service
        nobody.registry.get_resident(rid)
    with pytest.raises(NotFound):
        reg.get_resident("R-999999")


def test_grid_worker_sees_own_grid_and_resident_only_self(reg, grids, registry_db, config):
    h1 = reg.register_household({"building": "B11", "room": "101", "kind": "owner"})
    h3 = reg.register_household({"building": "B21", "room": "101", "kind": "owner"})
    in_g1 = reg.register_resident({**resident(h1), "id_number": id_number(sequence=11)})["resident_id"]
    in_g3 = reg.register_resident({**resident(h3), "id_number": id_number(sequence=33)})["resident_id"]

    with as_actor(config, {"id": "ST-0001", "role": "grid_worker", "grid": "G3"}) as worker:
        assert worker.registry.get_resident(in_g3, full=True, reason="入户走访")["phone"] == "13812345678"
        with pytest.raises(NotFound):  # another grid's resident does not exist to this worker
            worker.registry.get_resident(in_g1)
        found = worker.registry.find_residents({})
        assert [r["resident_id"] for r in found["items"]] == [in_g3]
        with pytest.raises(Forbidden):
            worker.registry.find_residents({"grid_code": "G1"})
        with pytest.raises(Forbidden):
            worker.registry.register_household({"building": "B11", "room": "9", "kind": "owner"})
    with as_actor(config, {"id": in_g1, "role": "resident"}) as person:
        assert person.registry.get_resident(in_g1)["resident_id"] == in_g1
        with pytest.raises(NotFound):
            person.registry.get_resident(in_g3)
        with pytest.raises(Forbidden):
            person.registry.find_residents({})
    [audit] = reg.list_full_reads({})["items"]
    assert audit["actor"]["id"] == "ST-0001" and audit["resident_id"] == in_g3


def test_find_residents_filters_and_pages(reg, grids, frozen_clock):
    h1 = reg.register_household({"building": "B11", "room": "101", "kind": "owner"})
    h3 = reg.register_household({"building": "B21", "room": "101", "kind": "rented_out"})
    people = [("张伟", "19500301", h1, "registered", ["veteran"]),   # 76
              ("张敏", "19661102", h3, "registered", []),            # 60 today (2026-11-02)
              ("张丽", "19661103", h3, "floating", ["volunteer"]),   # 59 until tomorrow
              ("李娜", "20100505", h3, "floating", []),              # 16
              ("王磊", "19900707", h3, "registered", ["volunteer"])]  # 36
    ids = [reg.register_resident({"name": name, "id_number": id_number(birth, 100 + n),
                                  "household_id": h["household_id"], "residence_type": kind,
                                  "tags": tags})["resident_id"]
           for n, (name, birth, h, kind, tags) in enumerate(people)]

    def found(**filters):
        return [r["resident_id"] for r in reg.find_residents(filters)["items"]]

    assert found(grid_code="G3") == ids[1:]
    assert found(age_min=60) == ids[:2]
    assert found(age_min=18, age_max=59) == [ids[2], ids[4]]
    assert found(name_prefix="张") == ids[:3]
    assert found(residence_type="floating") == [ids[2], ids[3]]
    assert found(tag="volunteer", grid_code="G3") == [ids[2], ids[4]]
    page = reg.find_residents({"page": 2, "page_size": 2})
    assert page["total"] == 5 and [r["resident_id"] for r in page["items"]] == ids[2:4]
    assert all(r["masked"] for r in page["items"])
    with pytest.raises(InvalidInput) as bad_range:
        reg.find_residents({"age_min": 70, "age_max": 60})
    assert list(bad_range.value.fields) == ["age_min"]


def test_update_resident_emits_only_what_changed(reg, grids, registry_db):
    h1 = reg.register_household({"building": "B11", "room": "101", "kind": "owner"})
    h3 = reg.register_household({"building": "B21", "room": "101", "kind": "owner"})
    rid = reg.register_resident(resident(h1))["resident_id"]

    same = reg.update_resident({"resident_id": rid, "name": "张伟"})
    moved = reg.update_resident({"resident_id": rid, "phone": "+86 139 0000 1111",
                                 "household_id": h3["household_id"], "language": "en"})

    assert same["changed"] == [] and moved["changed"] == ["grid_code", "household_id", "language", "phone"]
    [event] = [parse(e) for e in outbox(registry_db, "registry.resident_updated")]
    assert event.payload == {"resident_id": rid, "grid_code": "G3", "changes": {
        "phone": "13900001111", "household_id": h3["household_id"], "language": "en", "grid_code": "G3"}}
    with pytest.raises(InvalidInput) as unknown:
        reg.update_resident({"resident_id": rid, "household_id": "HH-G1-09999"})
    with pytest.raises(InvalidInput) as id_change:
        reg.update_resident({"resident_id": rid, "id_number": id_number(sequence=5)})
    assert list(unknown.value.fields) == ["household_id"] and list(id_change.value.fields) == ["id_number"]
    assert len(outbox(registry_db, "registry.resident_updated")) == 1


def test_move_out_and_death_keep_the_record_and_emit_once(reg, household, registry_db, frozen_clock):
    a = reg.register_resident(resident(household))["resident_id"]
    b = reg.register_resident(resident(household, id_number=id_number("19400101", 222)))["resident_id"]

    with pytest.raises(InvalidInput) as future:
        reg.record_death({"resident_id": b, "died_on": "2026-11-05"})
    with pytest.raises(InvalidInput) as before_birth:
        reg.move_out({"resident_id": b, "moved_out_on": "1939-12-31"})
    moved = reg.move_out({"resident_id": a, "moved_out_on": "2026-10-31"})
    died = reg.record_death({"resident_id": b, "died_on": "2026-11-01"})
    with pytest.raises(Conflict):
        reg.move_out({"resident_id": a, "moved_out_on": "2026-11-01"})
    with pytest.raises(Conflict):
        reg.record_death({"resident_id": b, "died_on": "2026-11-01"})

    assert moved["status"] == "moved_out" and moved["moved_out_on"] == "2026-10-31"
    assert died["status"] == "deceased" and reg.get_resident(b)["died_on"] == "2026-11-01"
    assert registry_db.residents.count_documents({}) == 2  # nothing is deleted
    [out] = [parse(e) for e in outbox(registry_db, "registry.resident_moved_out")]
    [death] = [parse(e) for e in outbox(registry_db, "registry.resident_died")]
    assert out.payload["resident_id"] == a and str(out.payload["moved_out_on"]) == "2026-10-31"
    assert death.payload == {"resident_id": b, "household_id": household["household_id"], "grid_code": "G3",
                             "died_on": death.payload["died_on"]}
    assert str(death.payload["died_on"]) == "2026-11-01"
    assert list(future.value.fields) == ["died_on"] and list(before_birth.value.fields) == ["moved_out_on"]
    facts = [e for e in outbox(registry_db) if e["type"] != "registry.grid_defined"]
    assert len(facts) == 5  # 1 household, 2 residents, 1 moved out, 1 died: refusals added none
    assert reg.find_residents({})["total"] == 0 and reg.find_residents({"status": "any"})["total"] == 2


def test_concurrent_registrations_all_succeed_with_distinct_ids(reg, household, config, registry_db):
    import eventlet

    def register(n):
        with as_actor(config, {"id": "clerk", "role": "community_admin"}) as cluster:
            return cluster.registry.register_resident(
                resident(household, name=f"居民{n}", id_number=id_number("19900101", 300 + n),
                         head_of_household=n % 2 == 0))["resident_id"]

    ids = list(eventlet.GreenPool().imap(register, range(8)))

    assert len(set(ids)) == 8
    assert registry_db.residents.count_documents({}) == 8
    assert len(outbox(registry_db, "registry.resident_registered")) == 8
    assert registry_db.residents.count_documents({"head_of_household": True}) == 1


def test_a_grid_worker_registers_in_their_own_grid(grids, config, registry_db):
    with as_actor(config, {"id": "ST-0001", "role": "grid_worker", "grid": "G3"}) as worker:
        household = worker.registry.register_household({"building": "B22", "room": "201", "kind": "owner"})
        person = worker.registry.register_resident({"name": "赵云", "id_number": id_number(sequence=41),
                                                    "household_id": household["household_id"],
                                                    "residence_type": "registered"})
        with pytest.raises(Forbidden):
            worker.registry.define_grid({"code": "G3", "name": "改名", "buildings": ["B21"]})
    assert person["grid_code"] == "G3" and registry_db.residents.count_documents({}) == 1
    [event] = outbox(registry_db, "registry.resident_registered")
    assert event["actor"]["id"] == "ST-0001"  # who acted travels with the event


def test_a_floating_resident_becomes_registered_and_the_expiry_goes(reg, household, registry_db,
                                                                    frozen_clock):
    floating = resident(household, residence_type="floating", expires_on="2027-06-01")
    rid = reg.register_resident(floating)["resident_id"]

    view = reg.update_resident({"resident_id": rid, "residence_type": "registered"})

    assert view["residence_type"] == "registered" and view["expires_on"] is None
    [event] = [parse(e) for e in outbox(registry_db, "registry.resident_updated")]
    assert event.payload["changes"] == {"residence_type": "registered", "expires_on": None}


def test_a_bulk_import_naming_heads_makes_its_last_one_the_head_and_unsets_the_one_before(
        reg, household, registry_db):
    first = reg.register_resident(resident(household, head_of_household=True))["resident_id"]
    named = [resident(household, name=f"居民{n}", id_number=id_number("19900101", 400 + n),
                      head_of_household=n > 0) for n in range(3)]
    ids = reg.import_residents(named)

    heads = [d["resident_id"] for d in registry_db.residents.find({"head_of_household": True})]
    assert heads == [ids[2]] and first not in heads
    assert registry_db.households.find_one({"household_id": household["household_id"]})["head_resident_id"] \
        == ids[2]
