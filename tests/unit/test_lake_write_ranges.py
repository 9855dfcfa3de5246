"""A big lake month's files by member range (``weixi.close.lake_write``): the ranges cover every row once, in
member order, and a range the sample's cuts leave empty gets no file."""

from __future__ import annotations

import duckdb
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
