"""The registry's pure rules: ID numbers, phones, ages, masking, scoping, state changes."""

from datetime import UTC, date, datetime

import pytest

from services.registry import domain, schemas
from shared import personal
from shared.errors import Conflict, Forbidden, InvalidInput
from tests.integration.registry.helpers import id_number, with_wrong_check_digit

TODAY = date(2026, 11, 2)


def reason(exc_info):
    [(field, [text])] = exc_info.value.fields.items()
    return field, text


# --- ID numbers -----------------------------------------------------------------------------

def test_id_number_gives_birth_date_and_sex():
    assert personal.parse_id_number(id_number("19660115", 131), TODAY) == (
        id_number("19660115", 131), date(1966, 1, 15), "M")
    assert personal.parse_id_number(id_number("20000229", 242), TODAY)[1:] == (date(2000, 2, 29), "F")


def test_id_number_accepts_lowercase_x_and_spaces():
    number = next(id_number(sequence=n) for n in range(1000) if id_number(sequence=n).endswith("X"))
    assert personal.parse_id_number(" " + number.lower() + " ", TODAY)[0] == number


@pytest.mark.parametrize("number, text", [
    (with_wrong_check_digit(id_number()), "wrong check digit"),
    (id_number("20261103"), "birth date in the future"),
    (id_number()[:17], "must be 18 characters"),
    (id_number() + "1", "must be 18 characters"),
    ("11010219800115A23X", "17 digits then a digit or X"),
    ("11010219800115123Y", "17 digits then a digit or X"),
    ("X10102198001151234", "17 digits then a digit or X"),
    ("110102" + "19800231" + "1234", "impossible birth date"),
    ("110102" + "19801301" + "1234", "impossible birth date"),
    ("110102" + "18960101" + "1234", "impossible birth date"),   # 130 years and more before today
    ("110102" + "00010101" + "1234", "impossible birth date"),
    ("11010219800115 123X", "wrong check digit"),                  # a grouping space goes, then checked
    ("110102-19800115-1234", "must be 18 characters"),
    ("11010219800115I23X", "17 digits then a digit or X"),           # a letter I for a one
    (id_number(region="999999"), "unknown area code"),
    (id_number(region="110001"), "unknown area code"),  # stdnum raises a bare KeyError for these
    (id_number(region="350599"), "unknown area code"),  # the province is known, the county not
    ("", "must be 18 characters"),
    ({"$ne": None}, "must be 18 characters"),
])
def test_bad_id_numbers_are_refused_on_the_field(number, text):
    if text == "impossible birth date":
        from stdnum.cn import ric
        number = number[:17] + ric.calc_check_digit(number[:17] + "0")
    with pytest.raises(InvalidInput) as refused:
        personal.parse_id_number(number, TODAY)
    assert reason(refused) == ("id_number", text)


@pytest.mark.parametrize("region, birth", [
    ("350582", "19550304"),   # Jinjiang, created 1992, on the IDs of people born in the 1950s
    ("350581", "19480101"),   # Shishi, created 1989
    ("350500", "19300101"),   # Quanzhou city-level code, created 1985
    ("110101", "19800115"),   # a code that never changed
])
def test_area_codes_created_after_the_birth_year_pass(region, birth):
    number = id_number(birth, 131, region)
    assert personal.parse_id_number(number, TODAY)[0] == number


def test_the_birth_year_never_decides_the_area_code():
    from stdnum.cn import ric
    jinjiang_1955 = id_number("19550304", 131, "350582")
    assert not ric.is_valid(jinjiang_1955)  # stdnum alone refuses it: that is what we work around
    assert personal.parse_id_number(jinjiang_1955, TODAY)[1] == date(1955, 3, 4)


def test_grouping_spaces_and_full_width_digits_are_normalised():
    number = id_number("19800115", 123)
    grouped = f"{number[:6]} {number[6:14]} {number[14:]}"
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    assert personal.parse_id_number(grouped, TODAY)[0] == number
    assert personal.parse_id_number(full_width, TODAY)[0] == number


def test_the_oldest_possible_birth_date_is_130_years_back():
    assert personal.parse_id_number(id_number("18961102"), TODAY)[1] == date(1896, 11, 2)
    with pytest.raises(InvalidInput):
        personal.parse_id_number(id_number("18961101"), TODAY)


def test_born_today_is_fine():
    assert personal.parse_id_number(id_number("20261102"), TODAY)[1] == TODAY


# --- phones, tags, masking ------------------------------------------------------------------

@pytest.mark.parametrize("raw, stored", [
    ("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("0595-22345678", "059522345678"),
    (None, None), ("", None)])
def test_phones_are_normalised(raw, stored):
    assert personal.normalise_phone(raw) == stored


@pytest.mark.parametrize("raw", ["12345", "hello", "+1 415 555 0100", "1381234567"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(InvalidInput) as refused:
        personal.normalise_phone(raw)
    assert reason(refused)[0] == "phone"


def test_tags_are_words_kept_sorted_once():
    assert domain.check_tags(["volunteer", "veteran", "volunteer"]) == ["veteran", "volunteer"]
    with pytest.raises(InvalidInput):
        domain.check_tags(["Has Space"])


def test_masking_shows_first_six_and_last_four_of_the_id_and_last_four_of_the_phone():
    assert personal.mask_id_number("11010219800115123X") == "110102********123X"
    assert personal.mask_phone("13812345678") == "*******5678"
    assert personal.mask_email("zhang.wei@example.cn") == "z***@example.cn"
    assert personal.mask_phone(None) is None and personal.mask_email(None) is None


def resident_doc(**extra):
    return {"resident_id": "R-000001", "name": "张伟", "id_number": "11010219660115131X",
            "phone": "13812345678", "email": "zw@example.cn", "household_id": "HH-G3-00001",
            "grid_code": "G3", "birth_date": datetime(1966, 11, 2, tzinfo=UTC), "sex": "M",
            "residence_type": "registered", "status": "active", "tags": ["veteran"], **extra}


def test_resident_view_masks_unless_full_and_derives_age():
    masked = schemas.ResidentView(TODAY).dump(resident_doc())
    full = schemas.ResidentView(TODAY, full=True).dump(resident_doc())
    assert masked["id_number"] == "110102********131X" and masked["phone"] == "*******5678"
    assert masked["masked"] and masked["email"] == "z***@example.cn"
    assert full["id_number"] == "11010219660115131X" and full["phone"] == "13812345678" and not full["masked"]
    assert masked["age"] == 60 and masked["age_group"] == "elderly" and masked["birth_date"] == "1966-11-02"
    assert schemas.ResidentView(date(2026, 11, 1)).dump(resident_doc())["age_group"] == "adult"


# --- ages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("birth, age, group", [
    (date(2008, 11, 3), 17, "child"), (date(2008, 11, 2), 18, "adult"),
    (date(1966, 11, 3), 59, "adult"), (date(1966, 11, 2), 60, "elderly")])
def test_age_and_age_group(birth, age, group):
    assert domain.age_on(birth, TODAY) == age and domain.age_group(age) == group


def test_birth_date_range_for_an_age_range():
    earliest, latest = domain.birth_date_range(TODAY, 18, 59)
    assert latest == date(2008, 11, 2) and earliest == date(1966, 11, 2)  # exclusive: 60 today is out
    assert domain.birth_date_range(TODAY) == (None, None)


def test_turned_60_window_and_29_february():
    assert domain.turned_60_window(TODAY) == (date(1966, 10, 2), date(1966, 11, 2))
    assert domain.years_before(date(2028, 2, 29), 61) == date(1967, 2, 28)


# --- who may see what (the policy's grants, and the rules beside them) -------------------------

RESIDENT = {"resident_id": "R-000001", "grid_code": "G3"}
ADMIN = {"id": "CA-1", "role": "community_admin"}
WORKER_G3 = {"id": "ST-0003", "role": "grid_worker", "grid": "G3"}
SYSTEM_ACTOR = {"id": "finance", "role": "system"}


def grant(operation, actor):
    return domain.POLICY.grant(operation, actor)


@pytest.mark.parametrize("actor, visible", [
    (ADMIN, True),
    ({"id": "PD-1", "role": "police_desk"}, True),
    (WORKER_G3, True),
    ({"id": "w", "role": "grid_worker", "grid": "G1"}, False),
    ({"id": "R-000001", "role": "resident"}, True),
    ({"id": "R-000002", "role": "resident", "grid": "G3"}, False),  # same grid is not their record
    (SYSTEM_ACTOR, True),
])
def test_whose_resident_record_a_grant_covers(actor, visible):
    scope = grant("get_resident", actor)
    assert scope.covers(grid=RESIDENT["grid_code"], owners=[RESIDENT["resident_id"]]) is visible


@pytest.mark.parametrize("actor", [
    None, {}, {"id": "X", "role": "superuser"}, {"id": "V-1", "role": "vendor"},
    {"id": "ST-9", "role": "grid_worker"},   # a grid role without a grid
    {"role": "resident"},                    # own records without an id
])
def test_no_actor_an_unknown_role_or_a_scope_less_actor_is_refused(actor):
    with pytest.raises(Forbidden):
        grant("get_resident", actor)


def test_full_reads_need_a_reason_and_services_read_masked_only():
    domain.check_full_read(grant("get_resident", ADMIN), False, None)
    domain.check_full_read(grant("get_resident", WORKER_G3), True, "低保复核")
    with pytest.raises(InvalidInput):
        domain.check_full_read(grant("get_resident", ADMIN), True, None)
    with pytest.raises(Forbidden):
        domain.check_full_read(grant("get_resident", SYSTEM_ACTOR), True, "batch")


def test_lists_are_scoped_to_the_grid_and_another_grid_is_forbidden():
    worker = grant("find_residents", WORKER_G3)
    assert domain.scoped_grids(worker, None) == ["G3"]
    assert domain.scoped_grids(worker, ["G3"]) == ["G3"]
    with pytest.raises(Forbidden) as refused:
        domain.scoped_grids(worker, ["G3", "G4"], "grid_codes")
    assert refused.value.fields == {"grid_codes": ["G4 is not your grid"]}
    admin = grant("find_residents", ADMIN)
    assert domain.scoped_grids(admin, None) is None
    assert domain.scoped_grids(admin, ["G1", "G2"]) == ["G1", "G2"]


def test_registering_in_another_grid_is_forbidden():
    domain.check_grid_write(grant("register_household", WORKER_G3), "G3", "building", "B31")
    domain.check_grid_write(grant("register_household", SYSTEM_ACTOR), "G1", "building", "B11")
    with pytest.raises(Forbidden) as refused:
        domain.check_grid_write(grant("register_household", WORKER_G3), "G1", "building", "B11")
    assert refused.value.fields == {"building": ["B11 is in grid G1, not yours"]}


STAFF = {"staff_id": "ST-0007", "phone": "13812345678", "email": "chen@example.cn", "name": "陈"}


@pytest.mark.parametrize("actor, clear", [
    (ADMIN, True),
    ({"id": "ST-0007", "role": "grid_worker", "grid": "G3"}, True),   # their own post
    (WORKER_G3, False),
    ({"id": "PD-1", "role": "police_desk"}, False),
    (SYSTEM_ACTOR, False),
])
def test_staff_contact_details_are_masked_unless_the_role_needs_them(actor, clear):
    shown = domain.present_staff(STAFF, grant("list_staff", actor))
    if clear:
        assert (shown["phone"], shown["email"]) == ("13812345678", "chen@example.cn")
    else:
        assert (shown["phone"], shown["email"]) == ("*******5678", "c***@example.cn")
    assert shown["name"] == "陈"


def test_every_rpc_of_the_service_has_a_row_and_only_those():
    from services.registry.service import RegistryService

    rpcs = {name for name, method in vars(RegistryService).items()
            if any(type(e).__name__ == "Rpc" for e in getattr(method, "nameko_entrypoints", ()))}
    assert set(domain.POLICY.rows) == rpcs


# --- grids, households, residence, departures ------------------------------------------------

def test_a_building_in_another_grid_is_a_conflict():
    domain.check_grid_definition("G3", ["B21", "B22"], {"B21": "G3"})
    with pytest.raises(Conflict) as refused:
        domain.check_grid_definition("G3", ["B21", "B11"], {"B11": "G1"})
    assert refused.value.fields == {"buildings": ["B11 is in grid G1"]}


def test_only_a_tenant_household_has_a_landlord_who_owns_the_unit():
    domain.check_household("tenant", {"kind": "rented_out"})
    with pytest.raises(InvalidInput):
        domain.check_household("owner", {"kind": "rented_out"})
    with pytest.raises(InvalidInput):
        domain.check_household("tenant", {"kind": "tenant"})


def test_residence_dates():
    assert domain.residence_dates("floating", None, date(2027, 1, 1), TODAY) == (TODAY, date(2027, 1, 1))
    for args in [("registered", None, date(2027, 1, 1)), ("floating", date(2026, 5, 1), date(2026, 4, 1)),
                 ("floating", date(2026, 12, 1), None)]:
        with pytest.raises(InvalidInput):
            domain.residence_dates(*args, TODAY)


def test_departure_only_from_active_on_a_plausible_day():
    active = {"status": "active", "birth_date": datetime(1966, 1, 1, tzinfo=UTC)}
    domain.check_departure(active, TODAY, "died_on", TODAY)
    with pytest.raises(Conflict):
        domain.check_departure({**active, "status": "deceased"}, TODAY, "died_on", TODAY)
    with pytest.raises(InvalidInput):
        domain.check_departure(active, date(2026, 11, 3), "died_on", TODAY)
    with pytest.raises(InvalidInput):
        domain.check_departure(active, date(1965, 1, 1), "moved_out_on", TODAY)


def test_resident_changes_compare_dates_and_serialise():
    stored = {"name": "张伟", "registered_on": datetime(2020, 1, 1, tzinfo=UTC)}
    changes = domain.resident_changes(stored, {"name": "张伟", "registered_on": date(2021, 1, 1)})
    assert changes == {"registered_on": date(2021, 1, 1)}
    assert domain.event_changes(changes) == {"registered_on": "2021-01-01"}


def test_staff_posts_and_party_units():
    domain.check_staff_post("community_office", None, True)
    with pytest.raises(InvalidInput):
        domain.check_staff_post("liaison", None, True)
    with pytest.raises(InvalidInput):
        domain.check_staff_post("liaison", "G9", False)
    domain.check_party_unit("committee", None)
    domain.check_party_unit("joint_branch", {"level": "general_branch"})
    with pytest.raises(InvalidInput):
        domain.check_party_unit("party_group", {"level": "general_branch"})
    with pytest.raises(InvalidInput):
        domain.check_party_unit("general_branch", None)


def test_shareholding_change_keeps_before_and_after_of_what_changes():
    current = {"shares": 10, "group": "第一组", "status": "active"}
    change = domain.shareholding_change(current, {"shares": 12, "group": "第一组"})
    assert change == ({"shares": 10}, {"shares": 12})
    with pytest.raises(InvalidInput):
        domain.shareholding_change(current, {"shares": 10})
    with pytest.raises(Conflict):
        domain.shareholding_change({**current, "status": "withdrawn"}, {"shares": 1})


# --- input schemas: no plain string, no unbounded list ------------------------------------------

def input_schemas():
    from shared.fields import Strict

    return [obj for obj in vars(schemas).values()
            if isinstance(obj, type) and issubclass(obj, Strict) and obj is not Strict]


def loose_fields(schema_cls):
    from marshmallow import fields, validate

    from shared.fields import Id, Text

    def closed(field):
        return any(isinstance(v, validate.OneOf) for v in field.validators)

    def bounded(field):
        return any(isinstance(v, validate.Length) and v.max is not None for v in field.validators)

    loose = []
    for name, field in schema_cls().fields.items():
        if isinstance(field, fields.List):
            if not bounded(field):
                loose.append(f"{name}: a list without a maximum length")
            field = field.inner
        if isinstance(field, fields.String) and not isinstance(field, (Text, Id)) and not closed(field):
            loose.append(f"{name}: a plain string")
    return loose


def test_every_input_field_is_a_kit_field_or_a_closed_choice():
    from marshmallow import fields

    from shared.fields import Strict

    class Loose(Strict):
        name = fields.Str()
        tags = fields.List(schemas.Text())

    assert loose_fields(Loose) == ["name: a plain string", "tags: a list without a maximum length"]
    assert len(input_schemas()) > 15
    assert {s.__name__: loose_fields(s) for s in input_schemas() if loose_fields(s)} == {}
