"""Issue 20 §3 (and the SLA across the year end of §2): contact cadences made month by month, no bind for a member
who has left, and ``--date D`` work stamped at D. The plan is written here with the seeds' rules so the test reads
them as written (seed 002: 康乐部会员维护方案, 3G VIP客户维系; seed 003: 邮政大客户维护方案)."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest

from tests.integration.ops_fixtures import PLAN as EXAMPLE_PLAN
from tests.integration.ops_fixtures import write_members, write_roster, write_snapshot, write_tier_events
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.operations import calendar, care_run, clock, monthly_tasks, sla
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.operations.plan import load_operations_text

PLAN = """\
kind: operations
plan: cadence-test
name: 接触频次
assignment:
  tiers:
    - {tier: diamond, ratio: 200, holders: [manager]}
    - {tier: gold, ratio: 500, holders: [manager]}
    - {tier: silver, ratio: 1000, holders: [manager]}
  pool: [agent]
sla:
  target: "1"
  rules:
    # seed 002: "对新晋级星级客户3个工作日内100%绑定到客户经理"
    - {id: bind-new-star, on: upgraded, action: bind, within: {working_days: 3}}
contact:
  cadence:
    # seed 003: "一周一个电话、一月一条问候短信、一季度一次登门拜访等方式同客户保持日常联系"
    - {id: weekly-call, who: {key_account: [diamond]}, task: care_call, every: week}
    - {id: quarterly-visit, who: {key_account: [diamond, gold]}, task: visit, every: quarter}
    # seed 002: "每个月最少发一条短信维护会员。(节假日、生日、换季、平时祝福语必须发短信)"
    - {id: monthly-sms, who: {tiers: [silver, gold, diamond]}, task: sms, every: month, template: monthly-care}
templates:
  - {id: monthly-care, channel: sms, body: "尊敬的{{ member.surname }}{{ member.title }}:感谢您一直以来的支持。"}
"""


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_DATA", str(tmp_path / "data"))  # no calendar declared: 2027 is provisional
    calendar.forget_declared()
    engine = make_engine(db_url)
    plan, diagnostics = load_operations_text(PLAN, "cadence-test.yaml")
    assert plan is not None, [d.format() for d in diagnostics]
    write_roster(
        tmp_path / "roster.csv",
        [
            ("K1", "张经理", "manager", "T1", "L1", ""),
            ("A1", "坐席", "agent", "OB", "L1", ""),
            ("L1", "组长", "lead", "T1", "", ""),
        ],
    )
    ops_staff.load_staff(engine, tmp_path / "roster.csv")
    yield engine, tmp_path / "data", plan
    calendar.forget_declared()


def _snapshot(data, month: str) -> list[str]:
    """Members 1-2 diamond (key accounts diamond, gold), 3 gold (key account gold), 4 silver, 5 standard."""
    return write_snapshot(
        data,
        month,
        {"diamond": 2, "gold": 1, "silver": 1, "standard": 1},
        key_accounts={"M000001": "diamond", "M000002": "gold", "M000003": "gold"},
    )


def _tasks(engine, month: str) -> list[tuple]:
    with engine.connect() as conn:
        return execute(
            conn,
            "SELECT sla_rule, member_id, kind, not_before, due_on FROM ops_tasks WHERE month = ? "
            "ORDER BY sla_rule, member_id, not_before",
            [month],
        )


def _iso(rows) -> list[tuple]:
    return [tuple(str(x) for x in r) for r in rows]


def test_weekly_call_monthly_sms_and_quarterly_visit_follow_the_seed(world):
    """Seed 003: "一周一个电话、一月一条问候短信、一季度一次登门拜访"; seed 002: "每个月最少发一条短信维护会员"."""
    engine, data, plan = world
    ids = _snapshot(data, "2026-10")
    monthly_tasks.create_month(engine, data, "2026-10", plan, date(2026, 10, 1))
    rows = _iso(_tasks(engine, "2026-10"))
    # A call each week (Monday to Sunday) that starts in October, for the diamond key account only.
    mondays = [date(2026, 10, d) for d in (5, 12, 19, 26)]
    assert [r for r in rows if r[0] == "weekly-call"] == [
        ("weekly-call", ids[0], "care_call", str(d), str(d + timedelta(days=6))) for d in mondays
    ]  # the last week runs into November: 10-26 to 11-01
    # One visit a quarter, made in the quarter's first month and due by its end: diamond and gold key accounts.
    assert [r for r in rows if r[0] == "quarterly-visit"] == [
        ("quarterly-visit", m, "visit", "2026-10-01", "2026-12-31") for m in ids[:3]
    ]
    # One greeting SMS a month for every silver-and-up member; none for the standard member.
    assert [r for r in rows if r[0] == "monthly-sms"] == [
        ("monthly-sms", m, "sms", "2026-10-01", "2026-10-31") for m in ids[:4]
    ]
    # November: the weekly calls and the SMS again, no visit (the quarter's visit is already made).
    _snapshot(data, "2026-11")
    monthly_tasks.create_month(engine, data, "2026-11", plan, date(2026, 11, 2))
    nov = _iso(_tasks(engine, "2026-11"))
    assert [r[3] for r in nov if r[0] == "weekly-call"] == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    assert not [r for r in nov if r[0] == "quarterly-visit"]
    assert len([r for r in nov if r[0] == "monthly-sms"]) == 4


def test_no_bind_for_a_member_who_has_left(world):
    """Seed 002: "对新晋级星级客户3个工作日内100%绑定到客户经理" — a member of the month, not one who has left."""
    engine, data, plan = world
    ids = _snapshot(data, "2026-09")
    path = data / "snapshots" / "month=2026-09" / "part-0.parquet"
    table = pq.read_table(path)
    status = ["churned" if m == ids[3] else "active" for m in table["member_id"].to_pylist()]
    pq.write_table(table.set_column(table.schema.get_field_index("status"), "status", [status]), path)
    write_tier_events(
        data,
        "2026-09",
        [
            (ids[2], "upgraded", "silver", "gold", date(2026, 9, 28)),
            (ids[3], "upgraded", "standard", "silver", date(2026, 9, 28)),  # left before the run
        ],
    )
    monthly_tasks.create_month(engine, data, "2026-09", plan, date(2026, 9, 30))
    binds = {r[1] for r in _tasks(engine, "2026-09") if r[0] == "bind-new-star"}
    assert binds == {ids[2]}
    assert not ops.member_tasks(engine, ids[3])


def test_tasks_created_with_a_date_are_stamped_at_that_date_and_binds_are_on_time(world):
    """``tasks create --date 2026-09-30`` run on another day: created and bound on 09-30, so the bind due on 10-08
    (3 working days across National Day) counts on time in the SLA report, not late."""
    engine, data, plan = world
    ids = _snapshot(data, "2026-09")
    write_tier_events(data, "2026-09", [(ids[2], "upgraded", "silver", "gold", date(2026, 9, 28))])
    report = monthly_tasks.create_month(engine, data, "2026-09", plan, date(2026, 9, 30))
    assert report["run_date"] == "2026-09-30" and report["provisional"] is False
    bind = ops.get_task(engine, f"2026-09/bind-new-star/{ids[2]}")
    assert bind["status"] == "done" and bind["due_on"] == "2026-10-08"
    with engine.connect() as conn:
        created, closed, created_on = execute(
            conn, "SELECT created_at, closed_at, created_on FROM ops_tasks WHERE task_id = ?", [bind["task_id"]]
        )[0]
    tz = clock.zone(engine)
    assert clock.local(created, tz).date() == clock.local(closed, tz).date() == date(2026, 9, 30)
    assert str(created_on) == "2026-09-30"
    line = next(
        r
        for r in sla.sla_report(engine, plan, "2026-09", date(2026, 10, 20))["rules"]
        if r["sla_rule"] == "bind-new-star"
    )
    assert (line["due"], line["on_time"], line["late"]) == (1, 1, 0)


def test_a_bind_across_the_year_end_is_due_on_the_provisional_2027_calendar(world):
    """3 working days from Wed 2026-12-30: Thu 12-31, (元旦 1-1, weekend), Mon 2027-01-04, Tue 01-05."""
    engine, data, plan = world
    ids = _snapshot(data, "2026-12")
    write_tier_events(data, "2026-12", [(ids[2], "upgraded", "silver", "gold", date(2026, 12, 30))])
    report = monthly_tasks.create_month(engine, data, "2026-12", plan, date(2026, 12, 31))
    assert report["calendar"] == {"2026": "package", "2027": "provisional"} and report["provisional"] is True
    bind = ops.get_task(engine, f"2026-12/bind-new-star/{ids[2]}")
    assert bind["due_on"] == "2027-01-05"


def test_the_care_run_of_spring_festival_2027_greets_on_the_provisional_calendar(world):
    """Issue 20 §2 with seed 002: "节假日关怀除春节与国庆节由省公司统一发送关怀短信外" — the 2027 Spring Festival greeting
    goes out centrally on 除夕 2027-02-05 though chinese-calendar 1.11.0 stops at 2026; the run says provisional."""
    engine, data, _ = world
    plan = ops.plan_or_fail(str(EXAMPLE_PLAN))
    ids = _snapshot(data, "2026-12")
    write_members(
        data,
        [
            {"member_id": ids[0], "name": "王芳", "gender": "F", "birthday": date(1990, 5, 1), "phone": "13800000001"},
            {"member_id": ids[3], "name": "李雷", "gender": "M", "birthday": date(1985, 3, 3), "phone": "13800000002"},
        ],
    )
    r = care_run.run_day(engine, data, plan, date(2027, 2, 5))
    assert r["calendar"] == {"2027": "provisional"} and r["provisional"] is True
    assert r["by_occasion"] == {"春节": 2}
    assert care_run.run_day(engine, data, plan, date(2027, 2, 6))["by_occasion"] == {}  # once, on the first day
