"""What the close needs from the ledger (SQLite or PostgreSQL), as Arrow tables.

With lake months (``WEIXI_LEDGER_STORE=lake``) the points earned, the members' balances and the month's totals add
the lake's rows no fold has brought into the SQL ledger yet: a member's SQL balance counts the SQL ledger's lots only
(:mod:`weixi.ledger.fold`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import duck, ledger_repo
from weixi.adapters.db import sqlite_file
from weixi.adapters.sql import execute, executemany
from weixi.close import lake_carry, lake_sums
from weixi.close.ledger_proc import update_later, update_sqlite
from weixi.close.ledger_read import FETCH, ledger_arrow, ledger_arrows, ledger_arrows_later
from weixi.close.months import first_day, next_month
from weixi.ledger import fold, fold_read

FOLDS = (
    "SELECT member_id, month FROM ledger_folds",
    [],
    fold.MARKS,
)


def _unfolded(engine: Engine, con, month: str | None = None, folds: pa.Table | None = None) -> tuple | None:
    """Views ``lake_accruals`` and ``lake_expired`` in the DuckDB ``con``: the lake's rows no fold has brought
    into the SQL ledger (what the ledger's totals lack); the watermark read (:func:`weixi.ledger.fold.watermark`:
    the months, the lake folder, the Delta version) or None when the ledger has no lake months. With ``month``
    only the files that can hold its days are read: the accrual partitions whose key can hold a day of the month
    (:func:`weixi.ledger.fold.keys_holding`) and the expiry runs on or after its first day; the caller still
    selects the rows by their ``day`` / ``expires_on``. ``folds``: the members' fold marks (:data:`FOLDS`) when
    the caller read them in the transaction that read the SQL figures they complete: a fold moves a member's points
    from the lake to SQL in one transaction, so marks read apart from the balances could count them twice or not at
    all."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        months, lake_dir, version = fold.watermark(conn)
        expiries = fold.applied_expiries(conn)
        if folds is None and months:
            rows = execute(conn, FOLDS[0])
            folds = fold.marks_table(rows)
    if not months:
        return None
    con.register("lake_folds", folds)
    acc = fold.lake_sql(lake_dir, version, fold.keys_holding(months, month) if month else months, "")
    exp = fold.expiries_sql(lake_dir, expiries, since=first_day(month) if month else None)
    unfolded = fold.unfolded_join(folds.num_rows)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW lake_accruals AS SELECT a.* FROM ({acc}) a {unfolded}"
        if acc
        else "CREATE OR REPLACE TEMP VIEW lake_accruals AS SELECT NULL::VARCHAR AS member_id, NULL::DATE AS day, "
        "NULL::BIGINT AS earned WHERE false"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW lake_expired AS SELECT a.* FROM ({exp}) a {unfolded}"
        if exp
        else "CREATE OR REPLACE TEMP VIEW lake_expired AS SELECT NULL::VARCHAR AS lot_id, NULL::VARCHAR AS member_id, "
        "NULL::VARCHAR AS month, NULL::DATE AS expires_on, NULL::BIGINT AS points WHERE false"
    )
    return months, lake_dir, version


POINTS_SCHEMA = pa.schema([("member_id", pa.string()), ("points_earned", pa.int64())])
BALANCES = (
    "SELECT member_id, balance, debt, tier FROM members",
    [],
    pa.schema(
        [
            ("member_id", pa.string()),
            ("points_balance", pa.int64()),
            ("points_debt", pa.int64()),
            ("ledger_tier", pa.string()),
        ]
    ),
)


def _journal_points(month: str) -> tuple[str, list, pa.Schema]:
    start, end = first_day(month), first_day(next_month(month))
    return (
        "SELECT member_id, sum(points) FROM journal WHERE kind = 'earn' AND day >= ? AND day < ? GROUP BY member_id",
        [start, end],
        POINTS_SCHEMA,
    )


def points_earned(engine: Engine, month: str) -> pa.Table:
    """Points earned in ``month`` per member: the SQL journal's and the lake's unfolded accruals'."""
    return _with_lake_points(engine, month, ledger_arrow(engine, *_journal_points(month)))


def points_and_balances(engine: Engine, month: str, default_tier: str | None = None) -> tuple[pa.Table, pa.Table]:
    """:func:`points_earned` and :func:`balances`, the ledger read once (one child process on SQLite) and the lake's
    unfolded rows once.

    ``default_tier`` given (the close's snapshot, with the plan's default tier): :func:`close_ledger`'s tables, the
    balances of only the members whose balance over both stores, debt or ledger tier differ from 0, 0 and
    ``default_tier``; a member left out has those."""
    con = duck.connect()
    try:
        if default_tier is not None:
            close_ledger(engine, con, month, default_tier)
            return (
                con.execute("SELECT * FROM ledger_points").fetch_arrow_table().cast(POINTS_SCHEMA),
                con.execute("SELECT * FROM close_balances").fetch_arrow_table().cast(BALANCES[2]),
            )
        points, held, folds = ledger_arrows(engine, [_journal_points(month), BALANCES, FOLDS])
        if not _unfolded(engine, con, month, folds=folds):  # the marks of the balances' transaction
            return points, held
        points = _lake_points(con, month, points)  # the partitions that can hold the month's days
        _unfolded(engine, con, folds=folds)  # then every unfolded partition
        return points, _lake_balances(con, held)
    finally:
        con.close()


def close_ledger_read(
    engine: Engine, month: str, default_tier: str, also: list[tuple[str, list, pa.Schema]] = ()
) -> Callable[[], list[pa.Table]]:
    """:func:`close_ledger`'s read of the SQL ledger, started now (on SQLite the ledger process reads while the
    caller works on), with the queries ``also`` (their tables follow its three); pass the function returned to
    :func:`close_ledger`, which takes the answer."""
    return ledger_arrows_later(engine, [_journal_points(month), _balances_set(default_tier), FOLDS, *also])


def close_ledger(engine: Engine, con, month: str, default_tier: str, tables: list[pa.Table] | None = None) -> None:
    """The close's read of the ledger, made in its DuckDB ``con`` (no Arrow copy out and back of two tables of
    10,000,000 rows at 10,000,000 members): table ``ledger_points`` (the month's points earned per member, SQL and
    unfolded lake rows; the lake's from the carry, :mod:`weixi.close.lake_carry`) and temp table ``close_balances``
    (:data:`BALANCES`' columns) of the members whose balance over both stores, debt or ledger tier are not 0, 0,
    ``default_tier`` (so at 10,000,000 members about 176,000 SQL rows are read, not every one); and table
    ``close_ledger_tiers`` (member_id, ledger_tier) of those SQL rows: a member it lacks has the default tier in
    the ledger. ``tables``: the answer of the read :func:`close_ledger_read` started (else it is read now)."""
    points, held, folds = (tables or close_ledger_read(engine, month, default_tier)())[:3]
    con.register("sql_tiers", held.select(["member_id", "ledger_tier"]))
    con.execute(
        "CREATE OR REPLACE TABLE close_ledger_tiers AS SELECT member_id, nullif(ledger_tier, '') AS ledger_tier "
        "FROM sql_tiers"
    )
    con.unregister("sql_tiers")
    try:
        if not _unfolded(engine, con, month, folds=folds):
            con.register("sql_points", points)
            con.execute(
                "CREATE OR REPLACE TABLE ledger_points AS SELECT member_id, CAST(points_earned AS BIGINT) AS "
                "points_earned FROM sql_points"
            )
            con.register("sql_balances", held)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE close_balances AS "
                "SELECT * REPLACE (nullif(ledger_tier, '') AS ledger_tier) FROM sql_balances"
            )
            return
        fused = _carried(engine, con, month) == "carried+month"
        _lake_points(con, month, points, "lake_month_points" if fused else None, into="ledger_points")
        _lake_balances(con, held, default_tier, "lake_points", into="close_balances")
    finally:  # the views and tables it made on the way, and the Arrow tables it registered
        for name in ("lake_month_points", "lake_accruals", "lake_expired"):
            con.execute(f"DROP VIEW IF EXISTS {name}")
        for name in ("lake_points", "lake_carry_new", "lake_carry_changed"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        for name in ("sql_points", "sql_balances", "lake_folds"):
            con.unregister(name)  # not registered: nothing


def _carried(engine: Engine, con, month: str) -> str:
    """Table ``lake_points`` in ``con``: each member's unfolded lake points at the marks in ``lake_folds``, built on
    the last close's (:mod:`weixi.close.lake_carry`); how (``carried``, ``summed``, or ``carried+month``: table
    ``lake_month_points`` holds the month's unfolded points earned too)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        months, lake_dir, version = fold.watermark(conn)
        expiries = fold.applied_expiries(conn)
    acc = lake_carry.accrual_files(lake_dir, version, months)
    holding = set(fold.keys_holding(months, month))
    month_files = [f for f in acc if lake_carry.key_of(f) in holding]
    return lake_carry.points(con, lake_dir, month, acc, lake_carry.expiry_files(lake_dir, expiries), month_files)


def _balances_set(default_tier: str) -> tuple[str, list, pa.Schema]:
    """:data:`BALANCES` of the members whose balance, debt or tier is not 0, 0, ``default_tier`` (the tier as '' for
    none: ADBC's SQLite types a column by its first values, which may be the NULL tiers here)."""
    return (
        "SELECT member_id, balance, debt, coalesce(tier, '') FROM members "
        "WHERE balance <> 0 OR debt <> 0 OR tier IS NULL OR tier <> ?",
        [default_tier],
        BALANCES[2],
    )


def _with_lake_points(engine: Engine, month: str, sql: pa.Table) -> pa.Table:
    con = duck.connect()
    try:
        return _lake_points(con, month, sql) if _unfolded(engine, con, month) else sql
    finally:
        con.close()


def _lake_points(con, month: str, sql: pa.Table, summed: str | None = None, into: str | None = None) -> pa.Table | None:
    """``sql`` (the SQL journal's points earned in ``month`` per member) with the lake's unfolded rows of the month
    (the views of :func:`_unfolded` in ``con``), or with table ``summed`` (member_id, points_earned) that holds
    their sums per member already. ``into``: made as table ``into`` of ``con`` instead (None returned)."""
    start, end = first_day(month), first_day(next_month(month))
    con.register("sql_points", sql)
    query = (
        # one row per member already: joined with the SQL's few (the hash table on those), not grouped again
        "SELECT coalesce(l.member_id, s.member_id) AS member_id, CAST(coalesce(l.points_earned, 0) "
        f"+ coalesce(s.points_earned, 0) AS BIGINT) AS points_earned FROM {summed} l FULL JOIN (SELECT member_id, "
        "sum(points_earned) AS points_earned FROM sql_points GROUP BY member_id) s USING (member_id)"
        if summed
        else "SELECT member_id, CAST(sum(points_earned) AS BIGINT) AS points_earned FROM (SELECT * FROM sql_points "
        f"UNION ALL SELECT member_id, earned FROM lake_accruals WHERE day >= DATE '{start}' AND day < DATE '{end}' "
        "AND earned > 0) GROUP BY member_id"
    )
    if into:
        con.execute(f"CREATE OR REPLACE TABLE {into} AS {query}")
        return None
    return con.execute(query).fetch_arrow_table().cast(POINTS_SCHEMA)


# a member's points in the lake no fold has brought into SQL: earned, less what the lake expired (the views of
# _unfolded; as weixi.ledger.fold.lake_balances sums them)
LAKE_BALANCES = (
    "SELECT member_id, sum(p) AS points FROM (SELECT member_id, earned AS p FROM lake_accruals "
    "UNION ALL SELECT member_id, -points FROM lake_expired) GROUP BY member_id"
)


def _lake_balances(
    con, sql: pa.Table, default_tier: str | None = None, lake: str = f"({LAKE_BALANCES})", into: str | None = None
) -> pa.Table | None:
    """``sql`` (:data:`BALANCES`' rows) with each member's unfolded lake points added to the SQL balance: the
    member's balance over both stores (every member of the lake is a member of the SQL ledger). ``default_tier``:
    ``sql`` holds only the members :func:`_balances_set` reads; a member of the lake it lacks has no SQL balance, no
    debt and that tier. ``into``: made as temp table ``into`` of ``con`` instead (None returned)."""
    con.register("sql_balances", sql)
    params: list = []
    if default_tier is None:
        query = (
            "SELECT b.member_id, CAST(b.points_balance + coalesce(l.points, 0) AS BIGINT) AS points_balance, "
            f"b.points_debt, b.ledger_tier FROM sql_balances b LEFT JOIN ({LAKE_BALANCES}) l USING (member_id)"
        )
    else:
        params = [default_tier or None]
        query = (
            "SELECT member_id, CAST(coalesce(b.points_balance, 0) + coalesce(l.points, 0) AS BIGINT) "
            "AS points_balance, coalesce(b.points_debt, 0) AS points_debt, "
            "CASE WHEN b.member_id IS NULL THEN CAST(? AS VARCHAR) ELSE nullif(b.ledger_tier, '') END AS ledger_tier "
            f"FROM sql_balances b FULL JOIN {lake} l USING (member_id)"
        )
    if into:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS {query}", params)
        return None
    return con.execute(query, params).fetch_arrow_table().cast(BALANCES[2])


def lake_programme(
    engine: Engine, start: date, as_of: date, folds: pa.Table | None = None, con=None
) -> tuple[dict, tuple] | None:
    """What the lake's unfolded rows add to the programme figures' counts (:mod:`weixi.close.programme`): by kind
    (``earn``, ``expire``) the points of the month ``[start, as_of)``, before ``as_of`` and through ``as_of``; and
    the unfolded lots' (matured points, left on matured lots, outstanding expiring, outstanding never expiring) at
    ``as_of``. None without lake months. ``folds``: the fold marks read with the SQL figures these complete
    (:func:`read_with_lake`). ``con``: a DuckDB connection to use, left open with the temporary objects made on it
    (the close's: a cursor of its own database, which it closes, instead of a new one: 0.13 s beside the star
    events)."""
    own = con is None
    con = duck.connect() if own else con
    try:
        mark = _unfolded(engine, con, folds=folds)
        if not mark:
            return None
        months, lake_dir, version = mark
        # the accruals' sums kept per partition (lake_sums), less the folded members' rows: not every row read
        parts = lake_carry.by_key(fold_read.version_files(lake_dir / fold_read.ACCRUALS, version))
        folded = con.execute("SELECT count(*) FROM lake_folds").fetchone()[0] > 0
        lake_sums.unfolded(con, lake_dir, {m: parts[m] for m in months if m in parts}, folded)
        s, a = f"DATE '{start}'", f"DATE '{as_of}'"

        def by_day(col: str, value: str, view: str) -> tuple:
            row = con.execute(
                f"SELECT coalesce(sum(CASE WHEN {col} >= {s} AND {col} < {a} THEN {value} ELSE 0 END), 0), "
                f"coalesce(sum(CASE WHEN {col} < {a} THEN {value} ELSE 0 END), 0), "
                f"coalesce(sum(CASE WHEN {col} <= {a} THEN {value} ELSE 0 END), 0) FROM {view}"
            ).fetchone()
            return tuple(int(v) for v in row)

        # the earn sums and the unfolded lots' figures from the accruals' sums, less what expired of them in
        # one over the expiries (a lake lot expires whole, once, on its own ``expires_on``: no join of the two)
        earned = (
            f"CASE WHEN day >= {s} AND day < {a} THEN earned ELSE 0 END",
            f"CASE WHEN day < {a} THEN earned ELSE 0 END",
            f"CASE WHEN day <= {a} THEN earned ELSE 0 END",
        )
        lots = (  # pos: the rows' earned > 0 (each sum is of rows on one side of it)
            f"CASE WHEN pos AND expires_on <= {a} THEN earned ELSE 0 END",
            f"CASE WHEN pos AND expires_on > {a} THEN earned ELSE 0 END",
            "CASE WHEN pos AND expires_on IS NULL THEN earned ELSE 0 END",
        )
        row = con.execute(
            f"SELECT {', '.join(f'coalesce(sum({e}), 0)' for e in (*earned, *lots))} FROM lake_accrual_sums"
        ).fetchone()
        gone = con.execute(
            f"SELECT coalesce(sum(CASE WHEN expires_on <= {a} THEN points ELSE 0 END), 0), "
            f"coalesce(sum(CASE WHEN expires_on > {a} THEN points ELSE 0 END), 0) FROM lake_expired"
        ).fetchone()
        row = (*row[:4], row[3] - gone[0], row[4] - gone[1], row[5])
        kinds = {"earn": tuple(int(v) for v in row[:3]), "expire": by_day("expires_on", "-points", "lake_expired")}
        lots = row[3:]
    finally:
        if own:
            con.close()
    return kinds, tuple(int(v) for v in lots)


def lake_totals(engine: Engine, month: str) -> tuple[int, int]:
    """The points the lake's unfolded rows earned and expired in ``month`` (0, 0 without lake months)."""
    start, end = first_day(month), first_day(next_month(month))
    con = duck.connect()
    try:
        if not _unfolded(engine, con, month):
            return 0, 0
        earned = con.execute(
            f"SELECT coalesce(sum(earned), 0) FROM lake_accruals WHERE day >= DATE '{start}' AND day < DATE '{end}'"
        ).fetchone()[0]
        expired = con.execute(
            f"SELECT coalesce(sum(points), 0) FROM lake_expired WHERE expires_on >= DATE '{start}' "
            f"AND expires_on < DATE '{end}'"
        ).fetchone()[0]
    finally:
        con.close()
    return int(earned), int(expired)


def balances(engine: Engine) -> pa.Table:
    """Per member: the balance over both stores (the SQL balance and the lake's unfolded points), the debt and the
    tier the ledger holds."""
    sql, folds = ledger_arrows(engine, [BALANCES, FOLDS])  # the fold marks of the balances' transaction
    con = duck.connect()
    try:
        return _lake_balances(con, sql) if _unfolded(engine, con, folds=folds) else sql
    finally:
        con.close()


def lake_outstanding(engine: Engine) -> int:
    """The points the lake holds unfolded (earned less expired; 0 without lake months)."""
    con = duck.connect()
    try:
        if not _unfolded(engine, con):
            return 0
        return int(con.execute(f"SELECT coalesce(sum(points), 0) FROM ({LAKE_BALANCES})").fetchone()[0])
    finally:
        con.close()


NOT_READ = object()


@dataclass
class LakeRead:
    """SQL figures and the lake's part of them (:func:`lake_programme`) over the fold marks read with them."""

    rows: dict[str, list]  # each query's rows, by name
    lake: tuple[dict, tuple] | None


def read_with_lake(engine: Engine, queries: dict[str, tuple[str, list]], start: date, as_of: date) -> LakeRead:
    """The rows of ``queries`` (name: (sql, params)) and the members' fold marks in one read transaction (repeatable
    read on PostgreSQL), then :func:`lake_programme` ``(start, as_of)`` over those marks. A fold moves a member's
    points from the lake into SQL (its lots, entries and balance) in one transaction: marks read apart from the SQL
    figures would count a member folded in between twice or not at all."""
    snapshot = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(readonly=True, **snapshot) as conn, conn.begin():
        rows = {name: execute(conn, sql, params) for name, (sql, params) in queries.items()}
        marks = execute(conn, FOLDS[0])
    folds = fold.marks_table(marks)
    return LakeRead(rows, lake_programme(engine, start, as_of, folds))


def lake_read(
    engine: Engine, tables: dict[str, pa.Table], folds: pa.Table, start: date, as_of: date, con=None
) -> LakeRead:
    """:func:`read_with_lake` of rows read already: ``tables`` (name: the Arrow rows of its query) and the fold
    marks read in the same transaction (the close reads them with its history step's read of the ledger)."""
    rows = {name: [tuple(r.values()) for r in t.to_pylist()] for name, t in tables.items()}
    return LakeRead(rows, lake_programme(engine, start, as_of, folds, con=con))


def month_queries(month: str) -> dict[str, tuple[str, list]]:
    """What :func:`month_totals` reads of the SQL ledger (for :func:`read_with_lake`)."""
    start, end = first_day(month), first_day(next_month(month))
    return {
        "month_kinds": (
            "SELECT kind, coalesce(sum(points), 0) FROM journal WHERE day >= ? AND day < ? GROUP BY kind",
            [start, end],
        ),
        "outstanding": ("SELECT coalesce(sum(balance), 0), count(*) FROM members", []),
    }


def month_totals(engine: Engine, month: str, lake: LakeRead | object = NOT_READ) -> dict:
    """The month's points by kind and the outstanding balance, for the close summary. ``lake``: a
    :func:`read_with_lake` of :func:`month_queries` over ``[month start, next month start)`` when the caller has one
    (the close reads the SQL figures and the lake's unfolded rows once for this and the programme figures)."""
    if lake is NOT_READ:
        lake = read_with_lake(engine, month_queries(month), first_day(month), first_day(next_month(month)))
    rows, outstanding = lake.rows["month_kinds"], lake.rows["outstanding"][0]
    kinds = {k: int(v) for k, v in rows}
    # the lake's sums of the days [start, end) and what its unfolded lots hold
    part = lake.lake
    lake_earned, lake_expired = (part[0]["earn"][0], -part[0]["expire"][0]) if part else (0, 0)
    lake_left = sum(part[1][1:]) if part else 0
    kinds["earn"] = kinds.get("earn", 0) + lake_earned
    kinds["expire"] = kinds.get("expire", 0) - lake_expired
    return {
        "issued": kinds.get("earn", 0) + max(kinds.get("adjust", 0), 0),
        "redeemed": -(kinds.get("redeem", 0) + kinds.get("cancel", 0)),
        "expired": -kinds.get("expire", 0),
        "reversed": -sum(kinds.get(k, 0) for k in ("reverse", "clawback", "deficit", "debt_repay")),
        "outstanding": int(outstanding[0]) + lake_left,  # the SQL balances count the SQL ledger's lots only
        "ledger_members": int(outstanding[1]),
    }


def set_tiers_later(engine: Engine, tiers: pa.Table):
    """:func:`set_tiers` started now, the number of members whose tier changed returned by calling the function
    returned (exactly once): a SQLite file is written by its child process while the caller works on (the close's
    star events and summary, which read no tier from the ledger; at 10,000,000 members a year on, 3.8 s of
    updates). Other databases are written now."""
    path = sqlite_file(engine)
    if tiers.num_rows and path is not None:
        return update_later(path, tiers.select(["member_id", "tier"]), [(SET_TIERS, [])])
    changed = set_tiers(engine, tiers)
    return lambda: changed


SET_TIERS = (
    "UPDATE members SET tier = i.tier FROM temp.incoming i WHERE members.member_id = i.member_id "
    "AND members.tier IS NOT i.tier"
)


def set_tiers(engine: Engine, tiers: pa.Table) -> int:
    """Write evaluated tiers (``member_id``, ``tier``) back to the ledger's members (used by tier multipliers from
    the next month on); the number of members whose tier changed. A SQLite file is written through ADBC in a child
    process (:func:`weixi.close.ledger_proc.update_sqlite`): at the first close every member's tier is new."""
    path = sqlite_file(engine)
    if tiers.num_rows and path is not None:
        return _update_adbc(path, tiers.select(["member_id", "tier"]), SET_TIERS)
    changed = 0
    rows = list(zip(tiers["member_id"].to_pylist(), tiers["tier"].to_pylist()))
    with engine.begin() as conn:
        for start in range(0, len(rows), FETCH):
            chunk = rows[start : start + FETCH]
            executemany(
                conn,
                "UPDATE members SET tier = ? WHERE member_id = ? AND (tier IS NULL OR tier <> ?)",
                [(t, m, t) for m, t in chunk],
            )
            changed += len(chunk)
    return changed


def _update_adbc(path: Path, table: pa.Table, sql: str) -> int:
    return update_sqlite(path, table, [(sql, [])])


def mark_closed(engine: Engine, month: str) -> None:
    """Record in the ledger that ``month`` is closed: the ledger refuses events dated in it from then on."""
    with engine.begin() as conn:
        ledger_repo.mark_closed(conn, month, datetime.now(timezone.utc))
