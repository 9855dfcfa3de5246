"""A big lake month's files by member range (``weixi.close.lake_write``): the ranges cover every row once, in
member order, and a range the sample's cuts leave empty gets no file."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from weixi.close import lake_write


def _tables(con, members: list[str]) -> None:
    """``acc_events`` as ``accrual_sql.lake_events`` makes it: a row per event with its entries."""
    con.execute(
        "CREATE TEMP TABLE acc_events AS SELECT 'E' || i AS event_id, m AS member_id, 'bill' AS type, "
        "'2026-10-31T23:59:59+08:00' AS occurred_at, DATE '2026-10-31' AS day, 1000::BIGINT AS amount_fen, "
        "NULL::VARCHAR AS attrs, 10::BIGINT AS earned, 1::BIGINT AS plan_version, DATE '2027-10-31' AS expires_on, "
        "i::BIGINT AS seq, [struct_pack(rule_id := 'bill', points := 10::BIGINT, note := 'n')] AS entries "
        "FROM (SELECT unnest(?) AS m, generate_subscripts(?, 1) AS i)",
        [members, members],
    )


def test_ranges_cover_every_row_once_in_member_order(tmp_path, monkeypatch):
    monkeypatch.setattr(lake_write, "FILE_ROWS", 50)
    con = duckdb.connect()
    members = [f"M{i % 97:04d}" for i in range(1000)]
    _tables(con, members)
    files = lake_write.write_partition(con, tmp_path / "accruals", {"month": "2026-10"}, len(members))
    assert len(files) >= 10
    tables = [pq.read_table(f) for f in files]
    assert sum(t.num_rows for t in tables) == 1000
    assert sorted(e for t in tables for e in t["event_id"].to_pylist()) == sorted(f"E{i + 1}" for i in range(1000))
    last = ""
    for t in sorted(tables, key=lambda t: t["member_id"][0].as_py()):
        ids = t["member_id"].to_pylist()
        assert ids == sorted(ids) and ids[0] > last  # sorted within, a member in one file only
        last = ids[-1]


def test_a_range_left_empty_gets_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(lake_write, "FILE_ROWS", 2)
    con = duckdb.connect()
    _tables(con, ["M1"] * 6)  # one member: every cut falls on it, the range below it is empty
    files = lake_write.write_partition(con, tmp_path / "accruals", {"month": "2026-10"}, 6)
    assert len(files) == 1 and pq.read_table(files[0]).num_rows == 6
    assert list((tmp_path / "accruals" / "month=2026-10").iterdir()) == files


def test_ordered_ranges_written_side_by_side_hold_what_one_by_one_holds(tmp_path, monkeypatch):
    """The close's rows (in member order already) are written a range per cursor, one DuckDB thread each, in a
    number of ranges that is a multiple of the threads: the same rows, files and order as one range after another,
    and the connection's threads given back."""
    monkeypatch.setattr(lake_write, "FILE_ROWS", 70)  # 15 ranges one by one, 16 side by side on 2 threads
    members = sorted(f"M{i % 97:04d}" for i in range(1000))

    def written(threads: int, folder: str):
        con = duckdb.connect(config={"threads": threads})
        # the close's objects are in the connection's main schema, which its cursors see (not TEMP)
        con.execute("CREATE TABLE acc_src AS SELECT unnest(?) AS m, generate_subscripts(?, 1) AS i", [members, members])
        con.execute(
            "CREATE VIEW acc_events AS SELECT 'E' || i AS event_id, m AS member_id, 'bill' AS type, "
            "'2026-10-31T23:59:59+08:00' AS occurred_at, DATE '2026-10-31' AS day, 1000::BIGINT AS amount_fen, "
            "NULL::VARCHAR AS attrs, 10::BIGINT AS earned, 1::BIGINT AS plan_version, DATE '2027-10-31' AS expires_on, "
            "i::BIGINT AS seq, [struct_pack(rule_id := 'bill', points := 10::BIGINT, note := 'n')] AS entries "
            "FROM acc_src"
        )
        files = lake_write.write_partition(con, tmp_path / folder, {"month": "2026-10"}, len(members), ordered=True)
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == threads
        return files

    side_by_side, one_by_one = written(2, "two"), written(1, "one")
    assert (len(side_by_side), len(one_by_one)) == (16, 15)
    tables = [pq.read_table(f) for f in side_by_side]
    assert pa.concat_tables(tables).equals(pa.concat_tables([pq.read_table(f) for f in one_by_one]))
    keys = [(m, s) for t in tables for m, s in zip(t["member_id"].to_pylist(), t["seq"].to_pylist())]
    assert keys == sorted(keys) and len(keys) == 1000  # every row once, the files in member order as listed
