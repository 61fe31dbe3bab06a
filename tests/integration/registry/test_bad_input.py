# ruff: noqa: E501  (tables of cases read better one per line)
"""Bad input to the registry: query operators where an id belongs, unknown ids in commands, wrong
argument counts and types. Each is a structured refusal naming the caller's field, and nothing is
written (the document count of every collection, outbox included, stays as it was)."""

import pytest

from shared.errors import InvalidInput, NotFound
from tests.fuzz import counts
from tests.integration.registry.helpers import id_number

OPERATORS = [{"$gt": ""}, {"$ne": None}]


def injections(op, k):
    """(rpc, args, field) for every RPC taking an id, with the operator `op` in the id's place."""
    household = {"building": "B21", "room": "9", "kind": "owner"}
    person = {"name": "陈", "id_number": id_number(sequence=7), "household_id": k["household"],
              "residence_type": "registered"}
    member = {"resident_id": k["resident"], "branch_code": "PC", "joined_on": "2001-07-01"}
    return [
        ("get_grid", (op,), "code"),
        ("get_household", (op,), "household_id"),
        ("get_resident", (op,), "resident_id"),
        ("get_resident", (k["resident"], True, op), "reason"),
        ("get_resident", (k["resident"], op, "why"), "full"),
        ("shareholder_history", (op,), "shareholder_id"),
        ("list_party_members", (op,), "branch_code"),
        ("list_party_units", (op,), "level"),
        ("list_organisations", (op,), "kind"),
        ("grid_of_address", ({"building": op},), "building"),
        ("list_staff", ({"grid_code": op},), "grid_code"),
        ("list_households", ({"grid_codes": [op]},), "grid_codes"),
        ("find_residents", ({"household_id": op},), "household_id"),
        ("find_residents", ({"grid_code": op},), "grid_code"),
        ("list_full_reads", ({"resident_id": op},), "resident_id"),
        ("list_shareholders", ({"group": op},), "group"),
        ("define_grid", ({"code": op, "name": "x", "buildings": ["B9"]},), "code"),
        ("define_grid", ({"code": "G9", "name": "x", "buildings": [op]},), "buildings"),
        ("assign_grid_staff", ({"role": "liaison", "grid_code": op, "name": "x", "phone": "13800000001"},),
         "grid_code"),
        ("assign_grid_staff", ({"role": "mediator", "staff_id": op, "name": "x", "phone": "13800000001"},),
         "staff_id"),
        ("assign_grid_staff", ({"role": "mediator", "resident_id": op, "name": "x", "phone": "13800000001"},),
         "resident_id"),
        ("register_household", ({**household, "building": op},), "building"),
        ("register_household", ({**household, "kind": "tenant", "landlord_household_id": op},),
         "landlord_household_id"),
        ("import_households", ([{**household, "building": op}],), "building"),
        ("register_resident", ({**person, "household_id": op},), "household_id"),
        ("import_residents", ([{**person, "household_id": op}],), "household_id"),
        ("update_resident", ({"resident_id": op, "language": "en"},), "resident_id"),
        ("update_resident", ({"resident_id": k["resident"], "household_id": op},), "household_id"),
        ("move_out", ({"resident_id": op, "moved_out_on": "2026-01-01"},), "resident_id"),
        ("record_death", ({"resident_id": op, "died_on": "2026-01-01"},), "resident_id"),
        ("flag_difficulty", ({"resident_id": op, "reason": "失业"},), "resident_id"),
        ("define_party_unit", ({"code": op, "name": "x", "level": "committee"},), "code"),
        ("define_party_unit", ({"code": "GB", "name": "x", "level": "general_branch", "parent_code": op},),
         "parent_code"),
        ("register_party_member", ({**member, "resident_id": op},), "resident_id"),
        ("register_party_member", ({**member, "branch_code": op},), "branch_code"),
        ("import_party_members", ([{**member, "resident_id": op}],), "resident_id"),
        ("enroll_shareholder", ({"resident_id": op, "group": "第1组", "shares": 1},), "resident_id"),
        ("import_shareholders", ([{"resident_id": op, "group": "第1组", "shares": 1}],), "resident_id"),
        ("change_shares", ({"shareholder_id": op, "shares": 2, "reason": "调整"},), "shareholder_id"),
        ("register_organisation", ({"kind": "volunteer_team", "name": "x", "members": [op]},), "members"),
    ]


def named(fields, field):
    return any(field in path.split(".") for path in fields)


@pytest.mark.parametrize("op", OPERATORS, ids=["gt", "ne"])
def test_an_operator_is_never_an_id(reg, known, registry_db, op):
    before = counts(registry_db)
    answered = {}
    for rpc, args, field in injections(op, known):
        try:
            answered[(rpc, field)] = getattr(reg, rpc)(*args)
        except InvalidInput as exc:
            if not named(exc.fields, field):
                answered[(rpc, field)] = exc.fields
    assert answered == {}
    assert counts(registry_db) == before


def test_every_id_taking_rpc_is_covered():
    taking_ids = {rpc for rpc, _, _ in injections({}, {"household": "", "resident": ""})}
    reads_without_ids = {"health", "list_grids", "has_residents", "stats"}
    from tests.integration.registry.test_access_matrix import EXPECTED

    assert set(EXPECTED) - taking_ids == reads_without_ids


def test_a_megabyte_id_is_refused_by_its_shape(reg, known, registry_db):
    before = counts(registry_db)
    with pytest.raises(InvalidInput) as refused:
        reg.flag_difficulty({"resident_id": "R-" + "1" * 2_000_000, "reason": "失业"})
    assert list(refused.value.fields) == ["payload"]  # the kit refuses it before any worker
    with pytest.raises(InvalidInput) as long:
        reg.flag_difficulty({"resident_id": "R-" + "1" * 100, "reason": "失业"})
    assert list(long.value.fields) == ["resident_id"]
    assert counts(registry_db) == before


@pytest.mark.parametrize("method, payload, error, field", [
    ("register_resident", {"name": "陈", "id_number": id_number(sequence=9), "household_id": "HH-G3-09999",
                           "residence_type": "registered"}, InvalidInput, "household_id"),
    ("update_resident", {"resident_id": "R-099999", "language": "en"}, NotFound, "resident_id"),
    ("flag_difficulty", {"resident_id": "R-099999", "reason": "失业"}, NotFound, "resident_id"),
    ("move_out", {"resident_id": "R-099999", "moved_out_on": "2026-01-01"}, NotFound, "resident_id"),
    ("assign_grid_staff", {"role": "mediator", "name": "x", "phone": "13800000001", "resident_id": "R-099999"},
     InvalidInput, "resident_id"),
    ("register_party_member", {"resident_id": "R-099999", "branch_code": "PC", "joined_on": "2001-07-01"},
     InvalidInput, "resident_id"),
    ("enroll_shareholder", {"resident_id": "R-099999", "group": "第1组", "shares": 1}, InvalidInput,
     "resident_id"),
    ("change_shares", {"shareholder_id": "SH-09999", "shares": 2, "reason": "调整"}, NotFound, "shareholder_id"),
    ("register_organisation", {"kind": "volunteer_team", "name": "x", "members": ["R-099999"]}, InvalidInput,
     "members"),
    ("register_household", {"building": "B21", "room": "9", "kind": "tenant",
                            "landlord_household_id": "HH-G3-09999"}, InvalidInput, "landlord_household_id"),
])
def test_an_unknown_id_in_a_command_is_refused_not_created(reg, known, registry_db, method, payload, error, field):
    before = counts(registry_db)
    with pytest.raises(error) as refused:
        getattr(reg, method)(payload)
    assert list(refused.value.fields) == [field]
    assert counts(registry_db) == before


def test_an_unknown_household_to_move_into_is_refused(reg, known, registry_db):
    before = counts(registry_db)
    with pytest.raises(InvalidInput) as refused:
        reg.update_resident({"resident_id": known["resident"], "household_id": "HH-G3-09999"})
    assert list(refused.value.fields) == ["household_id"]
    assert counts(registry_db) == before


@pytest.mark.parametrize("method, args, kwargs, field", [
    ("get_resident", (), {}, "payload"),                                      # too few
    ("get_resident", ("R-000001", False, None, "extra"), {}, "payload"),      # too many
    ("get_resident", ("R-000001",), {"bogus": 1}, "payload"),                 # an unknown keyword
    ("register_household", ("B21 101",), {}, "_schema"),                      # not an object
    ("register_household", (["B21"],), {}, "_schema"),
    ("import_households", ({"building": "B21"},), {}, "items"),              # not a list
    ("import_households", ([],), {}, "items"),
    ("import_households", (["B21"],), {}, "items.0._schema"),
    ("list_staff", ("G3",), {}, "_schema"),
    ("get_grid", (3,), {}, "code"),
    ("get_resident", (["R-000001"],), {}, "resident_id"),
    ("enroll_shareholder", ({"resident_id": "R-000001", "group": "第1组", "shares": "5"},), {}, "shares"),
    ("enroll_shareholder", ({"resident_id": "R-000001", "group": "第1组", "shares": 1.5},), {}, "shares"),
])
def test_wrong_argument_counts_and_types_are_structured(reg, known, registry_db, method, args, kwargs, field):
    before = counts(registry_db)
    with pytest.raises(InvalidInput) as refused:
        getattr(reg, method)(*args, **kwargs)
    assert field in refused.value.fields, refused.value.fields
    assert counts(registry_db) == before


@pytest.mark.parametrize("change, reason", [
    ({"shares": 0}, "from 1 to 1,000,000 (a shareholding ends by status withdrawn, not 0 shares)"),
    ({"shares": -1}, "from 1 to 1,000,000 (a shareholding ends by status withdrawn, not 0 shares)"),
    ({"reason": "   "}, "must not be blank"),
    ({"reason": "调\u202e整"}, "contains control or invisible characters: U+202E"),
])
def test_shares_and_reasons_say_what_is_wrong(reg, known, registry_db, change, reason):
    before = counts(registry_db)
    with pytest.raises(InvalidInput) as refused:
        reg.change_shares({"shareholder_id": known["shareholder"], "shares": 3, "reason": "调整", **change})
    [(field, reasons)] = refused.value.fields.items()
    assert reasons == [reason] and field in change
    assert counts(registry_db) == before


@pytest.mark.parametrize("name, reason", [
    ("   ", "must not be blank"),
    ("陈\x00伟", "contains control or invisible characters: U+0000"),
    ("陈\u200b伟", "contains control or invisible characters: U+200B"),
    ("x" * 201, "at most 200 characters"),
])
def test_a_name_of_spaces_or_invisible_characters_is_refused(reg, known, registry_db, name, reason):
    before = counts(registry_db)
    with pytest.raises(InvalidInput) as refused:
        reg.update_resident({"resident_id": known["resident"], "name": name})
    assert refused.value.fields == {"name": [reason]}
    assert counts(registry_db) == before


def test_text_is_stored_normalised_and_stripped(reg, known, registry_db):
    decomposed = "Ame\u0301lie "  # e + combining acute: NFC makes it one character
    assert reg.update_resident({"resident_id": known["resident"], "name": decomposed})["name"] == "Amélie"
    assert registry_db.residents.find_one({"resident_id": known["resident"]})["name"] == "Amélie"
