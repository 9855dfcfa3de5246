"""An Arrow table a query unions with lake rows answers a join whose other side is filtered (duck.register): the
pattern of the campaign report over lake months, which DuckDB 1.5's bloom filter pushdown broke for a plain
``con.register`` (the report answered 500)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import duck


def test_an_arrow_table_beside_lake_rows_answers_a_join_on_a_filtered_side(tmp_path):
    ids = [f"M{i:010d}" for i in range(600)]
    pq.write_table(pa.table({"member_id": ids, "fen": list(range(600))}), tmp_path / "lake.parquet")
    sql_rows = pa.table({"member_id": ids[:300], "fen": pa.array([1] * 300, pa.int64())})
    members = pa.table({"member_id": ids[:5] + ids[400:405], "grp": ["treatment"] * 5 + ["control"] * 5})
    con = duck.connect()
    try:
        duck.register(con, "sql_rows", sql_rows)
        duck.register(con, "members", members)
        con.execute(
            f"CREATE TEMP VIEW events AS SELECT * FROM sql_rows UNION ALL "
            f"SELECT * FROM read_parquet('{tmp_path / 'lake.parquet'}')"
        )
        got = con.execute(
            "SELECT count(*), sum(e.fen) FROM events e JOIN members m ON m.member_id = e.member_id "
            "AND m.grp = 'treatment'"
        ).fetchone()
        again = con.execute("SELECT count(*) FROM sql_rows").fetchone()  # registered again under the same name
        duck.register(con, "sql_rows", sql_rows.slice(0, 10))
        replaced = con.execute("SELECT count(*) FROM sql_rows").fetchone()
    finally:
        con.close()
    assert got == (10, 5 + sum(range(5)))  # five members, each a SQL row of 1 fen and a lake row
    assert again == (300,) and replaced == (10,)
