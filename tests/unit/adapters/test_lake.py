"""The lake's Delta primitives (weixi.adapters.lake): commits with application transactions, reruns skipped,
time travel, and an uncommitted file that no reader sees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from weixi.adapters import lake

SCHEMA = pa.schema([("member_id", pa.string()), ("points", pa.int64()), ("day", pa.date32())])


def _write(table_dir, month, rows):
    path = lake.new_file(table_dir, {"month": month})
    pq.write_table(pa.table({k: [r[i] for r in rows] for i, k in enumerate(SCHEMA.names)}, schema=SCHEMA), path)
    return path


def _rows(uris):
    if not uris:
        return []
    con = duckdb.connect()
    files = ", ".join(f"'{u}'" for u in uris)
    return con.execute(f"SELECT member_id, points FROM read_parquet([{files}]) ORDER BY member_id").fetchall()


def test_a_commit_carries_its_application_version(tmp_path):
    t = tmp_path / "accruals"
    assert lake.table_version(t) is None and lake.app_version(t, "weixi-close-x") is None
    f = _write(t, "2024-01", [("M1", 10, dt.date(2024, 1, 3)), ("M2", 5, dt.date(2024, 1, 9))])
    v = lake.commit_files(t, [f], {"month": "2024-01"}, SCHEMA, "weixi-close-x", 202401)
    assert v == 0 == lake.table_version(t)
    assert lake.app_version(t, "weixi-close-x") == 202401
    assert lake.app_version(t, "someone-else") is None
    assert _rows(lake.file_uris(t)) == [("M1", 10), ("M2", 5)]
    # any Delta reader sees the month as a partition column and the statistics the commit recorded
    table = DeltaTable(str(t))
    assert table.metadata().partition_columns == ["month"]
    assert set(pa.table(table.to_pyarrow_table()).column("month").to_pylist()) == {"2024-01"}
    actions = pa.table(table.get_add_actions(flatten=True))
    assert actions.column("num_records").to_pylist() == [2]
    assert actions.column("min.member_id").to_pylist() == ["M1"]
    assert actions.column("max.member_id").to_pylist() == ["M2"]


def test_a_second_commit_of_the_same_version_is_skipped(tmp_path):
    t = tmp_path / "history"
    first = _write(t, "2024-01", [("M1", 10, None)])
    lake.commit_files(t, [first], {"month": "2024-01"}, SCHEMA, "weixi-close-history", 202401)
    again = _write(t, "2024-01", [("M9", 99, None)])
    v = lake.commit_files(
        t, [again], {"month": "2024-01"}, SCHEMA, "weixi-close-history", 202401, mode="overwrite-partition"
    )
    assert v == 0  # nothing committed: the month is in
    assert _rows(lake.file_uris(t)) == [("M1", 10)]


def test_overwrite_partition_replaces_one_month_and_old_versions_stay_readable(tmp_path):
    t = tmp_path / "history"
    jan = _write(t, "2024-01", [("M1", 10, None)])
    lake.commit_files(t, [jan], {"month": "2024-01"}, SCHEMA, "app", 202401)
    feb = _write(t, "2024-02", [("M2", 20, None)])
    lake.commit_files(t, [feb], {"month": "2024-02"}, SCHEMA, "app", 202402, mode="overwrite-partition")
    feb2 = _write(t, "2024-02", [("M3", 30, None)])
    v = lake.commit_files(t, [feb2], {"month": "2024-02"}, SCHEMA, "other", 1, mode="overwrite-partition")
    assert v == 2
    assert _rows(lake.file_uris(t)) == [("M1", 10), ("M3", 30)]
    assert _rows(lake.file_uris(t, partition={"month": "2024-02"})) == [("M3", 30)]
    # time travel: version 1 still reads the February it had, and version 0 had no February at all
    assert _rows(lake.file_uris(t, version=1)) == [("M1", 10), ("M2", 20)]
    assert lake.file_uris(t, version=0, partition={"month": "2024-02"}) == []


def test_a_crash_between_the_parquet_and_the_commit_leaves_the_table_as_it_was(tmp_path):
    t = tmp_path / "accruals"
    jan = _write(t, "2024-01", [("M1", 10, None)])
    lake.commit_files(t, [jan], {"month": "2024-01"}, SCHEMA, "app", 202401)
    orphan = _write(t, "2024-02", [("M2", 20, None)])  # written, then the process dies before committing
    assert orphan.exists()
    assert lake.table_version(t) == 0 and lake.app_version(t, "app") == 202401
    assert lake.file_uris(t) == [str(jan)]
    assert _rows(lake.file_uris(t)) == [("M1", 10)]
    # the rerun writes its own file and commits it; the orphan stays unread
    feb = _write(t, "2024-02", [("M2", 20, None)])
    lake.commit_files(t, [feb], {"month": "2024-02"}, SCHEMA, "app", 202402)
    assert str(orphan) not in lake.file_uris(t) and str(feb) in lake.file_uris(t)


def test_an_unpartitioned_table_and_an_empty_file(tmp_path):
    t = tmp_path / "closes"
    path = lake.new_file(t)
    pq.write_table(SCHEMA.empty_table(), path)
    assert lake.commit_files(t, [path], {}, SCHEMA, "app", 1) == 0
    assert _rows(lake.file_uris(t)) == []
    assert DeltaTable(str(t)).metadata().partition_columns == []


def test_statistics_leave_out_a_column_a_row_group_gave_no_bounds_for(tmp_path):
    """A reader prunes files on the log's min/max: a column whose row groups did not all give theirs has none."""
    t = tmp_path / "history"
    path = lake.new_file(t, {"month": "2024-01"})
    rows = pa.table({"member_id": ["M1", "M2", "M3", "M4"], "points": pa.array([1, None, None, 4], pa.int64())})
    pq.write_table(rows, path, row_group_size=2, write_statistics=["points"])  # no statistics for member_id
    lake.commit_files(t, [path], {"month": "2024-01"}, rows.schema, "app", 1)
    actions = pa.table(DeltaTable(str(t)).get_add_actions(flatten=True))
    names = actions.column_names
    assert actions.column("num_records").to_pylist() == [4]
    assert "min.member_id" not in names or actions.column("min.member_id").to_pylist() == [None]
    assert actions.column("min.points").to_pylist() == [1] and actions.column("max.points").to_pylist() == [4]
    assert actions.column("null_count.points").to_pylist() == [2]
    # and a lookup by member still finds the file
    assert DeltaTable(str(t)).file_uris(file_pruning_predicate="member_id = 'M3'") == [str(path)]


def test_a_table_named_relative_to_the_working_folder_commits_its_files(tmp_path, monkeypatch):
    """`make run` serves `var/operator`, a folder relative to the working one: the files the close writes there
    are named from it, not from inside the table (the table's path doubled: the demo's first close failed)."""
    monkeypatch.chdir(tmp_path)
    t = Path("var") / "operator" / "lake" / "accruals"
    f = _write(t, "2024-01", [("M1", 10, dt.date(2024, 1, 3))])
    assert not f.is_absolute()
    assert lake.commit_files(t, [f], {"month": "2024-01"}, SCHEMA, "weixi-close-x", 202401) == 0
    assert _rows(lake.file_uris(t)) == [("M1", 10)]


def test_a_commit_carries_more_application_versions_and_a_version_no_longer_readable_is_none(tmp_path):
    t = tmp_path / "expiries"
    f = _write(t, "2024-01", [("M1", 10, None)])
    lake.commit_files(t, [f], {"month": "2024-01"}, SCHEMA, "weixi-expiry", 20240201, also={"weixi-expiry-read": 7})
    assert lake.app_version(t, "weixi-expiry") == 20240201 and lake.app_version(t, "weixi-expiry-read") == 7
    g = _write(t, "2024-02", [("M2", 5, None)])
    lake.commit_files(t, [g], {"month": "2024-02"}, SCHEMA, "weixi-expiry", 20240301, also={"weixi-expiry-read": 9})
    assert lake.app_version(t, "weixi-expiry-read") == 9  # the last commit's
    assert lake.files_at(t, 0) == [str(f)]
    (t / "_delta_log" / "00000000000000000000.json").unlink()  # the log of version 0 gone (cleaned up, say)
    assert lake.files_at(t, 0) is None


def test_inside_tables_kept_a_table_is_loaded_once_and_sees_every_commit(tmp_path, monkeypatch):
    """:func:`lake.tables_kept` (a close's whole run): one load of each table's log, then only the commits made since,
    whoever made them: here another thread (which keeps no tables of its own) and a folder made again."""
    import shutil
    import threading

    loads = []
    real = lake.DeltaTable

    class Counted(real):
        def __init__(self, *args, **kwargs):
            loads.append((threading.current_thread() is threading.main_thread(), args[0]))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(lake, "DeltaTable", Counted)
    t = tmp_path / "history"
    jan = _write(t, "2024-01", [("M1", 10, None)])
    lake.commit_files(t, [jan], {"month": "2024-01"}, SCHEMA, "weixi-close-history", 202401)
    loads.clear()
    with lake.tables_kept():
        assert lake.table_version(t) == 0 and lake.app_version(t, "weixi-close-history") == 202401
        feb = _write(t, "2024-02", [("M2", 5, None)])
        other = threading.Thread(
            target=lake.commit_files, args=(t, [feb], {"month": "2024-02"}, SCHEMA, "weixi-close-history", 202402)
        )
        other.start()
        other.join()
        assert lake.app_version(t, "weixi-close-history") == 202402  # the other thread's commit seen
        assert _rows(lake.file_uris(t)) == [("M1", 10), ("M2", 5)]
        assert _rows(lake.file_uris(t, version=0)) == [("M1", 10)]  # time travel: that version, loaded apart
        mar = _write(t, "2024-03", [("M3", 1, None)])
        assert lake.commit_files(t, [mar], {"month": "2024-03"}, SCHEMA, "weixi-close-history", 202403) == 2
        assert lake.table_version(t) == 2 and not lake.check(t)
        # this thread loaded the table once, and version 0 apart; the other thread loaded its own
        assert [main for main, _ in loads].count(True) == 2 and [main for main, _ in loads].count(False) > 0
        shutil.rmtree(t)  # the folder made again: a new table, whose log is read afresh
        again = _write(t, "2024-01", [("M9", 9, None)])
        assert lake.commit_files(t, [again], {"month": "2024-01"}, SCHEMA, "weixi-close-history", 202401) == 0
        assert _rows(lake.file_uris(t)) == [("M9", 9)] and lake.app_version(t, "weixi-close-history") == 202401
    with lake.tables_kept():
        before = len(loads)
        for _ in range(5):
            lake.table_version(t), lake.app_version(t, "weixi-close-history"), lake.file_uris(t)
        assert len(loads) - before == 1  # fifteen questions, one load
    before = len(loads)
    lake.table_version(t), lake.file_uris(t)
    assert len(loads) - before == 2  # outside the block: a load a question, as before
