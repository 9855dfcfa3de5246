"""The snapshot and the star-level events of a PySpark close, assembled by Spark.

The same SQL as on DuckDB (:func:`weixi.close.snapshot.snapshot_sql`, :func:`weixi.segments.stars.star_events_sql`),
translated to Spark SQL by sqlglot, over Spark views of the same relations: the members and their profile from
the archive, the tiers and segments Spark wrote, the month's history files and the ledger's balances (a Parquet
file the ledger process writes, :mod:`weixi.close.offload`). Spark writes each result sorted by member by one task:
the snapshot in files of :data:`weixi.close.store.FILE_ROWS` members in turn (a member lookup reads the one whose
range holds it), the star events in one file; the driver commits them. The joins never run in the driver, so its
memory does not grow with the members.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot

from weixi.close import backends, store
from weixi.close.history import members_table
from weixi.close.snapshot import PROFILE, scan, snapshot_sql
from weixi.segments.stars import star_events_sql


def spark_sql(duckdb_sql: str) -> str:
    """DuckDB SQL of the close (casts, joins, ``read_parquet('file')``) as Spark SQL."""
    return sqlglot.transpile(duckdb_sql, read="duckdb", write="spark")[0]


def snapshot(
    con, data_dir: Path, month: str, scratch: Path, history: list[str], parts: dict[str, list[Path]], balances: Path
) -> tuple[Path | list[Path], Path]:
    """Spark writes the month's snapshot and the driver commits it; returns the snapshot file (its files, when cut
    into member ranges) and the file Spark
    wrote of the members whose evaluated tier differs from the ledger's (``member_id``, ``tier``: what the ledger
    is told, by the ledger process; no row of it is read here)."""
    session = con._session
    con.create_view("close_members", members_table(con, data_dir, month, tuple(PROFILE[1:])), overwrite=True)
    for name, files in {**parts, "close_history": history, "close_balances": [balances]}.items():
        session.read.parquet(*(str(f) for f in files)).createOrReplaceTempView(name)
    sql = snapshot_sql(month, history).replace(scan(history), "close_history")
    written = backends.spark_write_sql(session, spark_sql(sql), scratch / "snapshots", True, store.FILE_ROWS)
    committed = [Path(f) for f in backends.commit_spark_files(data_dir, "snapshots", month, written)]
    snapshot_file = committed[0] if len(committed) == 1 else committed
    changed = backends.spark_write_sql(
        session,
        "SELECT t.member_id, t.tier FROM close_tiers t JOIN close_balances b ON b.member_id = t.member_id "
        "WHERE t.tier IS NOT NULL AND b.ledger_tier IS DISTINCT FROM t.tier ORDER BY t.member_id",
        scratch / "changed_tiers",
        single=True,
    )
    return snapshot_file, changed[0]


def star_events(con, data_dir: Path, month: str, scratch: Path, snapshot_file, previous: list[str]) -> Path:
    """Spark writes the month's star-level events (one file) and the driver commits it; returns the file.
    ``snapshot_file``: the month's snapshot (a file, or its files in member ranges); ``previous``: the files of last
    month's snapshot (none in the first month)."""
    sql = star_events_sql(month, snapshot_file, previous)
    for name, files in (("close_current", snapshot_file), ("close_previous", previous)):
        if isinstance(files, list) and files:  # Spark reads a month of several files as a view (its SQL has no list)
            con._session.read.parquet(*(str(f) for f in files)).createOrReplaceTempView(name)
            sql = sql.replace(scan(files), name)
    sql = spark_sql(sql)
    written = backends.spark_write_sql(con._session, sql, scratch / "star_events", single=True)
    return Path(backends.commit_spark_files(data_dir, "star_events", month, written)[0])
