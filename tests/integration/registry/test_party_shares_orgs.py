"""Party organisation and members, difficulty flags, shareholders with their history, organisations."""

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import parse
from tests.integration.registry.conftest import outbox
from tests.integration.registry.helpers import id_number


@pytest.fixture
def people(reg, grids):
    household = reg.register_household({"building": "B21", "room": "101", "kind": "owner"})["household_id"]
    return reg.import_residents([{"name": f"居民{n}", "id_number": id_number("19700101", 200 + n),
                                  "household_id": household, "residence_type": "registered"}
                                 for n in range(4)])


def test_four_level_party_organisation(reg, grids):
    reg.define_party_unit({"code": "PC", "name": "社区党委", "level": "committee"})
    reg.define_party_unit({"code": "G3-GB", "name": "西街网格党总支", "level": "general_branch",
                           "parent_code": "PC", "grid_code": "G3"})
    reg.define_party_unit({"code": "G3-JB1", "name": "西苑联合党支部", "level": "joint_branch",
                           "parent_code": "G3-GB"})
    reg.define_party_unit({"code": "G3-JB1-PG1", "name": "第一党小组", "level": "party_group",
                           "parent_code": "G3-JB1"})
    with pytest.raises(InvalidInput) as skipping_a_level:
        reg.define_party_unit({"code": "X", "name": "x", "level": "party_group", "parent_code": "G3-GB"})
    with pytest.raises(InvalidInput) as orphan:
        reg.define_party_unit({"code": "Y", "name": "y", "level": "joint_branch", "parent_code": "NOPE"})

    assert [u["code"] for u in reg.list_party_units()] == ["G3-GB", "G3-JB1", "G3-JB1-PG1", "PC"]
    assert [u["code"] for u in reg.list_party_units("joint_branch")] == ["G3-JB1"]
    assert list(skipping_a_level.value.fields) == ["parent_code"] == list(orphan.value.fields)


def test_party_member_registration_and_difficulty_must_visit(reg, people, registry_db):
    member, other = people[0], people[1]
    card = reg.register_party_member({"resident_id": member, "branch_code": "G3-JB1",
                                      "joined_on": "1995-07-01", "transferred_in_on": "2020-03-01",
                                      "posts": ["宣传委员"]})
    with pytest.raises(Conflict):
        reg.register_party_member({"resident_id": member, "branch_code": "G3-JB1", "joined_on": "1995-07-01"})
    with pytest.raises(InvalidInput) as before_joining:
        reg.register_party_member({"resident_id": other, "branch_code": "B", "joined_on": "2000-01-01",
                                   "transferred_in_on": "1999-01-01"})
    with pytest.raises(InvalidInput) as unknown:
        reg.register_party_member({"resident_id": "R-999999", "branch_code": "B", "joined_on": "2000-01-01"})

    flagged_member = reg.flag_difficulty({"resident_id": member, "reason": "大病住院"})
    flagged_other = reg.flag_difficulty({"resident_id": other, "reason": "失业"})
    again = reg.flag_difficulty({"resident_id": member, "reason": "大病住院"})

    assert card["branch_code"] == "G3-JB1" and card["transferred_in_on"] == "2020-03-01"
    assert list(before_joining.value.fields) == ["transferred_in_on"]
    assert list(unknown.value.fields) == ["resident_id"]
    assert flagged_member["party_member"] and not flagged_other["party_member"] and not again["flagged"]
    assert "in_difficulty" in flagged_member["tags"] and "party_member" in flagged_member["tags"]
    [registered] = [parse(e) for e in outbox(registry_db, "registry.party_member_registered")]
    assert registered.payload["resident_id"] == member and registered.payload["grid_code"] == "G3"
    assert str(registered.payload["joined_on"]) == "1995-07-01"
    [difficulty] = [parse(e) for e in outbox(registry_db, "registry.party_member_in_difficulty")]
    assert difficulty.payload == {"resident_id": member, "grid_code": "G3", "reason": "大病住院"}
    updates = [parse(e).payload for e in outbox(registry_db, "registry.resident_updated")]
    assert [u["resident_id"] for u in updates] == [member, other]  # flagging twice: no second event
    assert updates[1]["changes"] == {"tags": ["in_difficulty"]}
    assert [m["resident_id"] for m in reg.list_party_members("G3-JB1")] == [member]
    assert reg.find_residents({"tag": "in_difficulty"})["total"] == 2


def test_a_duplicate_party_member_in_an_import_is_a_structured_refusal(reg, people, config, registry_db):
    """Registered already, listed twice, or two imports racing on the same person: Conflict or
    InvalidInput naming the item, never a bare 500 (the unique index's BulkWriteError)."""
    import eventlet

    card = {"resident_id": people[0], "branch_code": "PC", "joined_on": "2001-07-01"}
    reg.register_party_member(card)
    with pytest.raises(Conflict) as registered:
        reg.import_party_members([card])
    with pytest.raises(InvalidInput) as twice:
        reg.import_party_members([{**card, "resident_id": people[1]}] * 2)
    assert registered.value.fields == {"resident_id": ["already registered"]}
    assert twice.value.fields == {"items.1.resident_id": ["already registered"]}

    def racing(n):
        actor = {"id": f"clerk{n}", "role": "community_admin"}
        with ClusterRpcProxy(config, context_data={"actor": actor}) as cluster:
            try:
                return cluster.registry.import_party_members([{**card, "resident_id": people[2]}])
            except Conflict as exc:
                return exc.fields

    answers = list(eventlet.GreenPool().imap(racing, range(6)))
    assert answers.count(1) == 1, answers
    assert all(a == 1 or list(a) == ["resident_id"] for a in answers), answers
    assert registry_db.party_members.count_documents({"resident_id": people[2]}) == 1


def test_shareholders_with_an_auditable_history(reg, people, registry_db):
    enrolled = [reg.enroll_shareholder({"resident_id": r, "group": group, "shares": shares})
                for r, group, shares in [(people[0], "第一组", 10), (people[1], "第二组", 8),
                                         (people[2], "第一组", 5)]]
    sid = enrolled[0]["shareholder_id"]
    changed = reg.change_shares({"shareholder_id": sid, "shares": 12, "reason": "继承"})
    moved = reg.change_shares({"shareholder_id": sid, "group": "第二组", "reason": "调组"})

    with pytest.raises(Conflict):
        reg.enroll_shareholder({"resident_id": people[0], "group": "第一组", "shares": 1})
    with pytest.raises(InvalidInput) as nothing:
        reg.change_shares({"shareholder_id": sid, "shares": 12, "reason": "无变化"})
    with pytest.raises(InvalidInput) as negative:
        reg.change_shares({"shareholder_id": sid, "shares": -1, "reason": "x"})
    with pytest.raises(NotFound):
        reg.change_shares({"shareholder_id": "SH-99999", "shares": 1, "reason": "x"})

    assert sid == "SH-00001" and changed["before"] == {"shares": 10} and changed["after"] == {"shares": 12}
    assert moved["group"] == "第二组" and moved["shares"] == 12
    history = reg.shareholder_history(sid)
    assert [(h["before"], h["after"], h["reason"], h["by"]) for h in history] == [
        (None, {"shares": 10, "group": "第一组", "status": "active"}, "enrolled", "test"),
        ({"shares": 10}, {"shares": 12}, "继承", "test"),
        ({"group": "第一组"}, {"group": "第二组"}, "调组", "test")]
    group2 = reg.list_shareholders({"group": "第二组", "page_size": 1})
    assert group2["total"] == 2 and [s["shareholder_id"] for s in group2["items"]] == ["SH-00001"]
    assert group2["items"][0]["name"] == "居民0"
    assert list(nothing.value.fields) == ["shares"] and list(negative.value.fields) == ["shares"]
    assert len(outbox(registry_db, "registry.shareholder_enrolled")) == 3
    changes = [parse(e).payload for e in outbox(registry_db, "registry.shareholder_changed")]
    assert [(c["before"], c["after"]) for c in changes] == [({"shares": 10}, {"shares": 12}),
                                                           ({"group": "第一组"}, {"group": "第二组"})]


def test_organisations_and_who_may_administer(reg, people, config, registry_db):
    hospital = reg.register_organisation({"kind": "co_building_unit", "name": "市第一医院",
                                          "category": "hospital", "agreement_on": "2024-05-01"})
    nanyin = reg.register_organisation({"kind": "social_organisation", "name": "南音社", "category": "nanyin",
                                        "members": people[:2]})
    with pytest.raises(Conflict):
        reg.register_organisation({"kind": "social_organisation", "name": "南音社"})
    with pytest.raises(InvalidInput) as unknown_member:
        reg.register_organisation({"kind": "volunteer_team", "name": "青年志愿队", "members": ["R-999999"]})

    assert hospital["org_id"] == "ORG-001" and hospital["agreement_on"] == "2024-05-01"
    assert nanyin["members"] == sorted(people[:2])
    assert [o["name"] for o in reg.list_organisations("social_organisation")] == ["南音社"]
    assert list(unknown_member.value.fields) == ["members"]
    with ClusterRpcProxy(config, context_data={"actor": {"id": "R-1", "role": "resident"}}) as cluster:
        with pytest.raises(Forbidden):
            cluster.registry.enroll_shareholder({"resident_id": people[3], "group": "第一组", "shares": 1})
    assert registry_db.shareholders.count_documents({}) == 0


def test_stats_and_health(reg, people):
    stats = reg.stats()
    assert stats["grids"] == 2 and stats["households"] == 1 and stats["residents"] == 4
    health = reg.health()
    assert health["service"] == "registry" and health["database"] and health["broker"]
