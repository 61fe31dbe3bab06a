"""The demo community loads through the service in bulk, with the same validation, once."""

import pytest

from services.registry import demo
from shared.errors import InvalidInput
from shared.events import parse
from tests.integration.registry.conftest import outbox
from tests.integration.registry.helpers import id_number


def test_a_small_demo_community_loads_through_the_service_once(reg, registry_db):
    community = demo.build(seed=3, households=70)
    summary = community.summary()

    loaded = demo.load(reg, community, batch_size=100, log=lambda *_: None)
    again = demo.load(reg, community, log=lambda *_: None)

    assert again is None  # already loaded: a no-op
    for key in ("grids", "households", "residents", "party_units", "party_members", "shareholders",
                "staff", "organisations"):
        assert loaded[key] == summary[key], key
    assert len(outbox(registry_db, "registry.resident_registered")) == summary["residents"]
    assert len(outbox(registry_db, "registry.household_registered")) == summary["households"]
    assert len(outbox(registry_db, "registry.shareholder_enrolled")) == summary["shareholders"]
    tenants = [parse(e).payload for e in outbox(registry_db, "registry.household_registered")
               if e["payload"]["kind"] == "tenant"]
    assert tenants and all(t["landlord_household_id"].startswith("HH-") for t in tenants)
    assert sum(len(reg.get_grid(g["code"])["staff"]) for g in community.grids) == 7 + 7 + 68
    elderly = reg.find_residents({"age_min": 60, "page_size": 1})["total"]
    assert elderly == summary["aged_60_plus"]


def test_a_bad_item_refuses_the_whole_batch_naming_it(reg, grids, registry_db):
    household = reg.register_household({"building": "B21", "room": "1", "kind": "owner"})["household_id"]
    good = {"name": "甲", "id_number": id_number(sequence=1), "household_id": household,
            "residence_type": "registered"}
    with pytest.raises(InvalidInput) as refused:
        reg.import_residents([good, {**good, "name": "乙", "id_number": id_number(sequence=3)[:-1] + "0"},
                              {**good, "name": "丙"}, {**good, "household_id": "HH-G3-09999",
                                                       "id_number": id_number(sequence=5)}])
    assert refused.value.fields == {"items.1.id_number": ["wrong check digit"],
                                    "items.2.id_number": ["listed twice in this batch (item 0)"],
                                    "items.3.household_id": ["unknown household 'HH-G3-09999'"]}
    assert registry_db.residents.count_documents({}) == 0
    assert len(outbox(registry_db, "registry.resident_registered")) == 0
