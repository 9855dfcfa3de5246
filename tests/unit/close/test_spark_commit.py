"""The driver's side of a PySpark close, without Spark: the files Spark wrote are moved into the month's Delta
partition in Spark's order and committed; a rerun of the month replaces them; the Spark SQL of the snapshot."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from weixi.close import store
from weixi.close.backends import commit_spark_files
from weixi.close.spark_snapshot import spark_sql


def _spark_parts(folder, ranges):
    """Parquet files as Spark names them, each a sorted range of members."""
    folder.mkdir(parents=True)
    schema = pa.schema([("member_id", pa.string()), ("month", pa.string())])
    files = []
    for i, (lo, hi) in enumerate(ranges):
        path = folder / f"part-{i:05d}-0f3a-c000.zstd.parquet"
        ids = [f"M{n:010d}" for n in range(lo, hi)]
        pq.write_table(pa.table({"member_id": ids, "month": ["2026-09"] * len(ids)}, schema=schema), path)
        files.append(path)
    return files


def test_spark_files_are_committed_in_order_and_a_rerun_replaces_them(tmp_path):
    data = tmp_path / "data"
    files = _spark_parts(tmp_path / "spark" / "history", [(1, 4), (4, 9), (9, 10)])
    committed = commit_spark_files(data, "history", "2026-09", files)
    assert [p.split("/")[-2] for p in committed] == ["month=2026-09"] * 3
    assert store.uris(data, "history", "2026-09") == committed  # listed in Spark's order
    rows = store.read(data, "history", "2026-09")
    assert rows["member_id"].to_pylist() == [f"M{n:010d}" for n in range(1, 10)]
    assert store.months(data, "history") == ["2026-09"]
    again = commit_spark_files(data, "history", "2026-09", _spark_parts(tmp_path / "rerun", [(1, 3)]))
    assert store.uris(data, "history", "2026-09") == again
    assert store.read(data, "history", "2026-09").num_rows == 2


def test_the_snapshot_sql_reads_the_same_on_spark():
    sql = spark_sql(
        "SELECT CAST(x AS VARCHAR) AS x, CAST(y AS TINYINT) AS y FROM read_parquet('/d/f.parquet') ORDER BY x"
    )
    assert "CAST(x AS STRING)" in sql and "CAST(y AS TINYINT)" in sql
    assert "parquet.`/d/f.parquet`" in sql
