"""Expiry of the lots the lake holds and no fold has brought into the SQL ledger (``WEIXI_LEDGER_STORE=lake``).

At the close's expiry day ``as_of``, every unfolded lake lot (an accrual row with ``earned > 0`` of a month the
member is not folded through) whose ``expires_on`` is on or before ``as_of`` and that no earlier expiry took is
written to the lake's ``expiries`` table (partition ``as_of``; application transaction ``(weixi-expiry,
YYYYMMDD)``: deterministic, a rerun finds it in). A lake lot is never spent before it is folded, so it loses all
its points. Then one SQL transaction records the run in ``lake_expiries`` (the ``expiries`` version applied: the
lake's balances read it, :func:`weixi.ledger.fold.lake_balances`; no member's SQL balance counts an unfolded lot, so
none changes); a member folded between the two steps keeps the lot in SQL, where the SQL expiry takes it. A fold brings a lot's expiry entry with the lot,
dated its ``expires_on`` as the SQL expiry dates it.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from weixi.adapters import duck, lake, parquet_lookup
from weixi.adapters.sql import execute, is_pg
from weixi.ledger.fold import (
    ACCRUALS,
    EXPIRIES,
    EXPIRY_LOCK,
    UNFOLDED,
    applied_expiries,
    expiries_sql,
    lake_sql,
    marks_table,
    unfolded_join,
    watermark,
)
from weixi.ledger.fold_read import month_files, version_files

APP = "weixi-expiry"
READ = "weixi-expiry-read"  # the run's second application transaction: the accruals version it read
ROW_GROUP = 4_096  # rows per Parquet row group, sorted by member: a fold reads the one or two holding its members
EXPIRY_SCHEMA = pa.schema(
    [
        ("lot_id", pa.string()),
        ("member_id", pa.string()),
        ("month", pa.string()),  # the lake month of the lot
        ("expires_on", pa.date32()),
        ("points", pa.int64()),
        ("plan_version", pa.int64()),
    ]
)


def expire_lake(engine: Engine, as_of: date) -> tuple[int, int, int]:
    """Expire the unfolded lake lots due by ``as_of``: (lots, points, members) applied by this call (a rerun of
    an applied day: that run's lots and points, no member)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        months, lake_dir, version = watermark(conn)
        if not months:
            return 0, 0, 0
        done = execute(conn, "SELECT lots, points FROM lake_expiries WHERE as_of = ?", [as_of])
        if done:
            return int(done[0][0]), int(done[0][1]), 0
        folds = execute(conn, "SELECT member_id, month FROM ledger_folds")
        exp_version = applied_expiries(conn)
    table = lake_dir / EXPIRIES
    stamp = int(as_of.strftime("%Y%m%d"))
    committed = lake.app_version(table, APP)
    since = None  # the written rows' marks: every fold after them marks its member at or after this month
    if committed is None or committed < stamp:
        _write(table, as_of, stamp, lake_dir, version, months, folds, exp_version)
        since = months[-1]  # a fold takes every month the watermark names
    return _apply(engine, table, as_of, since)


def _write(table: Path, as_of: date, stamp: int, lake_dir: Path, version: int, months, folds, exp_version) -> None:
    source, whole = _due_rows(table, stamp, lake_dir, version, months)
    files = []
    if source is not None:
        con = duck.connect()
        try:
            con.register("lake_folds", marks_table(folds))
            earlier = expiries_sql(lake_dir, exp_version) if whole else None
            taken = f"ANTI JOIN ({earlier}) x ON x.lot_id = a.event_id " if earlier else ""
            query = (
                f"SELECT a.event_id AS lot_id, a.member_id, a.month, a.expires_on, a.earned AS points, a.plan_version "
                f"FROM ({source}) a {unfolded_join(len(folds))} {taken}"
                f"WHERE a.earned > 0 AND a.expires_on <= DATE '{as_of.isoformat()}' ORDER BY a.member_id, a.event_id"
            )
            # written in one pass (a count first read the due partitions twice); none due: no file. Cut into the
            # member ranges of the last month's lake files when it has several (a year on, a run expires a month of
            # lots: 18,000,000 at 10,000,000 members, whose one file every fold would read the footer of)
            partition, options = {"as_of": as_of.isoformat()}, f"{duck.PARQUET}, ROW_GROUP_SIZE {ROW_GROUP}"
            ranges = parquet_lookup.cuts(month_files(version_files(lake_dir / ACCRUALS, version), months[-1]))
            if ranges:
                files += lake.write_ranges(con, query, ranges, table, partition, options)
            else:
                out = lake.new_file(table, partition)
                if con.execute(f"COPY ({query}) TO '{out}' ({options})").fetchone()[0]:
                    files.append(out)
                else:
                    out.unlink(missing_ok=True)
            if not files:
                with suppress(OSError):  # the partition's folder, made for it, when nothing else is in it
                    (table / f"as_of={as_of.isoformat()}").rmdir()
        finally:
            con.close()
    schema = pq.read_schema(files[0]) if files else EXPIRY_SCHEMA
    lake.commit_files(table, files, {"as_of": as_of.isoformat()}, schema, APP, stamp, also={READ: version})


def _due_rows(table: Path, stamp: int, lake_dir: Path, version: int, months) -> tuple[str | None, bool]:
    """The accrual rows a run for day ``stamp`` reads, with a ``month`` column, and whether they are every row (so
    the lots earlier runs took must be taken out). After a run for an earlier day that recorded the accruals
    version it read: the rows of the files added since (any ``expires_on``), and of the files it read only those
    expiring after its day. By induction every run took each unfolded lot of the files it read that was due by its
    day, and a fold is never undone: what an earlier run left in those files is folded, or not due by its day. So a
    year-old lake's run reads the month or two of lots coming due, not every lot that ever expired again and the
    ids of every earlier run. Every row when there is no such run, or a file it read is no longer listed (or the log
    of the version it read)."""
    last, read = lake.app_version(table, APP), lake.app_version(table, READ)
    if last is None or read is None or last >= stamp:
        return lake_sql(lake_dir, version, months, ""), True
    before = lake.files_at(lake_dir / ACCRUALS, read)
    now = version_files(lake_dir / ACCRUALS, version)
    if before is None or not set(before) <= set(now):
        return lake_sql(lake_dir, version, months, ""), True
    day = f"{str(last)[:4]}-{str(last)[4:6]}-{str(last)[6:]}"
    parts = []
    for m in months:
        mine = [f for f in now if f"/month={m}/" in f]
        old, new = [f for f in mine if f in before], [f for f in mine if f not in before]
        if old:
            parts.append(f"SELECT *, '{m}' AS month FROM read_parquet({old!r}) WHERE expires_on > DATE '{day}'")
        if new:
            parts.append(f"SELECT *, '{m}' AS month FROM read_parquet({new!r})")
    return " UNION ALL ".join(parts) or None, False


def _apply(engine: Engine, table: Path, as_of: date, since: str | None) -> tuple[int, int, int]:
    """Record the run in ``lake_expiries``: its lots, points and members, less those of the members folded since
    the rows were written (their lots went to SQL whole, where the SQL expiry takes them). Counted set-based from
    the run's files: a year-old operator expires a month of lots at every close (1,800,000 at 1,000,000 members),
    which a loop over its rows in Python took seconds for. ``since``: the watermark's last month when the rows were
    written (a fold after it marks its member at or after it); None when an earlier run wrote them, then the files'
    last lake month (every fold after the write marks its member at or after it too, and the marks before the write
    that reach it were left out of the rows already)."""
    version = lake.table_version(table)
    files = lake.file_uris(table, version, {"as_of": as_of.isoformat()})
    con = duck.connect()
    try:
        rows = f"read_parquet({files!r})" if files else None
        counted = "SELECT count(*), coalesce(sum(a.points), 0), count(DISTINCT a.member_id) FROM {rows} a {join}"
        every = con.execute(counted.format(rows=rows, join="")).fetchone() if rows else (0, 0, 0)
        if rows and since is None:
            since = con.execute(f"SELECT max(month) FROM {rows}").fetchone()[0]
        with engine.begin() as conn:  # SQLite: the write lock; no fold commits until the run is recorded
            if is_pg(conn):  # the same on PostgreSQL: the folds under way end first, the next ones wait
                execute(conn, "SELECT pg_advisory_xact_lock(?)", [EXPIRY_LOCK])
            done = execute(conn, "SELECT lots, points FROM lake_expiries WHERE as_of = ?", [as_of])
            if done:
                return int(done[0][0]), int(done[0][1]), 0
            recent = (
                execute(conn, "SELECT member_id, month FROM ledger_folds WHERE month >= ?", [since]) if rows else []
            )
            if recent:
                con.register("lake_folds", marks_table(recent))
                every = con.execute(counted.format(rows=rows, join=UNFOLDED)).fetchone()
            lots, points, members = (int(v) for v in every)
            execute(
                conn,
                "INSERT INTO lake_expiries (as_of, expiries_version, lots, points) VALUES (?, ?, ?, ?)",
                [as_of, version, lots, points],
            )
    finally:
        con.close()
    return lots, points, members
