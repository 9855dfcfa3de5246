"""Upgrade a ledger made with ``WEIXI_LEDGER_STORE=sql`` to the lake in place (issue 21, "Migration").

A one-off backfill: the closed months' bill and recharge accruals the SQL journal holds become the lake's
``accruals`` rows, the ones the lake close would have written (the event's columns, its lot's expiry, its earn
entries in posting order), one Delta commit per month carrying the application transaction ``(weixi-accrual,
YYYYMM)`` the lake close uses. Then one SQL transaction records the months in ``lake_months`` (the watermark, each
with the close's accrual result) and marks every member folded through the last of them: their SQL rows stay, so
nothing changes in any balance, and the next close writes its month to the lake.

Idempotent and kill -9 safe: a month whose commit is in is skipped (the application transaction is atomic with the
data; a Parquet file written but never committed is an orphan no reader sees), and the SQL step is one transaction
that a rerun finds done. A ledger that already has lake months is left alone.

Rows the lake could not give back as the SQL store holds them (a bill whose points repaid a debt or went to a
negative lot, which the Book posts) stay in SQL only, as the lake close leaves them to the Book.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from weixi.adapters import archive, duck, lake
from weixi.adapters.sql import execute
from weixi.close import lake_write, store
from weixi.close.accrual_lake import ACCRUAL_SCHEMA, APP, lake_lock, month_version
from weixi.close.ledger_bridge import ledger_arrow
from weixi.close.months import first_day, next_month
from weixi.ledger import bulk
from weixi.ledger.fold import accruals_dir
from weixi.plans.service import plan_at

# the SQL journal's bill and recharge events of a day range, with their lot and earn entries (one row per entry;
# no NULL in a column: ADBC's SQLite types a column by its first values)
EVENTS_SQL = (
    "SELECT e.event_id, e.member_id, e.type, CAST(e.occurred_at AS TEXT), CAST(e.day AS TEXT), e.amount_fen, "
    "coalesce(e.attrs, ''), e.earned, coalesce(e.plan_version, -1), coalesce(CAST(l.expires_on AS TEXT), ''), "
    "coalesce(l.points, -1), coalesce(j.id, -1), coalesce(j.rule_id, ''), coalesce(j.points, 0), "
    "coalesce(j.note, ''), CASE WHEN l.deficit THEN 1 ELSE 0 END "
    "FROM events e LEFT JOIN lots l ON l.lot_id = e.event_id "
    "LEFT JOIN journal j ON j.event_id = e.event_id AND j.kind = 'earn' "
    "WHERE e.type IN ('bill', 'recharge') AND e.day >= ? AND e.day < ?"
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("member_id", pa.string()),
        ("type", pa.string()),
        ("occurred_at", pa.string()),
        ("day", pa.string()),
        ("amount_fen", pa.int64()),
        ("attrs", pa.string()),
        ("earned", pa.int64()),
        ("plan_version", pa.int64()),
        ("expires_on", pa.string()),
        ("lot_points", pa.int64()),
        ("entry", pa.int64()),
        ("rule_id", pa.string()),
        ("points", pa.int64()),
        ("note", pa.string()),
        ("deficit", pa.int64()),
    ]
)

# the lake close's row from the SQL rows: bills first by day, recharges by their moment (its posting order);
# an event is left out when its earn entries or its lot do not say what the lake row would (the Book's cases);
# a base rule's entry (up_base: its plan version's) without its note, as the close writes it
ROWS_SQL = """
WITH ev AS (
    SELECT event_id, any_value(member_id) AS member_id, any_value(type) AS type,
           any_value(occurred_at) AS occurred_at, CAST(any_value(day) AS DATE) AS day,
           any_value(amount_fen) AS amount_fen, nullif(any_value(attrs), '') AS attrs, any_value(earned) AS earned,
           CAST(nullif(any_value(plan_version), -1) AS BIGINT) AS plan_version,
           CAST(nullif(any_value(expires_on), '') AS DATE) AS expires_on, any_value(lot_points) AS lot_points,
           any_value(deficit) AS deficit,
           coalesce(sum(points) FILTER (WHERE entry >= 0), 0) AS entry_points,
           coalesce(list(struct_pack(rule_id := nullif(rule_id, ''), points := points,
                                     note := CASE WHEN base IS NULL THEN nullif(note, '') END) ORDER BY entry)
               FILTER (WHERE entry >= 0), []) AS entries
    FROM (SELECT r.*, b.rule_id AS base FROM up_rows r
          LEFT JOIN up_base b ON b.plan_version = r.plan_version AND b.rule_id = r.rule_id)
    GROUP BY event_id
)
SELECT event_id, member_id, type, occurred_at, day, CAST(amount_fen AS BIGINT) AS amount_fen, attrs,
       CAST(earned AS BIGINT) AS earned, plan_version, expires_on,
       CAST(row_number() OVER (ORDER BY type <> 'bill', CASE WHEN type = 'bill' THEN day END, occurred_at, event_id)
            AS BIGINT) AS seq,
       entries
FROM ev
WHERE entry_points = earned AND deficit = 0 AND (CASE WHEN earned > 0 THEN lot_points = earned ELSE lot_points < 0 END)
  AND event_id NOT IN (SELECT event_id FROM up_seen)
ORDER BY member_id, seq
"""


@dataclass
class Upgrade:
    """What the upgrade did: the months backfilled (committed now or found in), rows, members marked folded."""

    months: list[str] = field(default_factory=list)
    rows: int = 0
    members: int = 0
    already: bool = False  # the ledger had lake months: nothing done


def upgrade_to_lake(engine: Engine, data_dir: Path) -> Upgrade:
    """Backfill the lake from the SQL journal for every closed month and switch the ledger to it (see the module)."""
    data_dir = Path(data_dir)
    store.upgrade(data_dir)  # a data folder of the layout before the lake: its tables first
    with lake_lock(data_dir):  # no post or lake close meanwhile (they would see a ledger half switched)
        return _upgrade(engine, data_dir)


def _upgrade(engine: Engine, data_dir: Path) -> Upgrade:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        if execute(conn, "SELECT 1 FROM lake_months LIMIT 1"):
            return Upgrade(already=True)
    months = store.closed_months(data_dir)
    out = Upgrade(months=months)
    if not months:
        return out
    table = accruals_dir(data_dir)
    for month in months:
        out.rows += _commit_month(engine, table, month)
    out.members = _switch(engine, data_dir, months, lake.table_version(table))
    return out


def _commit_month(engine: Engine, table: Path, month: str) -> int:
    """The month's rows committed to the lake (skipped when its commit is in); the rows the month holds."""
    version = month_version(month)
    committed = lake.app_version(table, APP)
    if committed is not None and committed >= version:
        files = lake.file_uris(table, partition={"month": month})
        return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    start, end = first_day(month), first_day(next_month(month))
    rows = ledger_arrow(engine, EVENTS_SQL, [start, end], EVENTS_SCHEMA)
    con = duck.connect()
    try:
        con.register("up_rows", rows)
        con.register("up_base", _base_rules(engine, rows))
        others = lake.file_uris(table)
        seen = (
            f"SELECT event_id FROM read_parquet({others!r})"
            if others
            else "SELECT NULL::VARCHAR AS event_id WHERE false"
        )
        con.execute(f"CREATE TEMP TABLE up_seen AS {seen}")
        con.execute(f"CREATE TEMP TABLE up_out AS {ROWS_SQL}")
        n = con.execute("SELECT count(*) FROM up_out").fetchone()[0]
        files = []
        if n:  # in member-range files as the close writes a month (one a month up to lake_write.FILE_ROWS rows)
            con.execute(f"CREATE TEMP VIEW acc_events AS SELECT {', '.join(ACCRUAL_SCHEMA.names)} FROM up_out")
            files = lake_write.write_partition(con, table, {"month": month}, n)
    finally:
        con.close()
    schema = pq.read_schema(files[0]) if files else ACCRUAL_SCHEMA
    lake.commit_files(table, files, {"month": month}, schema, APP, version)
    return int(n)


def _base_rules(engine: Engine, rows: pa.Table) -> pa.Table:
    """(plan_version, rule_id) of the base rules of each plan version ``rows`` name: the entries whose note the
    lake leaves out (:func:`weixi.close.accrual_sql.lake_events`)."""
    pairs = []
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        for version in sorted({v for v in rows.column("plan_version").to_pylist() if v is not None and v >= 0}):
            plan = plan_at(conn, version)
            if plan is not None:
                pairs += [(version, rule_id) for rule_id in bulk.base_rules(bulk.compile_plan(plan))]
    return pa.table(
        {"plan_version": [p[0] for p in pairs], "rule_id": [p[1] for p in pairs]},
        schema=pa.schema([("plan_version", pa.int64()), ("rule_id", pa.string())]),
    )


def _switch(engine: Engine, data_dir: Path, months: list[str], version: int) -> int:
    """One transaction: the months in ``lake_months`` (with each close's accrual result, so a rerun of the close
    finds the accrual done) and every member folded through the last; the members marked."""
    inputs = archive.file_stamps(data_dir, ("bills", "recharges"))
    lake_dir = str(data_dir.resolve() / "lake")
    with engine.begin() as conn:
        if execute(conn, "SELECT 1 FROM lake_months LIMIT 1"):  # another run switched it meanwhile
            return 0
        for month in months:
            accrual = (store.read_manifest(data_dir, month) or {}).get("accrual")
            result = json.dumps({"inputs": inputs, "result": accrual}) if accrual else None
            execute(
                conn,
                "INSERT INTO lake_months (month, lake_dir, accruals_version, result) VALUES (?, ?, ?, ?)",
                [month, lake_dir, version, result],
            )
        execute(
            conn,
            "INSERT INTO ledger_folds (member_id, month) SELECT member_id, CAST(? AS VARCHAR(7)) FROM members WHERE true "
            "ON CONFLICT (member_id) DO UPDATE SET month = excluded.month",
            [months[-1]],
        )
        return execute(conn, "SELECT count(*) FROM ledger_folds")[0][0]


__all__ = ["Upgrade", "upgrade_to_lake"]
