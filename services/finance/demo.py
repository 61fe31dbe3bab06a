"""The demo economy: the cooperative's property, enterprises and a year of income, loaded through
finance's RPCs as its officer would, and a dividend run for every shareholder, previewed and
waiting for a second person's approval.

    python -m services.finance.demo --load       (make run does it, after the registry's demo)
    python -m services.finance.demo --summary

Sized like the seed: leases over 63,000 m² of collective property, five self-run and four
invested enterprises and the bank shares, about 25.2 M yuan of income in the demo year.
"""

import argparse
import sys
import time

from shared.loading import again_if_busy, client_config, each

YEAR = 2025  # the full demo year; leases run on into the current one
OFFICER = {"id": "ST-DEMO-FIN1", "role": "finance_officer"}
GROUPS = [f"第{n}组" for n in range(1, 13)]

# (prefix, kind, name, count, m² each, monthly rent per m² in fen)
PROPERTY = [
    ("F", "floor", "标准厂房", 40, 1_200, 1_500),
    ("S", "shop", "临街商铺", 60, 160, 2_500),
    ("O", "office", "办公楼层", 6, 500, 2_000),
    ("P", "parking", "停车场(200个车位)", 1, 2_400, 2_500),
]
# (id, name, kind, yearly profit in yuan); the bank's line is its dividend on ~10 M shares
ENTERPRISES = [
    ("E-01", "阳光物业管理有限公司", "self_run", 2_100_000),
    ("E-02", "阳光保洁服务公司", "self_run", 640_000),
    ("E-03", "阳光仓储物流公司", "self_run", 1_580_000),
    ("E-04", "阳光餐饮服务公司", "self_run", 720_000),
    ("E-05", "阳光停车运营公司", "self_run", 500_000),
    ("E-06", "晋江某鞋业股份(参股)", "invested", 1_350_000),
    ("E-07", "某纺织有限公司(参股)", "invested", 820_000),
    ("E-08", "某建材有限公司(参股)", "invested", 530_000),
    ("E-09", "某商贸有限公司(参股)", "invested", 300_000),
    ("E-BANK", "农村商业银行股份(约1000万股)", "bank_shares", 3_500_000),
]
OTHER_INCOME_YUAN = 200_000  # advertising boards, venue hire
DIVIDEND_POOLS_YUAN = {"community": 12_500_000, "group": 350_000}  # per group
LATE_TENANTS = {"T-0007": 3, "T-0023": 2, "T-0051": 1, "T-0088": 4}  # months unpaid at the end
STATEMENT_LINES = 1000


def build():
    units, leases = [], []
    for prefix, kind, name, count, area, per_m2 in PROPERTY:
        for n in range(1, count + 1):
            unit_id = f"U-{prefix}{n:02d}"
            units.append({"unit_id": unit_id, "kind": kind, "name": f"{name}{n}号", "area_m2": area})
            tenant = f"T-{len(leases) + 1:04d}"
            leases.append(
                {
                    "lease_id": f"L-{prefix}{n:02d}",
                    "unit_id": unit_id,
                    "tenant_id": tenant,
                    "tenant_name": f"租户{tenant[2:]}",
                    "monthly_rent_fen": area * per_m2,
                    "start_month": f"{YEAR}-01",
                    "months": 36,
                    "deposit_fen": 2 * area * per_m2,
                    "escalation_bp": 300,
                }
            )
    return {"units": units, "leases": leases}


def summary(plan=None):
    plan = plan or build()
    rent = sum(lease["monthly_rent_fen"] * 12 for lease in plan["leases"])
    enterprises = sum(e[3] for e in ENTERPRISES) * 100
    income = rent + enterprises + OTHER_INCOME_YUAN * 100
    return {
        "units": len(plan["units"]),
        "area_m2": sum(u["area_m2"] for u in plan["units"]),
        "enterprises": sum(1 for e in ENTERPRISES if e[2] != "bank_shares"),
        "year": YEAR,
        "income_fen": income,
    }


def months(until):
    year, month = YEAR, 1
    while (year, month) <= (until.year, until.month):
        yield f"{year}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _call(method, payload):
    return again_if_busy(lambda: method(payload))


def payments(plan, today):
    """The tenants' deposits, then their rents month by month (the late tenants' last months
    unpaid): the bank statements the officer imports."""
    deposits = [
        {
            "payment_id": f"PAY-DEP-{lease['lease_id']}",
            "source": "deposit",
            "payer": lease["tenant_id"],
            "amount_fen": lease["deposit_fen"],
            "reference": f"DEP-{lease['lease_id']}",
        }
        for lease in plan["leases"]
    ]
    rents, all_months = [], list(months(today))
    for lease in plan["leases"]:
        late = LATE_TENANTS.get(lease["tenant_id"], 0)
        for month in all_months[: len(all_months) - late]:
            invoice = f"INV-{lease['lease_id']}-{month}"
            rents.append(
                {
                    "payment_id": f"PAY-{invoice}",
                    "source": "rent",
                    "payer": lease["tenant_id"],
                    "amount_fen": _rent(lease, month),
                    "reference": invoice,
                }
            )
    return deposits, rents


def statements(rents):
    """The rents as bank statements, a thousand lines each."""
    return [rents[start : start + STATEMENT_LINES] for start in range(0, len(rents), STATEMENT_LINES)]


def size(today):
    """How many calls `load` reports progress on."""
    plan = build()
    _, rents = payments(plan, today)
    # units, leases, a month's invoices each, the deposits, the statements, each enterprise
    # registered and its income booked, the other income, the dividend preview
    return (len(plan["units"]) + len(plan["leases"]) + len(list(months(today))) + 1
            + len(statements(rents)) + 2 * len(ENTERPRISES) + 2)


def load(finance, today, log=print, wait_seconds=600, progress=None):
    """Load the demo economy through `finance` (an RPC proxy acting as its officer).
    `progress(n)` is told of every n calls answered, `size(today)` in all."""
    started = time.monotonic()
    advance = progress or (lambda n: None)

    def call(method, payload):
        result = _call(method, payload)
        advance(1)
        return result

    if finance.stats()["units"]:
        log("already loaded")
        return None
    plan = build()
    each(finance.register_unit, plan["units"], progress=lambda _result: advance(1))
    each(finance.sign_lease, plan["leases"], progress=lambda _result: advance(1))
    for month in months(today):
        call(finance.raise_invoices, {"month": month})
    deposits, rents = payments(plan, today)
    call(finance.import_payments, {"payments": deposits})
    for statement in statements(rents):
        call(finance.import_payments, {"payments": statement})
    for enterprise_id, name, kind, _ in ENTERPRISES:
        call(finance.register_enterprise, {"enterprise_id": enterprise_id, "name": name, "kind": kind})
    for enterprise_id, _, _, profit in ENTERPRISES:
        call(
            finance.record_enterprise_income,
            {
                "entry_id": f"EI-{enterprise_id}-{YEAR}",
                "enterprise_id": enterprise_id,
                "period": str(YEAR),
                "amount_fen": profit * 100,
                "booked_on": f"{YEAR}-12-31",
            },
        )
    call(
        finance.post_transfer,
        {
            "entry_id": f"OTHER-{YEAR}",
            "code": "other_income",
            "debit": "community/bank",
            "credit": "community/income_other",
            "amount_fen": OTHER_INCOME_YUAN * 100,
            "booked_on": f"{YEAR}-12-31",
        },
    )
    # the dividend run is the one part built on the community: its shareholders, from the registry
    shareholders = _wait_for_shareholders(finance, log, wait_seconds)
    run = call(
        finance.preview_dividends,
        {
            "year": YEAR,
            "community_fen": DIVIDEND_POOLS_YUAN["community"] * 100,
            "groups_fen": {g: DIVIDEND_POOLS_YUAN["group"] * 100 for g in shareholders["groups"]},
        },
    )
    income = finance.income_report({"year": YEAR})
    log(
        f"loaded in {time.monotonic() - started:.1f} s: {len(plan['units'])} units, "
        f"{summary(plan)['area_m2']:,} m² leased, income {YEAR} {income['total_yuan']} yuan, "
        f"dividend run {run['run_id']} for {run['shareholders']} shareholders ({run['total_yuan']} yuan) "
        "waiting for approval"
    )
    return {"run": run, "income": income}


def _rent(lease, month):
    from services.finance import domain

    return domain.rent_for(lease, domain.month_start(month))


def _wait_for_shareholders(finance, log, wait_seconds):
    """Finance learns shareholders from the registry's events: wait until their number settles."""
    deadline, last, stable_since = time.monotonic() + wait_seconds, -1, time.monotonic()
    while time.monotonic() < deadline:
        stats = finance.stats()
        if stats["shareholders"] != last:
            last, stable_since = stats["shareholders"], time.monotonic()
        elif last > 0 and time.monotonic() - stable_since > 5:
            log(f"{last} shareholders known")
            return stats
        time.sleep(1)
    raise SystemExit("[finance demo] the registry's shareholders never reached finance")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args(argv)
    print(summary())
    if args.load:
        import eventlet

        eventlet.monkey_patch()
        from nameko.standalone.rpc import ClusterRpcProxy

        from shared import clock

        config = client_config()
        with ClusterRpcProxy(config, timeout=600, context_data={"actor": OFFICER}) as cluster:
            load(cluster.finance, clock.today(), log=lambda line: print(f"[finance demo] {line}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
