"""The SQL members' side of a lake month (:mod:`weixi.close.accrual_lake`): new members inserted, a member's first
spend day and paid flag set (and a posted ``tier`` attr's tier), and the month recorded in ``lake_months`` (the
committed watermark), in one transaction.

No member's SQL balance changes: it counts the SQL ledger's lots only, and a fold brings the lake's points in
(:mod:`weixi.ledger.fold`). A member of the previous close month was brought up to date then (a first spend day and a
paid flag never change once set), so only the others are written (:func:`_prior_members`): after the first month,
the month's new and returning members, not every member (at 10,000,000 members, updating every member's row took
21-30 s of the close).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import lake
from weixi.adapters.db import sqlite_file
from weixi.adapters.sql import execute, executemany
from weixi.close import lake_write, ledger_proc
from weixi.ledger.fold import accruals_dir

UPSERT = (
    "INSERT INTO members (member_id, first_spend_on, paid, balance, first_seen_on, tier) {rows} "
    "ON CONFLICT (member_id) DO UPDATE SET first_spend_on = coalesce(members.first_spend_on, "
    "excluded.first_spend_on), paid = excluded.paid, tier = coalesce(excluded.tier, members.tier)"
)
WATERMARK = "INSERT INTO lake_months (month, lake_dir, accruals_version, result) VALUES (?, ?, ?, NULL)"
APPLY_CHILD_MIN = 20_000  # members from which a SQLite file is written by one statement in a child process
# the child's statements over ``temp.incoming`` (ingested in member order): each member's row id found in member
# order (the key index read in its order), the known members updated in row id order (the table read and written
# in its order: in member order, random against the row ids of the order members came in, 9,600,000 updates took
# 3.7 s longer at 10,000,000 members, in the order of the month's first events 3-4x as long), then the new ones
# inserted in the order of their first event, as the Book would. No balance is written (see the module doc).
_APPLY_SORTED = [
    (
        "CREATE TEMP TABLE incoming_rows AS SELECT m.rowid AS rid, i.* FROM temp.incoming i "
        "LEFT JOIN members m ON m.member_id = i.member_id",
        [],
    ),
    (
        "UPDATE members SET first_spend_on = coalesce(members.first_spend_on, r.first_text), paid = 1, "
        "tier = coalesce(r.tier, members.tier) "
        "FROM (SELECT * FROM temp.incoming_rows WHERE rid IS NOT NULL ORDER BY rid) r WHERE members.rowid = r.rid",
        [],
    ),
    (
        "INSERT INTO members (member_id, first_spend_on, paid, balance, first_seen_on, tier) SELECT member_id, "
        "first_text, 1, 0, first_text, tier FROM temp.incoming_rows WHERE rid IS NULL ORDER BY first_seq",
        [],
    ),
    ("DROP TABLE temp.incoming_rows", []),
]


def apply(engine: Engine, data_dir: Path, month: str, members: pa.Table | None = None) -> int:
    """Bring the SQL members up to date with the lake month and record it in ``lake_months``, in one transaction
    (nothing when it is recorded already); returns the Delta version the month is read at.

    Per member of the month: inserted when new (balance 0: the points are the lake's until a fold), else its first
    spend day and paid flag are set (a posted ``tier`` attr sets its tier); a member of the previous close month is
    left as it is unless a posted ``tier`` attr changes it (:func:`_prior_members`). ``members``: those rows when
    the caller has them (:func:`weixi.close.lake_write.members_of`), else read from the month's files. On a SQLite
    file, from :data:`APPLY_CHILD_MIN` members on, the rows go to a temporary table and an ``UPDATE ... FROM`` and
    an ``INSERT ... SELECT`` write them all (:data:`_APPLY_SORTED`, :func:`weixi.close.ledger_proc.update_sqlite`,
    a child process: at a million members a row per statement from Python took 9 s); fewer (a post, a test) are
    written from this process."""
    table = accruals_dir(data_dir)
    version = lake.table_version(table)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT accruals_version FROM lake_months WHERE month = ?", [month])
    if rows:
        return int(rows[0][0])
    if members is None:
        members = lake_write.month_members(
            lake.file_uris(table, version, {"month": month}), _prior_members(engine, data_dir, month)
        )
    mark = watermark(data_dir, month, version)
    path = sqlite_file(engine)
    if path is not None and members.num_rows >= APPLY_CHILD_MIN:
        ledger_proc.update_sqlite(
            path,
            members.select(["member_id", "first_text", "tier", "first_seq"]).sort_by("member_id"),
            [*_APPLY_SORTED, (WATERMARK, mark)],
            skip_if=("SELECT 1 FROM lake_months WHERE month = ?", [month]),
        )
        return version
    with engine.begin() as conn:
        if execute(conn, "SELECT 1 FROM lake_months WHERE month = ?", [month]):
            return version
        days = members.column("first_day" if conn.dialect.name == "postgresql" else "first_text").to_pylist()
        executemany(
            conn,
            UPSERT.format(rows="VALUES (?,?,?,?,?,?)"),
            [
                (m, day, True, 0, day, tier)  # balance 0: the points are the lake's until a fold
                for m, day, tier in zip(
                    members.column("member_id").to_pylist(), days, members.column("tier").to_pylist()
                )
            ],
        )
        execute(conn, WATERMARK, mark)
    return version


def hold(con, engine: Engine, data_dir: Path, month: str, rows: str = "acc_events"):
    """The close's members' update (:func:`apply`) started in its child process while the month's files are written
    (a :class:`~weixi.close.ledger_proc.HeldUpdate`: it commits with the watermark once the Delta commit is in, or
    rolls back), or the members' rows for :func:`apply` to write after the commit (below :data:`APPLY_CHILD_MIN`
    members, or on PostgreSQL). The members are found in ``rows`` (``acc_events``, the rows the files hold, or a
    relation of the same rows before their points: the close's ``acc_new``), less those of the previous close
    month (:func:`_prior_members`). (At 10,000,000 members updating every member took 21-30 s
    beside the files' 17 s; after the first month, most members are in the previous one.)"""
    members = lake_write.members_of(  # the close's rows: no posted tier attr
        con, rows, by_member=True, known=_prior_members(engine, data_dir, month), tiers=False
    )
    path = sqlite_file(engine)
    if path is None or members.num_rows < APPLY_CHILD_MIN:
        return members
    return ledger_proc.HeldUpdate(path, members.select(["member_id", "first_text", "tier", "first_seq"]), _APPLY_SORTED)


def _prior_members(engine: Engine, data_dir: Path, month: str) -> str | None:
    """SQL (DuckDB) of the member ids of the latest close month before ``month`` that ``lake_months`` records:
    every one was brought up to date when it was applied (its first spend day and paid flag set, and neither ever
    changes back), so :func:`apply` need not write it again. None when there is none (the first month, a post
    before any close)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT max(month) FROM lake_months WHERE month < ? AND month NOT LIKE ?",
            [month, "%+%"],
        )
    prior = rows[0][0] if rows else None
    files = lake.file_uris(accruals_dir(data_dir), partition={"month": prior}) if prior else []
    return f"SELECT member_id FROM read_parquet({files!r})" if files else None


def watermark(data_dir: Path, month: str, version: int) -> list:
    return [month, str(Path(data_dir).resolve() / "lake"), version]


__all__ = ["APPLY_CHILD_MIN", "UPSERT", "WATERMARK", "apply", "hold", "watermark"]
