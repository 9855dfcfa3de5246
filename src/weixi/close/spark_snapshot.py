"""The snapshot and the star-level events of a PySpark close, assembled by Spark.

The same SQL as on DuckDB (:func:`weixi.close.snapshot.snapshot_sql`, :func:`weixi.segments.stars.star_events_sql`),
translated to Spark SQL by sqlglot, over Spark views of the same relations: the members and their profile from
the archive, the tiers and segments Spark wrote, the month's history files and the ledger's balances (a Parquet
file the ledger process writes, :mod:`weixi.close.offload`). Spark writes each result as one Parquet file
sorted by member (every reader of a snapshot takes one file a month) and the driver commits it; the joins never
run in the driver, so its memory does not grow with the members.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot

from weixi.close import backends
from weixi.close.backends import archive_table
from weixi.close.history import members_table
from weixi.close.snapshot import PROFILE, scan, snapshot_sql
from weixi.segments.stars import star_events_sql


def spark_sql(duckdb_sql: str) -> str:
    """DuckDB SQL of the close (casts, joins, ``read_parquet('file')``) as Spark SQL."""
    return sqlglot.transpile(duckdb_sql, read="duckdb", write="spark")[0]


def snapshot(
    con, data_dir: Path, month: str, scratch: Path, history: list[str], parts: dict[str, list[Path]], balances: Path
) -> tuple[Path, Path]:
    """Spark writes the month's snapshot and the driver commits it; returns the snapshot file and the file Spark
    wrote of the members whose evaluated tier differs from the ledger's (``member_id``, ``tier``: what the ledger
    is told, by the ledger process; no row of it is read here)."""
    session = con._session
    con.create_view("close_members", members_table(con, data_dir, month), overwrite=True)
    con.create_view("close_profile", archive_table(con, data_dir, "members").select(*PROFILE), overwrite=True)
    for name, files in {**parts, "close_history": history, "close_balances": [balances]}.items():
        session.read.parquet(*(str(f) for f in files)).createOrReplaceTempView(name)
    sql = snapshot_sql(month, history).replace(scan(history), "close_history")
    written = backends.spark_write_sql(session, spark_sql(sql), scratch / "snapshots", single=True)
    snapshot_file = Path(backends.commit_spark_files(data_dir, "snapshots", month, written)[0])
    changed = backends.spark_write_sql(
        session,
        "SELECT t.member_id, t.tier FROM close_tiers t JOIN close_balances b ON b.member_id = t.member_id "
        "WHERE t.tier IS NOT NULL AND b.ledger_tier IS DISTINCT FROM t.tier ORDER BY t.member_id",
        scratch / "changed_tiers",
        single=True,
    )
    return snapshot_file, changed[0]


def star_events(con, data_dir: Path, month: str, scratch: Path, snapshot_file: Path, previous: list[str]) -> Path:
    """Spark writes the month's star-level events (one file) and the driver commits it; returns the file.
    ``previous``: the files of last month's snapshot (none in the first month; several when DuckDB cut it)."""
    sql = star_events_sql(month, snapshot_file, previous)
    if previous:  # Spark reads the previous month's files as a view (its SQL has no list of files)
        con._session.read.parquet(*(str(f) for f in previous)).createOrReplaceTempView("close_previous")
        sql = sql.replace(scan(previous), "close_previous")
    sql = spark_sql(sql)
    written = backends.spark_write_sql(con._session, sql, scratch / "star_events", single=True)
    return Path(backends.commit_spark_files(data_dir, "star_events", month, written)[0])
