"""The close's accrual into the lake (``WEIXI_LEDGER_STORE=lake``): a month of bills and recharges becomes one
Delta commit of the ``accruals`` table instead of an event, a lot and journal rows per bill in the SQL ledger.

The rows are the ones the set-based SQL path writes (:mod:`weixi.close.accrual_sql`, the same statements, no second
arithmetic), one row per posted bill or recharge: the event's columns, its lot's expiry (a lot exists when
``earned > 0``) and its earn entries (rule id, points, note) in posting order. DuckDB writes them sorted by member in
row groups a member lookup skips by their min/max; :func:`weixi.adapters.lake.commit_files` commits them with the
application transaction ``(weixi-accrual, YYYYMM)``: a rerun that finds the month in skips the write.

Then, in one SQL transaction, the members are brought up to date (new members inserted; every posting member's
balance, first spend day and paid flag, as the SQL path does) and the month is recorded in ``lake_months`` (the
committed watermark: a member's fold reads the months it names, at the Delta version it names). A crash between
the Delta commit and that transaction leaves the lake month in and the SQL untouched; the rerun finds it in and
applies it. Members the Book must handle (a debt, a negative-balance lot, a referral waiting) are left out of the
lake: :mod:`weixi.close.accrual` posts their events through the Book as today.

Event ids are deduplicated by anti-join against the SQL ledger's events and rejections and the lake's other months
(no MERGE on the big partition).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from weixi.adapters import duck, lake
from weixi.adapters.sql import execute, executemany
from weixi.close import accrual_load, accrual_sql, ledger_bridge
from weixi.ledger import bulk
from weixi.ledger.fold import ACCRUALS, accruals_dir
from weixi.plans.model import Plan

APP = "weixi-accrual"
ROW_GROUP = 50_000  # rows per Parquet row group: a member lookup reads one or two of them

ACCRUAL_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("member_id", pa.string()),
        ("type", pa.string()),
        ("occurred_at", pa.string()),  # the ledger's ISO text of the moment
        ("day", pa.date32()),
        ("amount_fen", pa.int64()),
        ("attrs", pa.string()),
        ("earned", pa.int64()),
        ("plan_version", pa.int64()),
        ("expires_on", pa.date32()),  # the lot's expiry (a lot exists when earned > 0)
        ("seq", pa.int64()),  # posting order within the month
        (
            "entries",
            pa.list_(pa.struct([("rule_id", pa.string()), ("points", pa.int64()), ("note", pa.string())])),
        ),
    ]
)

ROWS_SQL = (
    "SELECT e.event_id, e.member_id, e.type, e.occurred_at, CAST(e.day AS DATE) AS day, "
    "CAST(e.amount_fen AS BIGINT) AS amount_fen, e.attrs, e.earned, e.plan_version, "
    "CAST(l.expires_on AS DATE) AS expires_on, e.seq, coalesce(j.entries, []) AS entries "
    "FROM acc_events e LEFT JOIN acc_lots l USING (seq) LEFT JOIN ("
    "SELECT seq, list(struct_pack(rule_id := rule_id, points := points, note := note) ORDER BY o_grp, o_j, o_k) "
    "AS entries FROM acc_journal GROUP BY seq) j USING (seq) ORDER BY e.member_id, e.seq"
)


def month_version(month: str) -> int:
    """The month as the accrual's application version: ``2026-09`` -> 202609 (grows month by month)."""
    return int(month.replace("-", ""))


@dataclass
class LakePart:
    """What the lake took of the month; ``book_ids`` are the events the Book must post (members it must handle)."""

    posted: int
    duplicates: int
    rejected: int
    reasons: dict
    book_ids: pa.Table
    version: int


def done(engine: Engine, month: str, inputs: list) -> dict | None:
    """The month's accrual result when it is complete with the same input files (a rerun after a later step)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT result FROM lake_months WHERE month = ?", [month])
    if not rows or not rows[0][0]:
        return None
    stored = json.loads(rows[0][0])
    return stored["result"] if stored.get("inputs") == inputs else None


def finish(engine: Engine, month: str, inputs: list, result: dict) -> None:
    with engine.begin() as conn:
        execute(
            conn,
            "UPDATE lake_months SET result = ? WHERE month = ?",
            [json.dumps({"inputs": inputs, "result": result}), month],
        )


def applicable(plan: Plan | None, days: list, out_of_range: int) -> bool:
    """Whether the set-based statements take the month (else the whole month goes through the batches)."""
    if plan is None:
        return False
    compiled = bulk.compile_plan(plan)
    return compiled.ok and not out_of_range and not any(m.window.contains(d) for m in compiled.blockers for d in days)


def _ids(table: pa.Table) -> pa.Table:
    return table.select([0]).rename_columns(["event_id"]).cast(pa.schema([("event_id", pa.string())]))


def post(
    engine: Engine,
    data_dir: Path,
    month: str,
    plan: Plan,
    version: int | None,
    source_sql: str,
    days: list,
) -> LakePart:
    """Compute the month's rows with the set-based statements, commit them to the lake (unless the month is in),
    apply them to the SQL members and watermark (unless applied). Returns what was posted and the events left to
    the Book."""
    compiled = bulk.compile_plan(plan)
    table = accruals_dir(data_dir)
    con = duck.connect()
    try:
        duck.bound_memory(con, data_dir)
        con.execute(f"CREATE TEMP TABLE acc_all AS SELECT * FROM ({source_sql}) ORDER BY seq")
        con.register(
            "acc_days_in",
            accrual_load.days_table(accrual_sql.day_columns(compiled), accrual_sql.day_rows(compiled, plan, days)),
        )
        con.execute("CREATE TEMP TABLE acc_days AS SELECT * FROM acc_days_in")
        _read_ledger(con, engine, data_dir, month)
        con.execute(
            "CREATE TEMP TABLE acc_src AS SELECT * FROM acc_all WHERE member_id NOT IN (SELECT member_id FROM acc_book)"
        )
        st = accrual_sql.statements(compiled, version)
        for sql in (st.new, st.base, st.tiers, st.journal, st.events, st.lots, st.members):
            con.execute(sql)
        posted, duplicates = con.execute(st.outcome).fetchone()
        reasons = {r: int(n) for r, n in con.execute(accrual_sql.REJECTIONS_SQL).fetchall()}
        mv = month_version(month)
        committed = lake.app_version(table, APP)
        if committed is not None and committed >= mv:
            # in the lake already (a rerun): what it holds was posted before, the rest is the Book's
            month_files = lake.file_uris(table, partition={"month": month})
            in_month = (
                con.execute(
                    f"SELECT count(*) FROM acc_new WHERE event_id IN (SELECT event_id FROM read_parquet({month_files!r}))"
                ).fetchone()[0]
                if month_files
                else 0
            )
            posted, duplicates = 0, duplicates + in_month
        else:
            files = []
            if posted:
                out = lake.new_file(table, {"month": month})
                con.execute(f"COPY ({ROWS_SQL}) TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})")
                files.append(out)
            schema = pq.read_schema(files[0]) if files else ACCRUAL_SCHEMA
            lake.commit_files(table, files, {"month": month}, schema, APP, mv)
        # the events nobody has posted: those of the members the Book must handle (and any the lake lacks)
        in_lake = lake.file_uris(table)
        lake_ids = f"(SELECT event_id FROM read_parquet({in_lake!r}))" if in_lake else "(SELECT NULL WHERE false)"
        book_ids = con.execute(
            f"SELECT event_id FROM acc_all WHERE event_id NOT IN {lake_ids} "
            "AND event_id NOT IN (SELECT event_id FROM acc_seen) "
            "AND event_id NOT IN (SELECT event_id FROM acc_rejected) GROUP BY event_id"
        ).fetch_arrow_table()
    finally:
        con.close()
    applied = apply(engine, data_dir, month)
    return LakePart(int(posted), int(duplicates), sum(reasons.values()), reasons, book_ids, applied)


def _read_ledger(con, engine: Engine, data_dir: Path, month: str) -> None:
    """acc_seen, acc_rejected (the SQL ledger's ids and the lake's other months'), acc_stored (members), acc_book
    (the members the Book must handle), read from the SQL ledger in one query (one loading process on SQLite)."""
    rows = ledger_bridge.ledger_arrow(
        engine,
        # no NULL in a column: ADBC's SQLite types a column by its first values ('' stands for a NULL tier)
        "SELECT 'm', member_id, coalesce(tier, ''), debt FROM members UNION ALL "
        "SELECT 'r', event_id, coalesce(reason, ''), 0 FROM rejections UNION ALL SELECT 'e', event_id, '', 0 FROM events UNION ALL "
        "SELECT 'b', member_id, '', 0 FROM lots WHERE deficit = ? AND remaining < 0 UNION ALL "
        "SELECT 'b', referee_id, '', 0 FROM referrals WHERE awarded_on IS NULL",
        [True],
        pa.schema([("k", pa.string()), ("id", pa.string()), ("text", pa.string()), ("n", pa.int64())]),
    )
    con.register("acc_ledger", rows)
    others = [u for u in lake.file_uris(accruals_dir(data_dir)) if f"/month={month}/" not in u]
    lake_seen = f" UNION ALL SELECT event_id FROM read_parquet({others!r})" if others else ""
    con.execute(f"CREATE TEMP TABLE acc_seen AS SELECT id AS event_id FROM acc_ledger WHERE k = 'e'{lake_seen}")
    con.execute("CREATE TEMP TABLE acc_rejected AS SELECT id AS event_id, text AS reason FROM acc_ledger WHERE k = 'r'")
    con.execute(
        "CREATE TEMP TABLE acc_stored AS SELECT id AS member_id, nullif(text, '') AS tier, n AS debt FROM acc_ledger "
        "WHERE k = 'm'"
    )
    con.execute(
        "CREATE TEMP TABLE acc_book AS SELECT id AS member_id FROM acc_ledger WHERE k = 'b' "
        "UNION SELECT member_id FROM acc_stored WHERE debt > 0"
    )
    con.unregister("acc_ledger")


def apply(engine: Engine, data_dir: Path, month: str) -> int:
    """Bring the SQL members up to date with the lake month and record it in ``lake_months``, in one transaction
    (nothing when it is recorded already); returns the Delta version the month is read at."""
    table = accruals_dir(data_dir)
    version = lake.table_version(table)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT accruals_version FROM lake_months WHERE month = ?", [month])
    if rows:
        return int(rows[0][0])
    files = lake.file_uris(table, version, {"month": month})
    members: list[tuple] = []
    if files:
        con = duck.connect()
        try:
            members = con.execute(
                f"SELECT member_id, arg_min(day, seq) AS first_day, sum(earned) AS earned, min(seq) AS first_seq "
                f"FROM read_parquet({files!r}) GROUP BY member_id ORDER BY first_seq"
            ).fetchall()
        finally:
            con.close()
    with engine.begin() as conn:
        if execute(conn, "SELECT 1 FROM lake_months WHERE month = ?", [month]):
            return version
        pg = conn.dialect.name == "postgresql"
        executemany(
            conn,
            "INSERT INTO members (member_id, first_spend_on, paid, balance, first_seen_on) VALUES (?,?,?,?,?) "
            "ON CONFLICT (member_id) DO UPDATE SET first_spend_on = coalesce(members.first_spend_on, "
            "excluded.first_spend_on), paid = excluded.paid, balance = members.balance + excluded.balance",
            [
                (m, day if pg else day.isoformat(), True, int(earned), day if pg else day.isoformat())
                for m, day, earned, _ in members
            ],
        )
        execute(
            conn,
            "INSERT INTO lake_months (month, lake_dir, accruals_version, result) VALUES (?, ?, ?, NULL)",
            [month, str(Path(data_dir).resolve() / "lake"), version],
        )
    return version


__all__ = ["ACCRUALS", "APP", "LakePart", "apply", "applicable", "done", "finish", "month_version", "post"]
