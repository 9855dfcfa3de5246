"""The batch engine: Ibis on DuckDB (default, nothing to start) or on PySpark (local or a cluster)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import archive, lake
from weixi.adapters.duck import QUIET, bound_memory  # noqa: F401  (bound_memory: the close's connections)
from weixi.close import store
from weixi.close.months import previous_month
from weixi.close.sources import MONTHLY, scan_sql
from weixi.errors import Invalid
from weixi.startup import imports_settled

ENGINES = ("duckdb", "pyspark")


class UnknownEngine(Invalid, ValueError):
    """A batch engine that is not one of :data:`ENGINES`."""


def warm(engine: str = "duckdb") -> None:
    """Load the engine's Ibis backend in a thread of its own, now: the close does so while its accrual runs in
    DuckDB (which lets go of the interpreter), instead of in :func:`connect` after it (the backend imports every
    SQL dialect's compiler: 0.3-0.5 s)."""
    if engine == "duckdb":
        threading.Thread(target=_load_duckdb_backend, name="weixi-warm-ibis", daemon=True).start()


def _load_duckdb_backend() -> None:
    with imports_settled():
        import pyarrow.dataset  # noqa: F401  (what DuckDB imports at its first scan of an Arrow table)

        ibis.duckdb  # noqa: B018


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


def read_files(con, files: list[str], name: str | None = None) -> ibis.Table:
    """Parquet files as one Ibis table on ``con`` (DuckDB reads the list; PySpark's reader takes one path)."""
    if con.name == "duckdb":
        return con.read_parquet(files, table_name=name) if name else con.read_parquet(files)
    return (
        ibis.union(*(con.read_parquet(p) for p in files), distinct=False)
        if len(files) > 1
        else con.read_parquet(files[0])
    )


def previous_tiers(con, data_dir: Path, month: str) -> ibis.Table | None:
    """Last month's snapshot's tiers (member_id, tier, tier_since, grace_until); None in the first month."""
    prev = store.uris(data_dir, "snapshots", previous_month(month))
    if not prev:
        return None
    return read_files(con, prev).select("member_id", "tier", "tier_since", "grace_until")


def keeper(con):
    """The :data:`weixi.segments.window.Keep` of the close: on DuckDB an intermediate read more than once (the
    tier decisions, the members' window totals) is stored once as a table, instead of being computed again by
    every query that reads it; PySpark plans are left as they are. ``drop()`` frees the stored tables."""
    kept: list[str] = []

    def keep(expr: ibis.Table, name: str) -> ibis.Table:
        if con.name != "duckdb":
            return expr
        kept.append(f"close_{name}")
        return con.create_table(kept[-1], expr, overwrite=True)

    def drop() -> None:
        while kept:
            free(con, kept.pop())

    keep.drop = drop
    return keep


def free(con, name: str) -> None:
    """Drop table ``name`` of ``con`` (Ibis), if it is there."""
    con.drop_table(name, force=True)


SPARK_ROW_GROUP_BYTES = 1 << 20  # Spark sizes row groups in bytes; ~1 MiB keeps a member lookup's read small


def spark_write(
    con, expr: ibis.Table, folder: Path, order: list[str] | None = None, file_rows: int | None = None
) -> list[Path]:
    """Spark computes ``expr`` and writes its rows as Parquet files into ``folder`` (emptied first), sorted by
    ``order`` across the files when given; returns the files in that order. The rows never pass through this
    process (the driver): it learns the files' names, nothing more. ``file_rows``: at most that many rows a file
    (each writer task cuts its sorted rows in turn: the files stay in order by name)."""
    if order:
        expr = expr.order_by(order)
    return spark_write_sql(con._session, con.compile(expr), folder, file_rows=file_rows)


def spark_write_sql(session, sql: str, folder: Path, single: bool = False, file_rows: int | None = None) -> list[Path]:
    """:func:`spark_write` of a Spark SQL query; ``single``: by one writer task, the order kept (in one file, or in
    files of ``file_rows`` rows in turn)."""
    from pyspark.sql import functions as F

    frame = session.sql(sql)
    # every column nullable, as in DuckDB's files (a literal column would be written NOT NULL): a test the
    # optimizer cannot fold away, true on every row
    live = F.spark_partition_id() >= 0
    frame = frame.select(*(F.when(live, F.col(f"`{c}`")).alias(c) for c in frame.columns))
    if single:
        frame = frame.coalesce(1)
    shutil.rmtree(folder, ignore_errors=True)
    writer = (
        frame.write.option("compression", "zstd")
        .option("parquet.block.size", SPARK_ROW_GROUP_BYTES)
        .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    )
    if file_rows:
        writer = writer.option("maxRecordsPerFile", file_rows)
    writer.parquet(str(folder))
    return sorted(Path(folder).glob("part-*.parquet"))


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


def commit_spark_files(data_dir: Path, dataset: str, month: str, files: list[Path]) -> list[str]:
    """Move the files Spark wrote for ``dataset``'s month into its Delta table (renames, under fresh names) and
    commit them in place of the month's files, as :func:`weixi.close.store.write_query` does for a file DuckDB
    wrote; returns them (what ``read_parquet([...])`` takes)."""
    table = store.table_dir(data_dir, dataset)
    store.upgrade_table(data_dir, dataset)
    stem = lake.new_file(table, {"month": month}).with_suffix("")  # one fresh name, numbered in Spark's order:
    moved = [stem.with_name(f"{stem.name}-{i:05d}.parquet") for i in range(len(files))]  # read in turn, sorted
    for found, target in zip(files, moved):
        Path(found).rename(target)
    spark_schema = pq.read_schema(moved[0])
    schema = pa.schema([f.with_nullable(True) for f in spark_schema])  # the table's; Spark's metadata left out
    lake.commit_files(
        table,
        moved,
        {"month": month},
        schema,
        store.app_id(dataset),
        store.month_number(month),
        mode="overwrite-partition",
        replace=True,
    )
    return [str(p) for p in moved]
