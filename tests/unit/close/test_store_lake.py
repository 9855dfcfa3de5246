"""The close's tables in Delta Lake (weixi.close.store): a month per commit with its application transaction,
time travel to the versions a close recorded, the earlier layout upgraded in place, damaged files found."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from weixi.close import store
from weixi.errors import Conflict


def _snap(ids, balance):
    return pa.table({"member_id": ids, "points_balance": pa.array([balance] * len(ids), pa.int64())})


def test_each_month_is_a_commit_with_the_close_application_version(tmp_path):
    store.write(tmp_path, "snapshots", "2026-08", _snap(["M1", "M2"], 10))
    store.write(tmp_path, "snapshots", "2026-09", _snap(["M1"], 20))
    table = DeltaTable(str(tmp_path / "snapshots"))
    assert table.version() == 1
    assert table.transaction_version("weixi-close-snapshots") == 202609
    assert table.metadata().partition_columns == ["month"]
    assert store.months(tmp_path, "snapshots") == ["2026-08", "2026-09"]
    assert store.read(tmp_path, "snapshots", "2026-08").column("member_id").to_pylist() == ["M1", "M2"]
    # any Delta reader sees the whole table with its month column
    whole = pa.table(table.to_pyarrow_table())
    assert sorted(whole.column("month").to_pylist()) == ["2026-08", "2026-08", "2026-09"]


def test_a_rewritten_month_keeps_its_earlier_version_readable(tmp_path):
    store.write(tmp_path, "snapshots", "2026-08", _snap(["M1"], 10))
    store.write_manifest(tmp_path, "2026-08", {"month": "2026-08", "status": "closed"})
    recorded = store.close_versions(tmp_path, "2026-08")
    assert recorded == {"snapshots": 0}
    assert store.read_manifest(tmp_path, "2026-08")["lake"] == {"snapshots": 0}
    first = store.path(tmp_path, "snapshots", "2026-08")
    store.write(tmp_path, "snapshots", "2026-08", _snap(["M1"], 99))  # a rerun replaces the month
    now = store.path(tmp_path, "snapshots", "2026-08")
    assert now != first and first.exists()  # the earlier file is kept for the earlier version
    assert store.files(tmp_path, "snapshots") == [now]
    assert store.read(tmp_path, "snapshots", "2026-08").column("points_balance").to_pylist() == [99]
    old = store.read(tmp_path, "snapshots", "2026-08", version=recorded["snapshots"])
    assert old.column("points_balance").to_pylist() == [10]
    assert store.path(tmp_path, "snapshots", "2026-08", version=0) == first


def test_closed_months_are_rows_of_the_closes_table(tmp_path):
    assert store.closed_months(tmp_path) == [] and store.read_manifest(tmp_path, "2026-08") is None
    store.write_manifest(tmp_path, "2026-08", {"month": "2026-08", "status": "closed", "summary": {"active": 3}})
    store.write_manifest(tmp_path, "2026-09", {"month": "2026-09", "status": "closing"})
    assert store.closed_months(tmp_path) == ["2026-08"]
    assert store.read_manifest(tmp_path, "2026-08")["summary"] == {"active": 3}
    assert DeltaTable(str(tmp_path / "close" / "closes")).transaction_version("weixi-close-closes") == 202609
    assert not (tmp_path / "close" / "2026-08.json").exists()  # no JSON manifests any more


def _legacy_folder(data):
    """A data folder as the close before the lake left it: one part-0.parquet a month, JSON manifests."""
    for month, balance in (("2026-08", 10), ("2026-09", 20)):
        part = data / "snapshots" / f"month={month}"
        part.mkdir(parents=True)
        pq.write_table(_snap(["M1"], balance), part / "part-0.parquet")
        hist = data / "close" / "history" / f"month={month}"
        hist.mkdir(parents=True)
        pq.write_table(pa.table({"member_id": ["M1"], "month": [month]}), hist / "part-0.parquet")
        manifest = {"month": month, "status": "closed", "summary": {"active": 1}}
        (data / "close" / f"{month}.json").write_text(json.dumps(manifest), encoding="utf-8")
    (data / "snapshots" / "month=2026-10.tmp").mkdir()  # a write in progress of that layout: not a month


def test_a_data_folder_of_the_earlier_layout_is_upgraded_in_place(tmp_path):
    _legacy_folder(tmp_path)
    assert store.upgrade(tmp_path) == ["history", "snapshots", "closes"]
    assert store.upgrade(tmp_path) == []  # once
    assert store.months(tmp_path, "snapshots") == ["2026-08", "2026-09"]
    assert store.files(tmp_path, "snapshots") == [
        tmp_path / "snapshots" / f"month={m}" / "part-0.parquet" for m in ("2026-08", "2026-09")
    ]
    assert store.closed_months(tmp_path) == ["2026-08", "2026-09"]
    assert store.read_manifest(tmp_path, "2026-09")["summary"] == {"active": 1}
    assert DeltaTable(str(tmp_path / "close" / "history")).transaction_version("weixi-close-history") == 202609
    assert store.damage(tmp_path, deep=True) == []


def test_the_earlier_layout_is_upgraded_on_first_use(tmp_path):
    _legacy_folder(tmp_path)
    assert store.closed_months(tmp_path) == ["2026-08", "2026-09"]  # a reader upgrades
    assert (tmp_path / "close" / "closes" / "_delta_log").is_dir()
    assert store.read(tmp_path, "snapshots", "2026-09").column("points_balance").to_pylist() == [20]
    assert (tmp_path / "snapshots" / "_delta_log").is_dir()
    # a month of the earlier layout dropped beside the table is taken in too
    part = tmp_path / "snapshots" / "month=2026-10"
    part.mkdir()
    pq.write_table(_snap(["M1"], 30), part / "part-0.parquet")
    assert store.months(tmp_path, "snapshots") == ["2026-08", "2026-09", "2026-10"]


@pytest.fixture
def lake_folder(tmp_path):
    store.write(tmp_path, "snapshots", "2026-08", _snap([f"M{i}" for i in range(500)], 10))
    store.write(tmp_path, "history", "2026-08", pa.table({"member_id": ["M1"], "month": ["2026-08"]}))
    store.write_manifest(tmp_path, "2026-08", {"month": "2026-08", "status": "closed"})
    assert store.damage(tmp_path, deep=True) == []
    return tmp_path


def test_a_deleted_lake_file_is_named_and_the_close_refuses(lake_folder):
    gone = store.path(lake_folder, "snapshots", "2026-08")
    gone.unlink()
    found = store.damage(lake_folder)
    assert found == [{"code": "lake_file_missing", "table": "snapshots", "file": str(gone)}]
    with pytest.raises(Conflict) as refused:
        store.refuse_if_damaged(lake_folder)
    assert refused.value.code == "lake_file_missing"
    assert refused.value.params == {"table": "snapshots", "file": str(gone), "count": 1}


def test_a_truncated_or_overwritten_lake_file_is_named(lake_folder):
    snap = store.path(lake_folder, "snapshots", "2026-08")
    hist = store.path(lake_folder, "history", "2026-08")
    snap.write_bytes(snap.read_bytes()[:-100])  # cut short
    size = hist.stat().st_size
    hist.write_bytes(b"x" * size)  # the same size, not Parquet any more
    found = {d["table"]: d for d in store.damage(lake_folder)}
    assert found["snapshots"]["code"] == "lake_file_size" and found["snapshots"]["file"] == str(snap)
    assert found["close/history"]["code"] == "lake_file_corrupt" and found["close/history"]["file"] == str(hist)
    with pytest.raises(Conflict) as refused:
        store.refuse_if_damaged(lake_folder)
    assert refused.value.code in ("lake_file_size", "lake_file_corrupt") and refused.value.params["count"] == 2


def test_a_damaged_page_inside_a_file_is_found_by_the_deep_check(lake_folder):
    snap = store.path(lake_folder, "snapshots", "2026-08")
    raw = bytearray(snap.read_bytes())
    for i in range(8, 200):  # the first data page's bytes, the footer intact
        raw[i] ^= 0xFF
    snap.write_bytes(bytes(raw))
    assert store.damage(lake_folder) == []  # the footer still reads: the close's quick check passes
    deep = store.damage(lake_folder, deep=True)
    assert [(d["code"], d["file"]) for d in deep] == [("lake_file_corrupt", str(snap))]


def test_a_damaged_table_log_is_named(lake_folder):
    log = lake_folder / "snapshots" / "_delta_log" / "00000000000000000000.json"
    log.write_text("not json\n", encoding="utf-8")
    store._CURRENT.clear()  # as a fresh process finds it
    found = store.damage(lake_folder)
    assert [(d["code"], d["table"]) for d in found] == [("lake_log_corrupt", "snapshots")]
    assert found[0]["file"] == str(lake_folder / "snapshots" / "_delta_log")
    with pytest.raises(Conflict) as refused:
        store.refuse_if_damaged(lake_folder)
    assert refused.value.code == "lake_log_corrupt"


def test_a_month_of_several_files_is_read_whole(tmp_path):
    """PySpark commits a month as several files (sorted across them): every reader takes them all."""
    from weixi.adapters import lake
    from weixi.members.overview import tier_by_value
    from weixi.operations.work_queue import left_members

    table = store.table_dir(tmp_path, "snapshots")
    parts = []
    for ids, status in ((["M1", "M2"], "active"), (["M3", "M4"], "left")):
        part = lake.new_file(table, {"month": "2026-08"})
        rows = {
            "member_id": ids,
            "status": [status] * 2,
            "tier": ["gold", "silver"],
            "value_grade": ["A", "B"],
        }
        pq.write_table(pa.table(rows), part)
        parts.append(part)
    schema = pq.read_schema(parts[0])
    lake.commit_files(
        table, parts, {"month": "2026-08"}, schema, "weixi-close-snapshots", 202608, mode="overwrite-partition"
    )
    assert store.uris(tmp_path, "snapshots", "2026-08") == sorted(str(p) for p in parts)
    assert store.read(tmp_path, "snapshots", "2026-08").num_rows == 4
    assert store.source(tmp_path, "snapshots", "2026-08").startswith("read_parquet([")
    with pytest.raises(ValueError, match="uris"):
        store.path(tmp_path, "snapshots", "2026-08")
    assert tier_by_value(tmp_path, "2026-08") == [
        {"tier": "gold", "value_grade": "A", "members": 1},
        {"tier": "silver", "value_grade": "B", "members": 1},
    ]
    assert left_members(tmp_path, ["M1", "M3", "M4"]) == {"M3", "M4"}
    assert store.source(tmp_path, "snapshots", "2026-09") is None
