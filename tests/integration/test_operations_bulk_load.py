"""The month's tasks go into SQLite in one transaction of a loading process: the same rows as the plain
executemany path, the secondary indexes dropped and rebuilt for a bulk load, a crash mid-load leaves nothing,
and a rerun after it loads everything once."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date

import pytest

from tests.integration.ops_fixtures import MONTH, PLAN, write_roster, write_snapshot, write_tier_events
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.operations import monthly_tasks
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff

RUN = date(2026, 9, 30)
STAMPS = ("created_at", "closed_at")


def _loader(*lines: str) -> list[str]:
    """The loading process with its module settings changed (``L`` is the module)."""
    code = "\n".join(
        ["import sys", "from weixi.adapters import tasks_load as L", *lines, "sys.exit(L.main(sys.argv[1:]))"]
    )
    return [sys.executable, "-c", code]


@pytest.fixture
def world(tmp_path):
    data = tmp_path / "data"
    ids = write_snapshot(data, MONTH, {"diamond": 300, "gold": 400, "silver": 900, "standard": 400})
    write_tier_events(
        data,
        MONTH,
        [(ids[i], "upgraded", "gold", "diamond", date(2026, 9, 28)) for i in range(0, 40)]
        + [(ids[i], "will_downgrade", "gold", "silver", date(2026, 12, 31)) for i in range(400, 430)],
    )
    write_roster(
        tmp_path / "roster.csv",
        [
            ("K1", "张经理", "manager", "T1", "L1", ""),
            ("K2", "李经理", "manager", "T1", "L1", ""),
            ("I1", "实习生", "intern", "T1", "L1", ""),
            ("A1", "坐席一", "agent", "OB", "L1", ""),
            ("A2", "坐席二", "agent", "OB", "L1", ""),
            ("L1", "组长", "lead", "T1", "", ""),
        ],
    )
    return data, tmp_path


def _engine(path, roster):
    engine = make_engine(str(path))
    schema.upgrade(engine)
    ops_staff.load_staff(engine, roster)
    return engine


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(ops_tasks)") if r[1] not in STAMPS]
        return db.execute(f"SELECT {', '.join(cols)} FROM ops_tasks ORDER BY task_id").fetchall()


def _indexes(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'ops_tasks' ORDER BY name").fetchall()


def test_the_loading_process_writes_what_executemany_writes_and_keeps_the_indexes(world, monkeypatch):
    data, tmp = world
    plan = ops.plan_or_fail(str(PLAN))
    slow = _engine(tmp / "slow.db", tmp / "roster.csv")
    with monkeypatch.context() as m:
        m.setattr(monthly_tasks, "_sqlite_path", lambda engine: None)  # the executemany path (PostgreSQL's)
        monthly_tasks.create_month(slow, data, MONTH, plan, RUN)
    fast_db = tmp / "fast.db"
    fast = _engine(fast_db, tmp / "roster.csv")
    indexes = _indexes(fast_db)
    monkeypatch.setattr(
        monthly_tasks, "LOADER", _loader("L.BATCH = 97", "L.BULK_MIN_ROWS = 1")
    )  # batches; indexes rebuilt
    report = monthly_tasks.create_month(fast, data, MONTH, plan, RUN)
    assert report["tasks"]["new_in_database"] == report["tasks"]["made"] > 1000
    assert _rows(fast_db) == _rows(tmp / "slow.db")
    assert _indexes(fast_db) == indexes and len(indexes) >= 5
    with sqlite3.connect(fast_db) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done = db.execute("SELECT closed_at, closed_by, created_at FROM ops_tasks WHERE status = 'done'").fetchall()
        assert done and all(c == a and by == "system" and a.endswith("+08:00") for c, by, a in done)


def test_a_crash_mid_load_leaves_no_task_and_the_rerun_loads_them_once(world, monkeypatch):
    data, tmp = world
    plan = ops.plan_or_fail(str(PLAN))
    path = tmp / "ops.db"
    engine = _engine(path, tmp / "roster.csv")
    indexes = _indexes(path)
    crash = _loader(
        "L.BATCH = 100",
        "L.BULK_MIN_ROWS = 1",
        "import os, pyarrow as pa",
        "def cut(reader):",
        "    def batches():",
        "        yield reader.read_next_batch()",
        "        yield reader.read_next_batch()",
        "        os._exit(9)  # killed mid-insert: no rollback, no commit",
        "    return pa.RecordBatchReader.from_batches(reader.schema, batches())",
        "load = L.load",
        "L.load = lambda **kw: load(**kw, batches=cut)",
    )
    monkeypatch.setattr(monthly_tasks, "LOADER", crash)
    with pytest.raises(ops.OperationsError, match="nothing was loaded"):
        monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    assert _rows(path) == [] and _indexes(path) == indexes  # the dropped indexes are back (never committed)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    monkeypatch.setattr(monthly_tasks, "LOADER", _loader("L.BATCH = 100", "L.BULK_MIN_ROWS = 1"))
    first = monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    rows = _rows(path)
    assert first["tasks"]["new_in_database"] == first["tasks"]["made"] == len(rows) > 1000
    again = monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    assert again["tasks"]["new_in_database"] == 0 and again["tasks"]["reassigned_open_tasks"] == 0
    assert _rows(path) == rows and _indexes(path) == indexes


def test_a_second_month_goes_into_the_indexes_in_place_and_moves_the_tasks_of_a_manager_who_left(world, monkeypatch):
    data, tmp = world
    write_snapshot(data, "2026-10", {"diamond": 300, "gold": 400, "silver": 900, "standard": 400})
    plan = ops.plan_or_fail(str(PLAN))
    slow = _engine(tmp / "slow.db", tmp / "roster.csv")
    with monkeypatch.context() as m:
        m.setattr(monthly_tasks, "_sqlite_path", lambda engine: None)  # the executemany path (PostgreSQL's)
        monthly_tasks.create_month(slow, data, MONTH, plan, RUN)
        ops_staff.staff_leave(slow, "K2", date(2026, 10, 8))
        slow_next = monthly_tasks.create_month(slow, data, "2026-10", plan, date(2026, 10, 30))
    fast_db = tmp / "fast.db"
    fast = _engine(fast_db, tmp / "roster.csv")
    indexes = _indexes(fast_db)
    monkeypatch.setattr(monthly_tasks, "LOADER", _loader("L.BATCH = 97", "L.BULK_MIN_ROWS = 1"))
    first = monthly_tasks.create_month(fast, data, MONTH, plan, RUN)
    assert "index_ix_ops_tasks_queue" in first["seconds"]["database_steps"]  # an empty table: rebuilt
    ops_staff.staff_leave(fast, "K2", date(2026, 10, 8))
    report = monthly_tasks.create_month(fast, data, "2026-10", plan, date(2026, 10, 30))
    new, had = report["tasks"]["new_in_database"], first["tasks"]["new_in_database"]
    assert 0 < new <= 2 * had and not [s for s in report["seconds"]["database_steps"] if s.startswith("index_")]
    assert report["tasks"]["reassigned_open_tasks"] == slow_next["tasks"]["reassigned_open_tasks"] > 0
    assert _rows(fast_db) == _rows(tmp / "slow.db")
    assert _indexes(fast_db) == indexes
    with sqlite3.connect(fast_db) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM ops_tasks WHERE assignee = 'K2' AND status = 'open'").fetchone()[0] == 0
