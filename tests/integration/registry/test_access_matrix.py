# ruff: noqa: E501  (a table of calls reads better one per line)
"""The registry's access matrix: every RPC × every role × own grid / other grid / no grid. The
expected cells are written here by hand, not computed from domain.POLICY.

Every record the calls name is in grid G3: the resident R (a resident's own record), their
household, G3's staff, party members and shareholders. Columns: res / res_other — the resident R /
another resident; gw / gw_other / gw_none — a grid worker of G3 / of G1 / without a grid (likewise
ps for party secretaries); then one column per other role; system is another service; nobody is a
call without an actor, superuser a role nobody knows.

Cells: A allowed (answered, or refused for a business reason: the call got past access),
E allowed but nothing of it visible (an empty list), F forbidden, N not found (a record outside
the caller's grant does not exist for them).

Rows run top to bottom, every column in turn: reads first, then the commands (a command another
column already carried out answers Conflict, which is an A).
"""

import itertools

import pytest

from services.registry.service import RegistryService
from tests.integration.registry.helpers import id_number
from tests.support import matrix_cell, matrix_mismatches, read_matrix

MATRIX = """
rpc                    res res_other vendor gw gw_other gw_none liaison ps ps_other ps_none market inspector fin_off fin_appr admin police street operator system nobody superuser
health                 A   A         A      A  A        A       A       A  A        A       A      A         A       A        A     A      A      A        A      F      F
list_grids             A   A         A      A  A        A       A       A  A        A       A      A         A       A        A     A      A      A        A      F      F
grid_of_address        A   A         A      A  A        A       A       A  A        A       A      A         A       A        A     A      A      A        A      F      F
get_grid               F   F         F      A  N        F       F       F  F        F       F      F         F       F        A     A      F      F        A      F      F
list_staff             F   F         F      A  F        F       F       F  F        F       F      F         F       F        A     A      F      F        A      F      F
get_household          F   F         F      A  N        F       F       F  F        F       F      F         F       F        A     A      F      F        A      F      F
list_households        F   F         F      A  F        F       F       F  F        F       F      F         F       F        A     A      F      F        A      F      F
get_resident           A   N         F      A  N        F       F       F  F        F       F      F         F       F        A     A      F      F        A      F      F
find_residents         F   F         F      A  F        F       F       F  F        F       F      F         F       F        A     A      F      F        A      F      F
list_full_reads        F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        F      F      F
list_party_units       F   F         F      F  F        F       F       A  A        A       F      F         F       F        A     F      F      F        A      F      F
list_party_members     F   F         F      F  F        F       F       A  E        F       F      F         F       F        A     F      F      F        A      F      F
list_shareholders      F   F         F      F  F        F       F       F  F        F       F      F         A       A        A     F      F      F        A      F      F
shareholder_history    F   F         F      F  F        F       F       F  F        F       F      F         A       A        A     F      F      F        A      F      F
list_organisations     F   F         F      A  A        A       A       A  A        A       A      A         A       A        A     A      A      F        A      F      F
has_residents          F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
stats                  F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      A      F        A      F      F
define_grid            F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
assign_grid_staff      F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
register_household     F   F         F      A  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
import_households      F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
register_resident      F   F         F      A  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
import_residents       F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
update_resident        F   F         F      A  N        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
flag_difficulty        F   F         F      A  N        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
move_out               F   F         F      A  N        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
record_death           F   F         F      A  N        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
define_party_unit      F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
register_party_member  F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
import_party_members   F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
enroll_shareholder     F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
import_shareholders    F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
change_shares          F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
register_organisation  F   F         F      F  F        F       F       F  F        F       F      F         F       F        A     F      F      F        A      F      F
"""
COLUMNS, EXPECTED = read_matrix(MATRIX)


def actors(scene):
    return {
        "res": {"id": scene["resident"], "role": "resident"},
        "res_other": {"id": scene["neighbour"], "role": "resident"},
        "vendor": {"id": "V-000001", "role": "vendor"},
        "gw": {"id": "ST-0003", "role": "grid_worker", "grid": "G3"},
        "gw_other": {"id": "ST-0001", "role": "grid_worker", "grid": "G1"},
        "gw_none": {"id": "ST-0009", "role": "grid_worker"},
        "liaison": {"id": "ST-0031", "role": "grid_liaison", "grid": "G3"},
        "ps": {"id": "ST-0032", "role": "party_secretary", "grid": "G3"},
        "ps_other": {"id": "ST-0012", "role": "party_secretary", "grid": "G1"},
        "ps_none": {"id": "ST-0039", "role": "party_secretary"},
        "market": {"id": "MO-1", "role": "market_officer"},
        "inspector": {"id": "IN-1", "role": "inspector"},
        "fin_off": {"id": "FO-1", "role": "finance_officer"},
        "fin_appr": {"id": "FA-1", "role": "finance_approver"},
        "admin": {"id": "CA-1", "role": "community_admin"},
        "police": {"id": "PD-1", "role": "police_desk"},
        "street": {"id": "SO-1", "role": "street_office"},
        "operator": {"id": "OP-1", "role": "operator"},
        "system": {"id": "grid_events", "role": "system"},
        "nobody": None,
        "superuser": {"id": "X-1", "role": "superuser", "grid": "G3"},
    }


def test_every_rpc_of_the_service_has_a_row():
    rpcs = {name for name, method in vars(RegistryService).items()
            if any(type(e).__name__ == "Rpc" for e in getattr(method, "nameko_entrypoints", ()))}
    assert rpcs == set(EXPECTED)


@pytest.fixture
def scene(reg, grids):
    """G3: household H with the resident R and three neighbours (one a party member, one a
    shareholder), a grid worker, a party unit, an organisation and a full read of R; G1: a
    household with one resident."""
    reg.assign_grid_staff({"grid_code": "G3", "role": "grid_worker", "name": "西街网格员",
                           "phone": "13800000003", "staff_id": "ST-0003"})
    h3 = reg.register_household({"building": "B21", "room": "101", "kind": "owner"})["household_id"]
    h1 = reg.register_household({"building": "B11", "room": "101", "kind": "owner"})["household_id"]
    people = reg.import_residents([
        {"name": f"居民{n}", "id_number": id_number("19700101", 100 + n), "household_id": h3,
         "residence_type": "registered", "phone": "13812345678"} for n in range(5)])
    reg.register_resident({"name": "东街居民", "id_number": id_number("19700101", 199), "household_id": h1,
                           "residence_type": "registered"})
    resident, neighbour, member, holder, spare = people
    reg.define_party_unit({"code": "PC", "name": "社区党委", "level": "committee"})
    reg.register_party_member({"resident_id": member, "branch_code": "PC", "joined_on": "2001-07-01"})
    shareholder = reg.enroll_shareholder({"resident_id": holder, "group": "第3组", "shares": 5})["shareholder_id"]
    reg.register_organisation({"kind": "volunteer_team", "name": "西街志愿队", "members": [member]})
    reg.get_resident(resident, True, "核对户籍")
    return {"resident": resident, "neighbour": neighbour, "spare": spare, "household": h3,
            "shareholder": shareholder}


_n = itertools.count(1)


def call(client, rpc, scene):
    """One call of `rpc` naming G3's records, with fresh data where a command creates something."""
    n = next(_n)
    resident = scene["resident"]
    item = {"name": "新居民", "id_number": id_number("19800101", n % 1000, region="350582"),
            "household_id": scene["household"], "residence_type": "registered"}
    args = {
        "health": (),
        "list_grids": (),
        "grid_of_address": ({"building": "B21"},),
        "get_grid": ("G3",),
        "list_staff": ({"grid_code": "G3"},),
        "get_household": (scene["household"],),
        "list_households": ({"grid_codes": ["G3"]},),
        "get_resident": (resident,),
        "find_residents": ({"grid_code": "G3"},),
        "list_full_reads": ({"resident_id": resident},),
        "list_party_units": (),
        "list_party_members": (),
        "list_shareholders": ({},),
        "shareholder_history": (scene["shareholder"],),
        "list_organisations": (),
        "has_residents": (),
        "stats": (),
        "define_grid": ({"code": "G3", "name": "西街网格", "buildings": ["B21", "B22"]},),
        "assign_grid_staff": ({"grid_code": "G3", "role": "liaison", "name": "楼长", "phone": "13800000033"},),
        "register_household": ({"building": "B22", "room": f"{n}", "kind": "owner"},),
        "import_households": ([{"building": "B22", "room": f"{n}", "kind": "owner"}],),
        "register_resident": (item,),
        "import_residents": ([item],),
        "update_resident": ({"resident_id": resident, "language": "en"},),
        "flag_difficulty": ({"resident_id": resident, "reason": "失业"},),
        "move_out": ({"resident_id": resident, "moved_out_on": "2025-06-01"},),
        "record_death": ({"resident_id": resident, "died_on": "2025-06-01"},),
        "define_party_unit": ({"code": "PC", "name": "社区党委", "level": "committee"},),
        "register_party_member": ({"resident_id": scene["spare"], "branch_code": "PC", "joined_on": "2001-07-01"},),
        "import_party_members": ([{"resident_id": scene["neighbour"], "branch_code": "PC", "joined_on": "2001-07-01"}],),
        "enroll_shareholder": ({"resident_id": scene["spare"], "group": "第3组", "shares": 2},),
        "import_shareholders": ([{"resident_id": scene["neighbour"], "group": "第3组", "shares": 2}],),
        "change_shares": ({"shareholder_id": scene["shareholder"], "shares": 5 + n, "reason": "调整"},),
        "register_organisation": ({"kind": "volunteer_team", "name": f"志愿队{n}"},),
    }[rpc]
    return getattr(client, rpc)(*args)


def test_the_access_matrix(scene, as_actor):
    clients = {column: as_actor(actor).registry for column, actor in actors(scene).items()}
    observed = {rpc: {column: matrix_cell(lambda c=clients[column], r=rpc: call(c, r, scene)) for column in COLUMNS}
                for rpc in EXPECTED}
    assert matrix_mismatches(EXPECTED, observed) == {}


def test_a_grid_worker_and_a_party_secretary_list_their_own_grid_only(scene, as_actor, reg):
    worker = as_actor(actors(scene)["gw_other"]).registry
    assert {r["grid_code"] for r in worker.find_residents({})["items"]} == {"G1"}
    assert {h["grid_code"] for h in worker.list_households({})["items"]} == {"G1"}
    assert [s["staff_id"] for s in worker.list_staff({})] == []
    secretary = as_actor(actors(scene)["ps"]).registry
    assert [m["grid_code"] for m in secretary.list_party_members()] == ["G3"]


def test_staff_phones_are_masked_unless_the_role_needs_them(scene, as_actor):
    everyone = actors(scene)
    phones = {column: as_actor(everyone[column]).registry.get_grid("G3")["staff"][0]["phone"]
              for column in ("gw", "police", "system", "admin")}
    assert phones == {"gw": "13800000003",  # their own post
                      "police": "*******0003", "system": "*******0003", "admin": "13800000003"}
    listed = as_actor(everyone["police"]).registry.list_staff({"grid_code": "G3"})
    assert [s["phone"] for s in listed] == ["*******0003"]


def test_household_members_and_residents_stay_masked_in_every_list(scene, as_actor):
    worker = as_actor(actors(scene)["gw"]).registry
    household = worker.get_household(scene["household"])
    assert scene["resident"] in household["members"]
    found = worker.find_residents({"grid_code": "G3"})["items"]
    assert found and all(r["masked"] and r["phone"] == "*******5678" for r in found)
    assert all(r["id_number"][6:14] == "*" * 8 for r in found)
