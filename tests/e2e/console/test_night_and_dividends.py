"""The console's night-market view and dividend run, in a real browser against the real market
and finance services: the market office sees tonight by zone; a dividend run previewed by one
person (the maker) is approved by another (the checker), paid, and read per shareholder."""

from datetime import timedelta

import pytest

from services.gateway.console import views
from shared import clock
from tests.integration.market.conftest import RULE_BOOK, id_number
from tests.support import wait_until

pytestmark = pytest.mark.timeout(240)


def test_the_market_office_sees_tonight_by_zone_with_attendance_violations_footfall_and_takings(
        login, platform, as_actor):
    today = views.local_day(clock.now())
    office = as_actor({"id": "MO-1", "role": "market_officer"}).market
    stalls = [{"zone": zone, "number": n, "kind": "goods", "size_m2": 6, "power": True, "water": False}
              for zone, count in (("A", 4), ("B", 3)) for n in range(1, count + 1)]
    office.lay_out_stalls({"stalls": stalls})
    licence = {"expires_on": (today + timedelta(days=365)).isoformat()}
    holders = {}
    for n, stall in enumerate(("S-A001", "S-A002", "S-A003", "S-B001", "S-B002")):
        vendor = office.register_vendor({"name": f"摊主{n}", "id_number": id_number(),
                                         "phone": f"1391235{n:04d}", "goods_category": "goods",
                                         "business_licence": {"number": f"BL-C{n}", **licence}})["vendor_id"]
        office.allocate_stall({"mode": "direct", "stall_id": stall, "vendor_id": vendor,
                               "term_start": today.isoformat(),
                               "term_end": (today + timedelta(days=300)).isoformat()})
        holders[stall] = vendor
    book = office.propose_rules({**RULE_BOOK, "effective_on": today.isoformat(), "emergency": True})
    office.publish_rules({"rule_book_id": book["rule_book_id"]})
    night = office.open_night({"date": today.isoformat()})["night_id"]
    for stall in ("S-A001", "S-A002", "S-B001"):
        office.check_in({"night_id": night, "stall_id": stall})
    for gate, count in (("north", 1200), ("south", 800)):
        office.record_footfall({"night_id": night, "gate": gate, "count": count})
    for stall, fen in (("S-A001", 123456), ("S-B001", 50000)):
        office.report_takings({"night_id": night, "vendor_id": holders[stall], "takings_fen": fen})
    rounds = as_actor({"id": "IN-1", "role": "inspector"}).market
    inspection = rounds.start_inspection({"night_id": night})["inspection_id"]
    for stall, kind, what in (("S-A002", "beyond_stall_line", "货架超出摊位线半米"),
                              ("S-B001", "unsorted_waste", "收摊垃圾未分类")):
        rounds.record_violation({"inspection_id": inspection, "stall_id": stall, "violation_type": kind,
                                 "description": what})

    page = login("market_officer")
    shown = page.goto("/console/night")
    assert shown["status"] == 200  # tonight, by default
    assert page.text("#attendance") == "3 / 5"
    assert page.text("#footfall") == "2000"
    assert page.text("#takings") == "¥1,734.56"
    assert page.text("#violation-count") == "2"
    assert page.texts("#zones .zone .present-count") == ["2", "1"]
    stalls = dict(zip(page.attrs("#zones .stall", "data-stall"), page.attrs("#zones .stall", "class"),
                      strict=True))
    assert stalls["S-A001"] == "stall present" and stalls["S-A003"] == "stall absent"
    assert stalls["S-A004"] == "stall vacant" and stalls["S-B002"] == "stall absent"
    assert sorted(page.attrs("#violations tr.violation", "data-stall")) == ["S-A002", "S-B001"]
    assert "超出摊位线" in page.text("#violations")
    page.screenshot("night-market")

    assert page.goto("/console/night?date=2001-01-01")["status"] == 200
    assert page.count("#no-night") == 1  # no market that night: said, not an error

    inspector = login("inspector")  # the night's figures are the office's (market's policy)
    inspector.goto("/console/night")
    assert inspector.count("#refused") == 1


def test_a_dividend_run_previewed_by_a_maker_is_approved_by_a_checker_paid_and_stated(
        login, platform, admin, community):
    for grid, group, shares in (("G1", "ZU-1", 2), ("G2", "ZU-2", 3)):
        admin.ok("POST", "/v1/shareholders", json={"resident_id": community.resident[grid], "group": group,
                                                   "shares": shares})
    maker = login("finance_officer")

    def finance_knows_both():  # finance learns shareholders from the registry's events
        maker.goto("/console/dividends?year=2026")
        return maker.text("#known-shareholders") == "2"

    wait_until(finance_knows_both, timeout=30)
    assert maker.count("#no-run") == 1
    maker.fill("input[name=community_yuan]", "10,000")
    maker.fill("input[name='group:ZU-1']", "500")
    maker.fill("input[name='group:ZU-2']", "300.50")
    maker.click("#preview")
    assert maker.text("#run-status") == "待审核"
    assert maker.text("#run-total") == "¥10,800.50"
    assert maker.count("#approve") == 0 and maker.count("#pay") == 0  # the maker may not approve
    assert maker.count("#awaiting") == 1
    maker.screenshot("dividend-preview")

    checker = login("finance_approver")
    checker.goto("/console/dividends?year=2026")
    assert checker.count("#preview-form") == 0  # previewing is the maker's
    assert checker.text("#maker") == maker.name
    checker.click("#approve")
    assert checker.text("#run-status") == "已审核"
    assert checker.text("#approver") == checker.name
    checker.click("#pay")

    def paid():  # the page follows the payment by itself (it refreshes); look again until done
        checker.goto("/console/dividends?year=2026")
        return checker.attrs("#run", "data-status") == ["paid"]

    wait_until(paid, timeout=60)
    assert checker.text("#progress") == "2 / 2"
    assert checker.texts("#lines .line-status") == ["已发", "已发"]
    checker.screenshot("dividend-run")

    shown = [text.strip() for text in checker.texts("#lines tr.line td:nth-child(7)")]
    amounts = dict(zip(checker.attrs("#lines tr.line", "data-shareholder"), shown, strict=True))
    assert sorted(amounts.values()) == ["¥4,500.00", "¥6,300.50"]  # 10,000 over 2:3, and each group's pool
    first = sorted(amounts)[0]
    checker.click(f"#lines tr.line[data-shareholder='{first}'] a.statement")
    assert checker.text("#paid-total") == amounts[first]
    checker.screenshot("dividend-statement")

    admin_page = login("community_admin")  # the books' reader sees the run, not the statements
    admin_page.goto("/console/dividends?year=2026")
    assert admin_page.attrs("#run", "data-status") == ["paid"]
    assert admin_page.count("#lines a.statement") == 0 and admin_page.count("#approve, #pay, #preview") == 0
