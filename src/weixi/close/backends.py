"""The batch engine: Ibis on DuckDB (default, nothing to start) or on PySpark (local or a cluster)."""

from __future__ import annotations

from pathlib import Path

import ibis

from weixi.adapters import archive
from weixi.adapters.duck import QUIET, bound_memory  # noqa: F401  (bound_memory: the close's connections)
from weixi.close.sources import MONTHLY, scan_sql
from weixi.errors import Invalid

ENGINES = ("duckdb", "pyspark")


class UnknownEngine(Invalid, ValueError):
    """A batch engine that is not one of :data:`ENGINES`."""


def connect(engine: str = "duckdb", spark=None):
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET preserve_insertion_order = false")
        con.raw_sql(QUIET)  # see weixi.adapters.duck
        return con
    if engine == "pyspark":
        if spark is None:
            spark = local_spark()
        return ibis.pyspark.connect(spark)
    raise UnknownEngine("close_unknown_engine", engine=engine, engines=list(ENGINES))


def local_spark():
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("weixi-close")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def archive_table(con, data_dir: Path, table: str, month: str | None = None) -> ibis.Table:
    """An archive table as an Ibis expression on ``con``'s backend, filtered to ``month`` when given."""
    if con.name == "duckdb":
        return con.sql(scan_sql(data_dir, table, month))
    t = con.read_parquet(str(Path(data_dir) / table / "part-*.parquet"))
    loads = archive.load_files(data_dir, table)
    if loads:  # the same "latest load wins by key" rule as archive.scan_sql, in Ibis
        keys = list(archive.KEYS[table])
        loaded = ibis.union(
            *(con.read_parquet(str(path)).mutate(_seq=ibis.literal(seq)) for seq, path in loads), distinct=False
        )
        rank = ibis.row_number().over(group_by=keys, order_by=ibis.desc("_seq"))
        latest = loaded.mutate(_rank=rank).filter(lambda x: x._rank == 0).drop("_seq", "_rank")
        common = [c for c in t.columns if c in latest.columns]
        t = ibis.union(t.select(common).anti_join(latest, keys), latest.select(common), distinct=False)
    if month and table in MONTHLY:
        t = t.filter(t.month == month)
    return t
