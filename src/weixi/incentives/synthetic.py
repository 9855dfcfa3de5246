"""A deterministic month of staff, CRM retention orders and target lists, for tests and the benchmark.

Generated set-based in DuckDB from hashes of the row number (same arguments -> same files), written as
CSV or Parquet. Roughly 8% of orders are secondary cards, 5% have no monthly rent, 3% redo an unexpired
subsidy, 10% are not active 4G-or-newer users (20% are 5G), 15% are for customers who are not broadband-only;
30% of customers are on the month's expiring list. ``bad_rows`` appends rows that must be rejected (unknown
staff, a copy of an order id that differs from it, a malformed date).
"""

from __future__ import annotations

from pathlib import Path

from weixi.incentives.inputs import connect, quote
from weixi.incentives.months import Month

ROLE_MIX = ["clerk"] * 5 + ["grid_manager"] * 2 + ["center_manager", "maintenance_manager", "customer_manager"]


def _h(expr: str, salt: int) -> str:
    """A deterministic pseudo-random integer in [0, 2^31) from ``expr``."""
    return f"CAST(hash({expr}, {salt}) % 2147483647 AS BIGINT)"


def generate(
    out: str | Path,
    staff: int,
    orders: int,
    month: str = "2016-01",
    customers: int | None = None,
    fmt: str = "parquet",
    bad_rows: bool = False,
) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m = Month.parse(month)
    customers = customers or max(orders // 2, 1)
    ext = "parquet" if fmt == "parquet" else "csv"
    option = "(FORMAT PARQUET)" if fmt == "parquet" else "(FORMAT CSV, HEADER)"
    paths = {name: out / f"{name}.{ext}" for name in ("roster", "orders", "targets")}
    roles = "[" + ", ".join(quote(r) for r in ROLE_MIX) + "]"
    days = (m.last - m.first).days + 1
    con = connect()
    try:
        con.execute(f"""COPY (SELECT 'S' || lpad(CAST(i AS VARCHAR), 6, '0') AS staff_id, '员工' || CAST(i AS VARCHAR) AS name,
                   {roles}[1 + {_h("i", 1)} % {len(ROLE_MIX)}] AS role, 'T' || CAST(i // 10 AS VARCHAR) AS team,
                   CASE WHEN i % 2 = 0 THEN 'morning' ELSE 'evening' END AS shift, '2014-01-01' AS hired_on,
                   CAST(NULL AS VARCHAR) AS left_on
            FROM range({staff}) t(i)) TO {quote(str(paths["roster"]))} {option}""")
        con.execute(f"""COPY (SELECT 'C' || CAST(i AS VARCHAR) AS customer_id, {quote(str(m))} AS month,
                   CASE WHEN {_h("i", 2)} % 10 < 3 THEN 'expiring' ELSE 'non_expiring' END AS status
            FROM range({customers}) t(i)) TO {quote(str(paths["targets"]))} {option}""")
        bad = ""
        if bad_rows:
            bad = f"""UNION ALL SELECT 'X1', 'NOBODY', 'phone_for_credit', 'C1', '13900000000', 'primary', '58', '4G', 'true',
                          'false', '{m.first}T09:00:00+08:00', 'true'
                      UNION ALL SELECT 'O0', 'S000000', 'broadband_prepay', 'C2', '', '', '', '', '', '', '{m.first}T09:30:00+08:00', 'true'
                      UNION ALL SELECT 'X2', 'S000001', 'fiber_migration', 'C3', '', '', '', '', '', '', 'yesterday', ''"""
        con.execute(f"""COPY (SELECT * FROM (
            SELECT 'O' || CAST(i AS VARCHAR) AS order_id,
                   'S' || lpad(CAST({_h("i", 3)} % {staff} AS VARCHAR), 6, '0') AS staff_id,
                   CASE WHEN {_h("i", 4)} % 10 < 6 THEN 'phone_for_credit'
                        WHEN {_h("i", 4)} % 10 < 9 THEN 'broadband_prepay' ELSE 'fiber_migration' END AS business,
                   'C' || CAST({_h("i", 5)} % {customers} AS VARCHAR) AS customer_id,
                   '139' || lpad(CAST(i AS VARCHAR), 8, '0') AS number,
                   CASE WHEN {_h("i", 6)} % 100 < 8 THEN 'secondary' ELSE 'primary' END AS card,
                   CASE WHEN {_h("i", 7)} % 100 < 5 THEN '0' ELSE CAST(18 + {_h("i", 8)} % 200 AS VARCHAR) END AS monthly_rent,
                   CASE WHEN {_h("i", 9)} % 100 < 6 THEN '3G' WHEN {_h("i", 9)} % 100 < 26 THEN '5G'
                        ELSE '4G' END AS network,
                   CASE WHEN {_h("i", 10)} % 100 < 4 THEN 'false' ELSE 'true' END AS active,
                   CASE WHEN {_h("i", 11)} % 100 < 3 THEN 'true' ELSE 'false' END AS cancels_unexpired_subsidy,
                   strftime(TIMESTAMP '{m.first} 08:00:00' + INTERVAL ({_h("i", 12)} % {days}) DAY
                            + INTERVAL ({_h("i", 13)} % 43200) SECOND, '%Y-%m-%dT%H:%M:%S') || '+08:00' AS created_at,
                   CASE WHEN {_h("i", 14)} % 100 < 15 THEN 'false' ELSE 'true' END AS broadband_only
            FROM range({orders}) t(i) {bad})) TO {quote(str(paths["orders"]))} {option}""")
    finally:
        con.close()
    return paths
