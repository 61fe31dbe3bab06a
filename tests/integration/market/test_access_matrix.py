"""The market's access matrix: every RPC × every role, on the caller's own records and on
someone else's. The expected cells are written here by hand, not computed from domain.POLICY.

Cells: A allowed (answered, or refused for a business reason: the call got past access),
E allowed but nothing of it visible (an empty list), F forbidden, N not found (another's record
does not exist for this caller).

Columns: v_own / v_other — a vendor (actor id V1) on their own records / on vendor V2's;
g_own / g_other — a grid worker of the market's grid G7 / of grid G1; then one column per role.
"""

import pytest

from services.market.service import MarketService
from tests.integration.market.conftest import RULE_BOOK, id_number, phone
from tests.support import matrix_cell, matrix_mismatches, read_matrix

MATRIX = """
rpc               v_other v_own g_other g_own resident operator police street admin inspector officer system
register_vendor   F       F     F       F     F        F        F      F      F     F         A       A
renew_licence     N       A     F       F     F        F        F      F      F     F         A       A
lay_out_stalls    F       F     F       F     F        F        F      F      F     F         A       A
apply_for_stall   N       A     F       F     F        F        F      F      F     F         A       A
allocate_stall    F       F     F       F     F        F        F      F      F     F         A       A
propose_rules     F       F     F       F     F        F        F      F      F     F         A       A
vote_on_rules     N       A     F       F     F        F        F      F      F     F         F       A
publish_rules     F       F     F       F     F        F        F      F      F     F         A       A
get_rules         A       A     A       A     F        F        A      F      A     A         A       A
open_night        F       F     F       F     F        F        F      F      F     F         A       A
check_in          N       A     F       F     F        F        F      F      F     F         A       A
record_footfall   F       F     F       F     F        F        F      F      F     F         A       A
report_takings    N       A     F       F     F        F        F      F      F     F         A       A
close_night       F       F     F       F     F        F        F      F      F     F         A       A
start_inspection  F       F     F       F     F        F        F      F      F     A         A       A
record_violation  F       F     F       F     F        F        F      F      F     A         F       A
appeal_violation  N       A     F       F     F        F        F      F      F     F         F       A
decide_appeal     F       F     F       F     F        F        F      F      F     F         A       A
vendor_record     N       A     F       F     F        F        F      F      A     A         A       A
list_vendors      F       F     F       F     F        F        F      F      A     A         A       A
list_violations   E       A     E       A     F        F        A      F      A     A         A       A
list_stalls       A       A     A       A     F        F        F      F      A     A         A       A
market_stats      F       F     F       F     F        F        F      A      A     F         A       A
health            A       A     A       A     A        A        A      A      A     A         A       A
transfer_stall    F       F     F       F     F        F        F      F      F     F         A       A
release_stall     N       A     F       F     F        F        F      F      F     F         A       A
"""
COLUMNS, EXPECTED = read_matrix(MATRIX)

ACTORS = {
    "v_other": {"id": "V-000001", "role": "vendor"},
    "v_own": {"id": "V-000001", "role": "vendor"},
    "g_other": {"id": "ST-0009", "role": "grid_worker", "grid": "G1"},
    "g_own": {"id": "ST-0007", "role": "grid_worker", "grid": "G7"},
    "resident": {"id": "R-000001", "role": "resident"},
    "operator": {"id": "OP-1", "role": "operator"},
    "police": {"id": "PD-1", "role": "police_desk"},
    "street": {"id": "SO-1", "role": "street_office"},
    "admin": {"id": "CA-1", "role": "community_admin"},
    "inspector": {"id": "IN-1", "role": "inspector"},
    "officer": {"id": "MO-1", "role": "market_officer"},
    "system": {"id": "finance", "role": "system"},
}


def test_every_rpc_of_the_service_has_a_row():
    rpcs = {
        name
        for name, method in vars(MarketService).items()
        if hasattr(method, "nameko_entrypoints")
        and any(type(e).__name__ == "Rpc" for e in method.nameko_entrypoints)
    }
    assert rpcs == set(EXPECTED)


@pytest.fixture
def scene(market):
    """V1 at S-A001 and V2 at S-A002 (zone A: grid G7), a proposed rule book open for their vote,
    tonight open with an inspection round, violations of each (one of V1's already appealed)."""
    market.lay_out(zones=("A",), per_zone=4, kinds=("goods",))
    v1, v2, v3 = (market.vendor("goods") for _ in range(3))
    assert v1 == "V-000001"
    market.adopt()
    market.give_stall("S-A001", v1)
    market.give_stall("S-A002", v2)
    ballot_box = market.office.propose_rules({**RULE_BOOK, "title": "v2"})
    market.office.open_night({"date": "2026-11-02"})
    round_ = market.inspector.start_inspection({"night_id": "N-20261102"})

    def violation(stall_id):
        return market.inspector.record_violation(
            {
                "inspection_id": round_["inspection_id"],
                "stall_id": stall_id,
                "violation_type": "unsorted_waste",
                "description": "未分类",
            }
        )["violation_id"]

    own, other, appealed = violation("S-A001"), violation("S-A002"), violation("S-A001")
    market.vendor_actor(v1).appeal_violation({"violation_id": appealed, "grounds": "已分类"})
    return {
        "own": {"vendor": v1, "stall": "S-A001", "violation": own},
        "other": {"vendor": v2, "stall": "S-A002", "violation": other},
        "spare_vendor": v3,
        "rule_book": ballot_box["rule_book_id"],
        "inspection": round_["inspection_id"],
        "appealed": appealed,
    }


def payloads(scene, whose):
    mine = scene[whose]
    licence = {"number": "BL77", "expires_on": "2028-01-31"}
    return {
        "register_vendor": {
            "name": "外来摊主",
            "id_number": id_number(),
            "phone": phone(),
            "goods_category": "goods",
            "business_licence": licence,
        },
        "renew_licence": {"vendor_id": mine["vendor"], "document": "business_licence", **licence},
        "lay_out_stalls": {
            "stalls": [
                {"zone": "C", "number": 1, "kind": "goods", "size_m2": 4, "power": False, "water": False}
            ]
        },
        "apply_for_stall": {"vendor_id": mine["vendor"], "kind": "goods"},
        "allocate_stall": {
            "mode": "direct",
            "stall_id": "S-A003",
            "vendor_id": scene["spare_vendor"],
            "term_start": "2026-11-01",
            "term_end": "2027-10-31",
        },
        "propose_rules": RULE_BOOK,
        "vote_on_rules": {
            "rule_book_id": scene["rule_book"],
            "vendor_id": mine["vendor"],
            "ballot": "for",
        },
        "publish_rules": {"rule_book_id": scene["rule_book"]},
        "get_rules": {},
        "open_night": {"date": "2026-11-03"},
        "check_in": {"night_id": "N-20261102", "stall_id": mine["stall"]},
        "record_footfall": {"night_id": "N-20261102", "gate": "north", "count": 120},
        "report_takings": {"night_id": "N-20261102", "vendor_id": mine["vendor"], "takings_fen": 880000},
        "close_night": {"night_id": "N-20261103"},
        "start_inspection": {"night_id": "N-20261102"},
        "record_violation": {
            "inspection_id": scene["inspection"],
            "stall_id": mine["stall"],
            "violation_type": "unsorted_waste",
            "description": "复查",
        },
        "appeal_violation": {"violation_id": mine["violation"], "grounds": "有照片为证"},
        "decide_appeal": {"violation_id": scene["appealed"], "upheld": False, "reason": "证据不足"},
        "vendor_record": {"vendor_id": mine["vendor"]},
        "list_vendors": {},
        "list_violations": {"vendor_id": mine["vendor"]},
        "list_stalls": {"status": "allocated"},
        "market_stats": {"period": "night", "key": "2026-11-02"},
        "transfer_stall": {
            "stall_id": mine["stall"],
            "from_vendor_id": mine["vendor"],
            "to_vendor_id": scene["spare_vendor"],
            "relation": "spouse",
            "reason": "illness",
        },
        "release_stall": {"stall_id": mine["stall"], "reason": "不做了"},
    }


def test_the_access_matrix(scene, as_actor):
    observed = {}
    clients = {column: as_actor(actor).market for column, actor in ACTORS.items()}
    for rpc in EXPECTED:  # rows in table order: release_stall last, it changes what the others see
        observed[rpc] = {}
        for column in COLUMNS:
            payload = payloads(scene, "other" if column == "v_other" else "own")
            method = getattr(clients[column], rpc)
            observed[rpc][column] = matrix_cell(
                lambda m=method, p=payload, r=rpc: m() if r == "health" else m(p[r])
            )
    assert matrix_mismatches(EXPECTED, observed) == {}


@pytest.mark.parametrize(
    "actor",
    [None, {"id": "X", "role": "superuser"}, {"role": "vendor"}, {"id": "ST-1", "role": "grid_worker"}],
)
def test_no_actor_an_unknown_role_or_a_scoped_role_without_its_scope_is_refused(market, as_actor, actor):
    client = as_actor(actor).market
    refused = [
        matrix_cell(lambda m=getattr(client, rpc): m({}))
        for rpc in ("list_vendors", "vendor_record", "list_violations", "register_vendor")
    ]
    assert refused == ["F", "F", "F", "F"]


def test_a_vendor_sees_only_their_own_violations_and_a_grid_worker_their_grids(scene, as_actor):
    own = as_actor(ACTORS["v_own"]).market.list_violations({})["items"]
    assert own and {v["vendor_id"] for v in own} == {scene["own"]["vendor"]}
    assert as_actor(ACTORS["g_own"]).market.list_violations({})["total"] == 3
    assert as_actor(ACTORS["g_other"]).market.list_violations({})["total"] == 0
