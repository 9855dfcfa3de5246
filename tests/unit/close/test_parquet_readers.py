"""The close's and the lake's Parquet files (written with ``weixi.adapters.duck.PARQUET``: version 2 encodings) are
read the same by each of their readers: DuckDB (the close, the console), PyArrow (a fold, member 360) and Spark (a
close on PySpark reading a month the DuckDB close wrote, or the data team's own tools)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from weixi.adapters import duck
from weixi.close import store

# every kind of column the close's files hold: text ids and codes, dates, small and big integers, NULLs, and the
# accruals' list of earn entries
ROWS = """SELECT 'M' || lpad(CAST(i AS VARCHAR), 7, '0') AS member_id, '2026-10' AS month,
    CASE i % 3 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' END AS tier, DATE '2026-10-01' + CAST(i % 31 AS INTEGER) AS day,
    CAST(i % 8 AS TINYINT) AS star_level, CAST(i * 137 AS BIGINT) AS amount_fen,
    CASE WHEN i % 5 = 0 THEN [] ELSE [{'rule_id': 'bill', 'points': CAST(i AS BIGINT), 'note': NULL::VARCHAR},
      {'rule_id': 'tier-bonus', 'points': CAST(i % 7 AS BIGINT), 'note': 'tier gold: ' || i}] END AS entries
    FROM range(10000) r(i) ORDER BY member_id"""


def _written(tmp_path):
    con = duck.connect()
    try:
        path = store.write_query(con, tmp_path, "snapshots", "2026-10", ROWS)
        expected = con.execute(ROWS).fetch_arrow_table()
    finally:
        con.close()
    return path, expected


def test_duckdb_and_pyarrow_read_back_what_the_close_wrote(tmp_path):
    path, expected = _written(tmp_path)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 3  # 4,096-row groups a member lookup reads one of
    assert pq.read_table(path).equals(expected)
    con = duck.connect()
    try:
        assert con.execute(f"SELECT * FROM read_parquet('{path}')").fetch_arrow_table().equals(expected)
    finally:
        con.close()


@pytest.mark.slow  # a JVM
@pytest.mark.spark
def test_spark_reads_what_the_duckdb_close_wrote(tmp_path, spark):
    path, expected = _written(tmp_path)
    got = spark.read.parquet(str(path)).orderBy("member_id").collect()
    want = expected.to_pylist()
    assert len(got) == len(want)
    for row, w in zip(got, want):
        r = row.asDict(recursive=True)
        assert r == w
