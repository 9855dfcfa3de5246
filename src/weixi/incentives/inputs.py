"""Input files of the incentive compute: orders, roster and target lists (CSV or Parquet), read by DuckDB.

Column names and the checks every row passes live here; the SQL that applies a plan is in
:mod:`weixi.incentives.orders_sql`. A file that cannot be used at all (missing, unreadable, a required
column absent) raises :class:`InputError`; a bad *order* row is rejected with its row and reason and
the others go on; bad roster or target rows stop the run with every bad row listed (``problems``: a coded
:class:`~weixi.errors.Problem` per row, with its file, row and column), because a wrong role or target status
would silently change other people's money. The DuckDB session's timezone (the day of an order's time) is the
one :func:`connect` is given: the plan's, else :data:`weixi.settings.DEFAULT_TIMEZONE`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from weixi.adapters import duck
from weixi.errors import Problem, Where
from weixi.incentives.errors import IncentiveInvalid
from weixi.incentives.roles import ALIASES, ROLES
from weixi.settings import DEFAULT_TIMEZONE

ORDER_COLUMNS = (
    "order_id",
    "staff_id",
    "business",
    "customer_id",
    "number",
    "card",
    "monthly_rent",
    "network",
    "active",
    "cancels_unexpired_subsidy",
    "created_at",
    "broadband_only",
)
ORDER_REQUIRED = ("order_id", "staff_id", "business", "customer_id", "created_at")
ROSTER_COLUMNS = ("staff_id", "name", "role", "team", "shift", "hired_on", "left_on")
ROSTER_REQUIRED = ("staff_id", "role")
TARGET_COLUMNS = ("customer_id", "month", "status")
TARGET_STATUSES = ("expiring", "non_expiring")

TRUE_WORDS = ("true", "t", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "f", "0", "no", "n", "否")


class InputError(IncentiveInvalid, ValueError):
    """An input file that cannot be used; the message says which file and what to do, ``problems`` which rows."""

    def __init__(self, code: str, /, problems: list[Problem] | None = None, **params):
        super().__init__(code, None, **params)
        self.problems = list(problems or [])


def quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def connect(timezone: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB session whose day boundaries are those of ``timezone`` (an IANA name; default
    :data:`weixi.settings.DEFAULT_TIMEZONE`, for inputs that name no plan)."""
    con = duck.connect()
    con.execute(f"SET TimeZone={quote(timezone or DEFAULT_TIMEZONE)}")
    return con


def scan(path: str | Path, what: str, columns: tuple[str, ...], required: tuple[str, ...]) -> str:
    """SQL for the file as text columns plus ``row`` (the CSV line, or 1-based Parquet row)."""
    path = Path(path)
    if not path.exists():
        raise InputError("incentive_input_missing", input=what, path=str(path))
    if path.is_dir():
        raise InputError("incentive_input_is_directory", input=what, path=str(path))
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet:
        source = f"read_parquet({quote(str(path))}, file_row_number=true)"
    else:
        source = f"read_csv({quote(str(path))}, all_varchar=true, header=true, auto_detect=true)"
    try:
        found = [r[0] for r in duck.rows(f"DESCRIBE SELECT * FROM {source}")]
    except duckdb.Error as exc:
        raise InputError("incentive_input_unreadable", input=what, path=str(path), detail=_first_line(exc)) from None
    lower = {c.lower(): c for c in found}
    missing = [c for c in required if c not in lower]
    if missing:
        optional = [c for c in columns if c not in required]
        raise InputError(
            "incentive_input_missing_columns",
            input=what,
            path=str(path),
            missing=missing,
            required=list(required),
            optional=optional,
        )
    cols = [
        f"NULLIF(trim(CAST({_ident(lower[c])} AS VARCHAR)), '') AS {c}"
        if c in lower
        else f"CAST(NULL AS VARCHAR) AS {c}"
        for c in columns
    ]
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
        con.execute(
            "CREATE OR REPLACE TEMP TABLE roster (staff_id VARCHAR, name VARCHAR, role VARCHAR, team VARCHAR,"
            " shift VARCHAR, hired_on DATE, left_on DATE)"
        )
        return False
    sql = scan(path, "roster", ROSTER_COLUMNS, ROSTER_REQUIRED)
    roles = ", ".join(quote(r) for r in (*ROLES, *ALIASES))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE roster_raw AS
        SELECT *, try_cast(hired_on AS DATE) AS hired, try_cast(left_on AS DATE) AS left_day,
               count(*) OVER (PARTITION BY staff_id) AS copies FROM ({sql})""")
    bad = con.execute(f"""SELECT row, CASE
            WHEN staff_id IS NULL THEN ['incentive_field_missing', 'staff_id', NULL]
            WHEN copies > 1 THEN ['incentive_staff_listed_twice', 'staff_id', staff_id]
            WHEN role IS NULL THEN ['incentive_field_missing', 'role', NULL]
            WHEN role NOT IN ({roles}) THEN ['incentive_unknown_role', 'role', role]
            WHEN hired_on IS NOT NULL AND hired IS NULL THEN ['incentive_field_not_a_date', 'hired_on', hired_on]
            WHEN left_on IS NOT NULL AND left_day IS NULL THEN ['incentive_field_not_a_date', 'left_on', left_on]
            END AS problem FROM roster_raw ORDER BY row""").fetchall()
    problems = [_problem(path, row, *found) for row, found in bad if found]
    if problems:
        _refuse("incentive_roster_bad_rows", path, problems, limit=20)
    aliases = " ".join(f"WHEN {quote(a)} THEN {quote(r)}" for a, r in ALIASES.items())
    con.execute(f"""CREATE OR REPLACE TEMP TABLE roster AS SELECT staff_id, name,
                   CASE role {aliases} ELSE role END AS role, team, shift,
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
            WHEN customer_id IS NULL THEN ['incentive_field_missing', 'customer_id', NULL]
            WHEN month IS NULL THEN ['incentive_target_month_missing', 'month', NULL]
            WHEN NOT regexp_full_match(month, '\\d{{4}}-(0[1-9]|1[0-2])') THEN ['incentive_target_bad_month', 'month', month]
            WHEN status IS NULL THEN ['incentive_target_status_missing', 'status', NULL]
            WHEN lower(status) NOT IN ({statuses}) THEN ['incentive_target_bad_status', 'status', status]
            END AS problem FROM ({sql}) ORDER BY row""").fetchall()
    problems = [_problem(path, row, *found) for row, found in bad if found]
    if problems:
        _refuse("incentive_targets_bad_rows", path, problems)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE expiring AS SELECT DISTINCT customer_id FROM ({sql})
                    WHERE month = {quote(month)} AND lower(status) = 'expiring'""")


_PARAM = {"incentive_staff_listed_twice": "staff", "incentive_unknown_role": "role"}


def _problem(path, row: int, code: str, field: str, value: str | None) -> Problem:
    """A bad row of an input file as a coded problem, located at its file, row and column."""
    params: dict = {"field": field}
    if code == "incentive_unknown_role":
        params["known"] = list(ROLES)
    if value is not None:
        params[_PARAM.get(code, "value")] = value
    return Problem(code, params, Where(file=str(path), row=row, field=field))


def _refuse(code: str, path, problems: list[Problem], limit: int | None = None) -> None:
    """Stop the run on bad rows: every bad row is in ``problems``; the sentence shows the first ``limit``."""
    from weixi.messages import render

    shown = problems[:limit] if limit else problems
    rows = "; ".join(f"row {p.where.row}: {render(p, 'en')}" for p in shown)
    more = f" (and {len(problems) - limit} more)" if limit and len(problems) > limit else ""
    raise InputError(code, problems, path=str(path), count=len(problems), rows=rows, more=more)
