"""Sharing members out among the staff (康乐部会员维护方案, seed 002): "现有会员资源平均分配。把客人分类别(储值金额及消费
能力),分组,抽签。" and "如一个班次有2名员工,维护名额分配给为客人先介绍的人员" — drawn lots that are seeded, reproducible and
audited, and the member kept by who introduced them first."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.integration.ops_fixtures import MONTH, ROOT, write_roster, write_snapshot
from weixi.adapters.db import make_engine
from weixi.operations import monthly_tasks
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.operations.errors import OperationsError
from weixi.users import service as users

PLAN = ROOT / "plans" / "examples" / "recreation-maintenance.yaml"
RUN = "2026-09-30"
ROSTER = [
    ("E1", "早班一", "manager", "T1", "L1", "morning"),
    ("E2", "早班二", "manager", "T1", "L1", "morning"),
    ("I1", "早班实习", "intern", "T1", "L1", "morning"),
    ("N1", "晚班一", "manager", "T1", "L1", "evening"),
    ("N2", "晚班二", "manager", "T1", "L1", "evening"),
    ("L1", "领班", "lead", "T1", "", ""),
]


@pytest.fixture
def world(db_url, tmp_path):
    engine = make_engine(db_url)
    data = tmp_path / "data"
    ids = write_snapshot(data, MONTH, {"stored_value": 40, "timed": 90})
    write_roster(tmp_path / "roster.csv", ROSTER)
    ops_staff.load_staff(engine, tmp_path / "roster.csv")
    return engine, data, ids, ops.plan_or_fail(str(PLAN)), tmp_path


def _holders(data: Path) -> dict[str, str]:
    path = data / "operations" / "assignments" / f"month={MONTH}" / "part-0.parquet"
    return dict(duckdb.sql(f"SELECT member_id, staff_id FROM '{path}'").fetchall())


def _run(engine, data, plan, **kw) -> dict:
    from datetime import date

    return monthly_tasks.create_month(engine, data, MONTH, plan, date.fromisoformat(RUN), **kw)


def test_members_are_dealt_evenly_by_a_seeded_lot_that_draws_the_same_again(world, tmp_path):
    engine, data, ids, plan, _ = world
    report = _run(engine, data, plan, lots_seed="康乐部-2026-09")
    first = _holders(data)
    assert report["assignment"]["share_out"] == {"lots_seed": "康乐部-2026-09", "introduced": 0, "drawn": 130}
    # 分类别、分组: stored-value members go to the evening shift, timed ones to the morning shift (interns included),
    # each group evenly ("平均分配").
    stored = [first[m] for m in ids[:40]]
    timed = [first[m] for m in ids[40:]]
    assert set(stored) == {"N1", "N2"} and stored.count("N1") == 20
    assert set(timed) == {"E1", "E2", "I1"} and sorted(timed.count(s) for s in ("E1", "E2", "I1")) == [30, 30, 30]
    # The same seed draws the same lot on another database; another seed draws another.
    again = tmp_path / "again"
    engine2 = make_engine(str(tmp_path / "again.db"))
    from weixi.adapters import schema

    schema.upgrade(engine2)
    write_snapshot(again, MONTH, {"stored_value": 40, "timed": 90})
    ops_staff.load_staff(engine2, tmp_path / "roster.csv")
    _run(engine2, again, plan, lots_seed="康乐部-2026-09")
    assert _holders(again) == first
    _run(engine2, again, plan, lots_seed="another draw")
    other = _holders(again)
    assert other != first and sorted(other.values()) == sorted(first.values())  # as even, other hands


def test_the_default_seed_is_the_plan_and_month(world):
    engine, data, ids, plan, _ = world
    report = _run(engine, data, plan)
    assert report["assignment"]["share_out"]["lots_seed"] == f"recreation-maintenance/{MONTH}"


def test_who_introduced_the_member_first_keeps_them(world, tmp_path):
    engine, data, ids, plan, _ = world
    intro = tmp_path / "introductions.csv"
    intro.write_text(
        "member_id,staff_id,introduced_at\n"
        f"{ids[41]},E2,2026-09-12 10:20\n"
        f"{ids[41]},E1,2026-09-12 10:05\n"  # E1 and E2 on one shift: E1 introduced first
        f"{ids[0]},N2,2026-09-03 19:00\n"
        f"{ids[1]},I1,2026-09-03 19:30\n"  # an intern cannot hold a stored-value member: drawn by lot instead
        f"{ids[2]},E1,2026-09-04 20:00\n",  # a morning-shift manager cannot hold stored value (evening)
        encoding="utf-8",
    )
    report = _run(engine, data, plan, introductions_file=intro, lots_seed="s")
    held = _holders(data)
    assert held[ids[41]] == "E1" and held[ids[0]] == "N2"
    assert held[ids[1]] in ("N1", "N2") and held[ids[2]] in ("N1", "N2")
    assert report["assignment"]["share_out"]["introduced"] == 2
    assert report["assignment"]["by_tier"]["timed"]["introduced"] == 1


def test_a_bad_introductions_file_is_refused_before_anything_is_written(world, tmp_path):
    engine, data, ids, plan, _ = world
    bad = tmp_path / "intro.csv"
    bad.write_text(f"member_id,staff_id\n{ids[0]},N1\n", encoding="utf-8")
    with pytest.raises(OperationsError) as e:
        _run(engine, data, plan, introductions_file=bad)
    assert e.value.code == "ops_introductions_missing_columns" and e.value.params["missing"] == ["introduced_at"]
    bad.write_text(f"member_id,staff_id,introduced_at\n{ids[0]},N1,yesterday\n", encoding="utf-8")
    with pytest.raises(OperationsError) as e:
        _run(engine, data, plan, introductions_file=bad)
    assert e.value.code == "ops_introductions_bad_rows" and e.value.params["bad"] == 1
    assert not (data / "operations" / "assignments").exists()


def test_the_cli_writes_the_lot_to_the_audit_log(world, monkeypatch):
    from weixi.cli.app import app

    engine, data, ids, plan, tmp_path = world
    url = str(engine.url).removeprefix("sqlite:///")
    result = CliRunner().invoke(
        app,
        [
            "tasks",
            "create",
            "--month",
            MONTH,
            "--date",
            RUN,
            "--plan",
            str(PLAN),
            "--data-dir",
            str(data),
            "--db",
            url,
            "--lots-seed",
            "抽签-1",
            "--json",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["assignment"]["share_out"]["lots_seed"] == "抽签-1"
    entries = users.audit_entries(engine, action="operations.share_out")
    assert entries and entries[0]["subject"] == MONTH
    assert entries[0]["detail"]["lots_seed"] == "抽签-1" and entries[0]["detail"]["drawn"] == 130
