"""The archive reader: current rows (latest load wins), month filter, contracts view, member lookup."""

from __future__ import annotations

import duckdb
import pytest

from tests.unit.members.conftest import TODAY, write_csv
from weixi.adapters import archive
from weixi.adapters.archive import ArchiveError, members_lookup, scan, scan_sql
from weixi.members.intake import load_file

H = ["bill_id", "member_id", "month", "billed_on", "amount"]


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("WEIXI_DATA", raising=False)
    assert str(archive.data_dir()) == "weixi-data"
    monkeypatch.setenv("WEIXI_DATA", str(tmp_path))
    assert archive.data_dir() == tmp_path
    assert str(archive.data_dir("x")) == "x"


def test_scan_without_loads_is_a_plain_parquet_read(data):
    sql = scan_sql(data, "bills", "2026-03")
    assert "row_number" not in sql and "NOT EXISTS" not in sql and "month = '2026-03'" in sql
    con = duckdb.connect()
    assert scan(con, data, "bills", "2026-03").count("*").fetchone()[0] == 2
    assert scan(con, data, "bills", "2026-02").count("*").fetchone()[0] == 0
    assert "star_level" in scan(con, data, "members").columns
    with pytest.raises(ArchiveError):
        scan(con, data, "bills", "2026-3")
    with pytest.raises(ArchiveError):
        scan(con, data, "members", "2026-03")


def test_empty_archive_gives_empty_relations(tmp_path):
    con = duckdb.connect()
    rel = scan(con, tmp_path, "usage", "2026-03")
    assert rel.fetchall() == [] and rel.columns[:2] == ["member_id", "month"]
    assert members_lookup(tmp_path, "M1") is None


def test_latest_load_wins_across_several_loads(data, tmp_path):
    for i, amount in enumerate(["1.00", "2.00", "3.00"]):
        load_file(write_csv(tmp_path / f"b{i}.csv", H, [["B1", "M0000000001", "2026-03", "2026-03-31", amount],
                                                         [f"X{i}", "M0000000001", "2026-03", "2026-03-31", "1"]]),
                  "bills", data=data, today=TODAY)  # fmt: skip
    con = duckdb.connect()
    sql = scan_sql(data, "bills", "2026-03")
    assert "row_number" in sql
    got = dict(scan(con, data, "bills", "2026-03").project("bill_id, amount_fen").fetchall())
    assert got == {"B1": 300, "B2": 12900, "X0": 100, "X1": 100, "X2": 100}
    # an older file loaded again (same content as load 1, different name) wins again: it is the latest load
    load_file(write_csv(tmp_path / "again.csv", H, [["B1", "M0000000001", "2026-03", "2026-03-31", "1.00"]]),
              "bills", data=data, today=TODAY)  # fmt: skip
    assert dict(scan(con, data, "bills", "2026-03").project("bill_id, amount_fen").fetchall())["B1"] == 100


def test_uncommitted_load_file_is_invisible_and_cleaned_up(data, tmp_path):
    load_file(write_csv(tmp_path / "b.csv", H, [["B9", "M0000000001", "2026-03", "2026-03-31", "1"]]), "bills",
              data=data, today=TODAY)  # fmt: skip
    stray = data / "bills" / "load-000099-deadbeef.parquet"
    stray.write_bytes((data / "bills" / "part-00000.parquet").read_bytes())  # as if a load died before its commit
    con = duckdb.connect()
    assert scan(con, data, "bills").count("*").fetchone()[0] == 3
    load_file(write_csv(tmp_path / "c.csv", H, [["B8", "M0000000001", "2026-03", "2026-03-31", "1"]]), "bills",
              data=data, today=TODAY)  # fmt: skip
    assert not stray.exists()


def test_members_lookup_sees_loads(data, tmp_path):
    assert members_lookup(data, "M0000000003")["name"] == "会员3"
    assert members_lookup(data, "M0000000099") is None
    load_file(write_csv(tmp_path / "m.csv", ["用户编号", "姓名"], [["M0000000003", "新名字"]]), "members", data=data,
              today=TODAY)  # fmt: skip
    m = members_lookup(data, "M0000000003")
    assert m["name"] == "新名字" and m["phone"] == "13812340003"
    assert members_lookup(data, "M0000000004")["name"] == "会员4"
