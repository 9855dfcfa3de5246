"""Incentive statements at scale: 10,000 staff and 2,000,000 CRM retention orders in one month.

``run(workdir, staff, orders)`` generates the month with :mod:`weixi.incentives.synthetic` (Parquet; not
timed), then times the set-based compute of ``plans/examples/retention-2016.yaml`` in DuckDB — validation
and rejections, exclusions, household dedupe, units, cash tiers, one explanation line per counted order
and the per-employee statements — and, as the same-run baseline, a bare DuckDB scan of the orders file
(every column read, ``count(*)`` and ``sum(length(...))`` over them).
"""

from __future__ import annotations

import time
from pathlib import Path

from weixi.incentives import inputs, orders_sql
from weixi.incentives.months import Month
from weixi.incentives.synthetic import generate
from weixi.plans.loader import load_plan

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "plans" / "examples" / "retention-2016.yaml"


def run(workdir: Path, staff: int = 10_000, orders: int = 2_000_000) -> dict:
    paths = generate(workdir, staff, orders, month="2016-01", fmt="parquet", bad_rows=True)
    plan, _ = load_plan(PLAN)
    path = inputs.quote(str(paths["orders"]))
    con = inputs.connect()
    try:
        start = time.perf_counter()
        con.execute(f"""SELECT count(*), sum(length(order_id) + length(staff_id) + length(business) + length(customer_id)
                        + length(number) + length(card) + length(monthly_rent) + length(network) + length(active)
                        + length(cancels_unexpired_subsidy) + length(created_at)) FROM read_parquet({path})""").fetchall()
        scan = time.perf_counter() - start
    finally:
        con.close()
    con = inputs.connect()
    try:
        start = time.perf_counter()
        orders_sql.compute(con, plan, Month.parse("2016-01"), paths["orders"], paths["targets"], paths["roster"])
        summary = con.execute("SELECT count(*), sum(bonus_yuan), sum(kpi_points) FROM statement").fetchone()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM lines), (SELECT count(*) FROM excluded), (SELECT count(*) FROM rejected)"
        ).fetchone()
        compute = time.perf_counter() - start
    finally:
        con.close()
    return {
        "staff": staff,
        "orders": orders + 3,
        "statements": summary[0],
        "bonus_yuan": str(summary[1]),
        "lines": counts[0],
        "excluded": counts[1],
        "rejected": counts[2],
        "compute_seconds": round(compute, 2),
        "orders_per_second": int((orders + 3) / compute),
        "bare_scan_seconds": round(scan, 3),
        "ratio_to_bare_scan": round(compute / scan, 1),
    }
