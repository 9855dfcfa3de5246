"""Input files of the incentive compute: orders, roster and target lists (CSV or Parquet), read by DuckDB.

Column names and the checks every row passes live here; the SQL that applies a plan is in
:mod:`weixi.incentives.orders_sql`. A file that cannot be used at all (missing, unreadable, a required
column absent) raises :class:`InputError`; a bad *order* row is rejected with its row and reason and
the others go on; bad roster or target rows stop the run with every bad row listed, because a wrong
role or target status would silently change other people's money.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from weixi.adapters import duck
from weixi.incentives.roles import ROLES
from weixi.settings import DEFAULT_TIMEZONE

ORDER_COLUMNS = ("order_id", "staff_id", "business", "customer_id", "number", "card", "monthly_rent", "network",
                 "active", "cancels_unexpired_subsidy", "created_at")
ORDER_REQUIRED = ("order_id", "staff_id", "business", "customer_id", "created_at")
ROSTER_COLUMNS = ("staff_id", "name", "role", "team", "shift", "hired_on", "left_on")
ROSTER_REQUIRED = ("staff_id", "role")
TARGET_COLUMNS = ("customer_id", "month", "status")
TARGET_STATUSES = ("expiring", "non_expiring")
TIMEZONE = DEFAULT_TIMEZONE

TRUE_WORDS = ("true", "t", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "f", "0", "no", "n", "否")


class InputError(ValueError):
    """An input file that cannot be used; the message says which file and what to do."""


def quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def connect() -> duckdb.DuckDBPyConnection:
    con = duck.connect()
    con.execute(f"SET TimeZone={quote(TIMEZONE)}")
    return con


def scan(path: str | Path, what: str, columns: tuple[str, ...], required: tuple[str, ...]) -> str:
    """SQL for the file as text columns plus ``row`` (the CSV line, or 1-based Parquet row)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file {path}: no such file")
    if path.is_dir():
        raise InputError(f"{what} file {path}: is a directory")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet:
        source = f"read_parquet({quote(str(path))}, file_row_number=true)"
    else:
        source = f"read_csv({quote(str(path))}, all_varchar=true, header=true, auto_detect=true)"
    try:
        found = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as exc:
        raise InputError(f"{what} file {path}: cannot read it ({_first_line(exc)})") from None
    lower = {c.lower(): c for c in found}
    missing = [c for c in required if c not in lower]
    if missing:
        raise InputError(f"{what} file {path}: missing column(s) {', '.join(missing)}"
                         f" (needs {', '.join(required)}; may also have {', '.join(c for c in columns if c not in required)})")
    cols = [f"NULLIF(trim(CAST({_ident(lower[c])} AS VARCHAR)), '') AS {c}" if c in lower else f"CAST(NULL AS VARCHAR) AS {c}"
            for c in columns]
    row = "file_row_number + 1" if parquet else "row_number() OVER () + 1"
    return f"SELECT CAST({row} AS BIGINT) AS row, {', '.join(cols)} FROM {source}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def boolean_sql(column: str) -> str:
    t = ", ".join(quote(w) for w in TRUE_WORDS)
    f = ", ".join(quote(w) for w in FALSE_WORDS)
    return f"(CASE WHEN lower({column}) IN ({t}) THEN true WHEN lower({column}) IN ({f}) THEN false END)"


def load_roster(con: duckdb.DuckDBPyConnection, path: str | Path | None) -> bool:
    """Create table ``roster`` (staff_id, name, role, team, shift, hired_on, left_on); False when no file."""
    if path is None:
        con.execute("CREATE OR REPLACE TEMP TABLE roster (staff_id VARCHAR, name VARCHAR, role VARCHAR, team VARCHAR,"
                    " shift VARCHAR, hired_on DATE, left_on DATE)")
        return False
    sql = scan(path, "roster", ROSTER_COLUMNS, ROSTER_REQUIRED)
    roles = ", ".join(quote(r) for r in ROLES)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE roster_raw AS
        SELECT *, try_cast(hired_on AS DATE) AS hired, try_cast(left_on AS DATE) AS left_day,
               count(*) OVER (PARTITION BY staff_id) AS copies FROM ({sql})""")
    bad = con.execute(f"""SELECT row, CASE
            WHEN staff_id IS NULL THEN 'staff_id: missing'
            WHEN copies > 1 THEN 'staff_id: ' || staff_id || ' is listed more than once'
            WHEN role IS NULL THEN 'role: missing'
            WHEN role NOT IN ({roles}) THEN 'role: unknown role ' || role || ' (known: {", ".join(ROLES)})'
            WHEN hired_on IS NOT NULL AND hired IS NULL THEN 'hired_on: not a date YYYY-MM-DD: ' || hired_on
            WHEN left_on IS NOT NULL AND left_day IS NULL THEN 'left_on: not a date YYYY-MM-DD: ' || left_on
            END AS reason FROM roster_raw ORDER BY row""").fetchall()
    bad = [(row, reason) for row, reason in bad if reason]
    if bad:
        shown = "; ".join(f"row {row}: {reason}" for row, reason in bad[:20])
        more = f" (and {len(bad) - 20} more)" if len(bad) > 20 else ""
        raise InputError(f"roster file {path}: {len(bad)} bad row(s): {shown}{more}. Fix the roster and run again;"
                         " nothing was computed")
    con.execute("""CREATE OR REPLACE TEMP TABLE roster AS SELECT staff_id, name, role, team, shift,
                   hired AS hired_on, left_day AS left_on FROM roster_raw""")
    return True


def load_targets(con: duckdb.DuckDBPyConnection, path: str | Path | None, month: str) -> None:
    """Create table ``expiring`` (customer_id): the month's expiring targets."""
    if path is None:
        con.execute("CREATE OR REPLACE TEMP TABLE expiring (customer_id VARCHAR)")
        return
    sql = scan(path, "targets", TARGET_COLUMNS, TARGET_COLUMNS)
    statuses = ", ".join(quote(s) for s in TARGET_STATUSES)
    bad = con.execute(f"""SELECT row, CASE
            WHEN customer_id IS NULL THEN 'customer_id: missing'
            WHEN month IS NULL OR NOT regexp_full_match(month, '\\d{{4}}-(0[1-9]|1[0-2])') THEN 'month: expected YYYY-MM, got ' || coalesce(month, 'nothing')
            WHEN status IS NULL OR lower(status) NOT IN ({statuses}) THEN 'status: expected expiring or non_expiring, got ' || coalesce(status, 'nothing')
            END AS reason FROM ({sql}) ORDER BY row""").fetchall()
    bad = [(row, reason) for row, reason in bad if reason]
    if bad:
        shown = "; ".join(f"row {row}: {reason}" for row, reason in bad[:20])
        raise InputError(f"targets file {path}: {len(bad)} bad row(s): {shown}. Fix the target list and run again;"
                         " nothing was computed")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE expiring AS SELECT DISTINCT customer_id FROM ({sql})
                    WHERE month = {quote(month)} AND lower(status) = 'expiring'""")
