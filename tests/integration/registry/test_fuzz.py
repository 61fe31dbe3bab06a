# ruff: noqa: E501  (a table of cases reads better one per line)
"""Every write RPC of the registry, fuzzed with what its schema refuses (tests/fuzz.py): a
structured InvalidInput naming the field, and not one document written, outbox included."""

import pytest

from services.registry import schemas
from tests.fuzz import refuses_bad_input
from tests.integration.registry.helpers import id_number


def as_batch(item):
    return [item]


def cases(k):
    """(rpc, schema, a valid payload, how the payload is sent)."""
    one, batch = None, as_batch
    household = {"building": "B21", "unit": "2", "room": "301", "kind": "owner"}
    person = {"name": "张伟", "id_number": id_number(sequence=5), "phone": "13812345678",
              "email": "zw@example.cn", "household_id": k["household"], "residence_type": "registered",
              "tags": ["veteran"]}
    member = {"resident_id": k["resident"], "branch_code": "PC", "joined_on": "2001-07-01",
              "posts": ["宣传委员"]}
    holder = {"resident_id": k["resident"], "group": "第1组", "shares": 3}
    return [
        ("define_grid", schemas.DefineGrid, {"code": "G5", "name": "南街网格", "buildings": ["B51", "B52"]}, one),
        ("assign_grid_staff", schemas.AssignGridStaff,
         {"grid_code": "G3", "role": "liaison", "name": "楼长", "phone": "13800000001", "email": "l@example.cn",
          "resident_id": k["resident"], "staff_id": "ST-0042"}, one),
        ("register_household", schemas.RegisterHousehold, household, one),
        ("import_households", schemas.RegisterHousehold, household, batch),
        ("register_resident", schemas.RegisterResident, person, one),
        ("import_residents", schemas.RegisterResident, person, batch),
        ("update_resident", schemas.UpdateResident,
         {"resident_id": k["resident"], "name": "陈伟", "phone": "13812345679", "tags": ["veteran"]}, one),
        ("move_out", schemas.MoveOut, {"resident_id": k["resident"], "moved_out_on": "2026-01-01"}, one),
        ("record_death", schemas.RecordDeath, {"resident_id": k["resident"], "died_on": "2026-01-01"}, one),
        ("flag_difficulty", schemas.FlagDifficulty, {"resident_id": k["resident"], "reason": "失业"}, one),
        ("define_party_unit", schemas.DefinePartyUnit,
         {"code": "G3-GB", "name": "西街党总支", "level": "general_branch", "parent_code": "PC",
          "grid_code": "G3"}, one),
        ("register_party_member", schemas.RegisterPartyMember, member, one),
        ("import_party_members", schemas.RegisterPartyMember, member, batch),
        ("enroll_shareholder", schemas.EnrollShareholder, holder, one),
        ("import_shareholders", schemas.EnrollShareholder, holder, batch),
        ("change_shares", schemas.ChangeShares,
         {"shareholder_id": k["shareholder"], "shares": 4, "group": "第2组", "status": "active",
          "reason": "调整"}, one),
        ("register_organisation", schemas.RegisterOrganisation,
         {"kind": "co_building_unit", "name": "晋江市医院", "category": "hospital", "agreement_on": "2024-03-01",
          "contact_name": "王主任", "members": [k["resident"]]}, one),
    ]


WRITES = [c[0] for c in cases({"household": "", "resident": "", "shareholder": ""})]


def test_every_write_rpc_is_fuzzed():
    from tests.integration.registry.test_access_matrix import EXPECTED

    reads = {"health", "list_grids", "grid_of_address", "get_grid", "list_staff", "get_household",
             "list_households", "get_resident", "find_residents", "list_full_reads", "list_party_units",
             "list_party_members", "list_shareholders", "shareholder_history", "list_organisations",
             "has_residents", "stats"}
    assert set(EXPECTED) - reads == set(WRITES)


@pytest.mark.parametrize("write", WRITES)
def test_what_the_schema_refuses_is_refused_and_nothing_written(reg, known, registry_db, write):
    [(rpc, schema, base, wrap)] = [c for c in cases(known) if c[0] == write]
    tried = refuses_bad_input(getattr(reg, rpc), schema(), base, registry_db, wrap=wrap)
    assert tried
