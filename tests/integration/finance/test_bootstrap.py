"""Finance keeps its own read model of residents; one it never heard of is fetched from the registry."""

from datetime import date

from services.finance.service import FinanceService
from services.registry.service import RegistryService
from tests.integration.finance.conftest import FINANCE_SETTINGS, RegistryEvents
from tests.integration.registry.helpers import GRIDS, id_number
from tests.support import wait_until


def test_a_resident_finance_never_heard_of_is_fetched_from_the_registry(container_factory, config, rpc, fdb,
                                                                         officer):
    registry = container_factory(RegistryService, config)
    registry.start()
    reg = rpc("registry")
    reg.define_grid(GRIDS[0])
    household = reg.register_household({"building": "B11", "unit": "1", "room": "101", "kind": "owner"})
    # registered while finance was not yet listening: finance never hears of her
    resident = reg.register_resident({"name": "林秀英", "id_number": id_number("19600115", 122),
                                      "household_id": household["household_id"],
                                      "residence_type": "registered"})
    container_factory(FinanceService, {**config, "FINANCE": dict(FINANCE_SETTINGS)}).start()
    assert fdb.residents.find_one({"_id": resident["resident_id"]}) is None

    events = RegistryEvents(config["AMQP_URI"])
    events.emit_many("registry.resident_turned_60", [{
        "resident_id": resident["resident_id"], "grid_code": "G1", "birth_date": date(1960, 1, 15)}])
    events.publisher.close()
    known = wait_until(lambda: fdb.residents.find_one({"_id": resident["resident_id"]}), timeout=20,
                       message="finance to fetch the resident from the registry")
    assert (known["birth_date"], known["status"], known["bootstrapped"]) == ("1960-01-15", "active", True)
    assert officer.run_allowances({"month": "2026-11"})["paid_now"] == 1
