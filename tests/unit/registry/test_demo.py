"""The demo community generator: deterministic by seed, valid data, realistic shares (small size)."""

from datetime import date

import phonenumbers
import pytest
from stdnum.cn import ric

from services.registry import demo
from shared import personal

TODAY = date(2026, 11, 2)


@pytest.fixture(scope="module")
def community():
    return demo.build(seed=7, households=700, today=TODAY)


def test_same_seed_same_community_other_seed_other(community):
    again = demo.build(seed=7, households=700, today=TODAY)
    other = demo.build(seed=8, households=700, today=TODAY)
    assert again.residents == community.residents and again.households == community.households
    assert again.staff == community.staff and again.shareholders == community.shareholders
    assert other.residents != community.residents


def test_every_id_number_is_valid_unique_and_in_the_past(community):
    numbers = [r["id_number"] for r in community.residents]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        _, birth, _ = personal.parse_id_number(number, TODAY)  # the service's own check
        assert ric.is_valid(number) and birth <= TODAY


def test_phones_are_valid_and_floating_residents_have_dates(community):
    for resident in community.residents:
        if resident.get("phone"):
            assert personal.normalise_phone(resident["phone"])
            assert phonenumbers.is_valid_number(phonenumbers.parse(resident["phone"], "CN"))
        if resident["residence_type"] == "floating":
            assert resident["registered_on"] < resident["expires_on"]
            assert resident["registered_on"] <= TODAY.isoformat()


def test_shape_of_the_community(community):
    summary = community.summary()
    assert summary["grids"] == 7 and summary["households"] == 700
    assert 2.6 <= summary["residents"] / summary["households"] <= 3.3  # ~12,000 in ~4,000 households
    assert 0.12 <= summary["aged_60_plus"] / summary["residents"] <= 0.18
    assert 0.18 <= summary["floating"] / summary["residents"] <= 0.35
    assert summary["party_units"] == 1 + 7 + 14 + 28
    assert summary["staff"] == 7 + 7 + 68 + 4 + 2 + 2 + 3
    assert {o["category"] for o in community.organisations} >= {"hospital", "nanyin", "square_dance", "women"}


def test_references_hold_together(community):
    households = {h["key"]: h for h in community.households}
    residents = {r["key"]: r for r in community.residents}
    grid_of = {b: g["code"] for g in community.grids for b in g["buildings"]}
    for household in community.households:
        assert household["building"] in grid_of
        if household["kind"] == "tenant":
            landlord = households[household["landlord_key"]]
            assert landlord["kind"] == "rented_out" and landlord["building"] == household["building"]
    assert all(r["household_key"] in households for r in community.residents)
    floating_in = {households[r["household_key"]]["kind"] for r in community.residents
                   if r["residence_type"] == "floating"}
    assert floating_in == {"tenant"}  # floating population lives in rented rooms
    assert len({s["resident_key"] for s in community.shareholders}) == len(community.shareholders)
    for member in community.party_members:
        assert residents[member["resident_key"]]["residence_type"] == "registered"
        assert member["branch_code"].startswith(grid_of[households[residents[member["resident_key"]]
                                                                   ["household_key"]]["building"]])


def test_full_size_has_about_12000_residents_and_1981_shareholders():
    community = demo.build(households=4000, today=TODAY)
    summary = community.summary()
    assert 11_000 <= summary["residents"] <= 13_000 and summary["shareholders"] == 1981
    assert len({s["group"] for s in community.shareholders}) == 12
