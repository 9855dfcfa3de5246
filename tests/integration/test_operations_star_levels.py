"""Star levels (星级) drive the new-star rules and the managers, as seed 002 writes them:

"对新晋级星级客户3个工作日内100%绑定到客户经理,1个月内100%完成新晋级客户拜访。采用电话+短信方式,电话拜访前三个工作日
发送新晋级告知短信" and "对5-7星级客户我们采用电话+短信得方式,告知客户自己得联系方式" (维护与支持服务手册, seed 002).

The close emits star-level events; the operations plan says whether promotions are star levels or points tiers
(``sla.promotions``) and holds ratios for star levels (``assignment.tiers: - {star_levels: [7], ratio: 200}``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.ops_fixtures import MONTH, PLAN, write_roster, write_snapshot, write_tier_events
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.close import store as close_store
from weixi.operations import monthly_tasks
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.operations.plan import load_operations_text
from weixi.segments.stars import star_events_sql

RUN = date(2026, 9, 30)
ROSTER = [
    ("K1", "张经理", "manager", "T1", "L1", ""),
    ("K2", "李经理", "manager", "T1", "L1", ""),
    ("I1", "实习生", "intern", "T1", "L1", ""),
    ("A1", "坐席一", "agent", "OB", "L1", ""),
    ("L1", "组长", "lead", "T1", "", ""),
]


def _with_stars(
    data: Path, month: str, stars: list[int], status: dict[int, str] | None = None, silver: int = 0
) -> list[str]:
    """A snapshot of members with these star levels: the first ``silver`` in the silver tier, the rest standard."""
    ids = write_snapshot(data, month, {"silver": silver, "standard": len(stars) - silver})
    path = data / "snapshots" / f"month={month}" / "part-0.parquet"
    t = pq.read_table(path)
    t = t.set_column(t.schema.get_field_index("star_level"), "star_level", pa.array(stars, pa.int8()))
    if status:
        t = t.set_column(
            t.schema.get_field_index("status"), "status", pa.array([status.get(i, "active") for i in range(len(stars))])
        )
    pq.write_table(t, path)
    return ids


def _star_events(data: Path, month: str, rows: list[tuple[str, int, int]]) -> None:
    """(member_id, from_star, to_star) written as the close writes them."""
    t = pa.table(
        {
            "member_id": pa.array([r[0] for r in rows], pa.string()),
            "month": [month] * len(rows),
            "event": ["upgraded" if r[2] > r[1] else "downgraded" for r in rows],
            "from_star": pa.array([r[1] for r in rows], pa.int8()),
            "to_star": pa.array([r[2] for r in rows], pa.int8()),
            "effective_on": pa.array([date(2026, 9, 28)] * len(rows), pa.date32()),
        }
    )
    path = data / "close" / "star_events" / f"month={month}" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(t, path)


def _plan(tmp_path: Path, replace: dict[str, str] | None = None):
    text = PLAN.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    plan, diagnostics = load_operations_text(text, str(tmp_path / "ops.yaml"))
    assert plan is not None, [d.format() for d in diagnostics]
    return plan


def test_the_close_emits_star_level_ups_and_downs_but_not_for_new_or_departed_members(tmp_path):
    prev, cur = tmp_path / "prev", tmp_path / "cur"
    a = _with_stars(prev, "2026-08", [3, 6, 4, 2])
    _with_stars(cur, "2026-09", [5, 6, 2, 7, 7], status={3: "left"})  # a[3] left; the fifth member is new
    sql = star_events_sql(
        "2026-09",
        str(cur / "snapshots" / "month=2026-09" / "part-0.parquet"),
        str(prev / "snapshots" / "month=2026-08" / "part-0.parquet"),
    )
    rows = duckdb.sql(sql).fetchall()
    assert [(r[0], r[2], r[3], r[4], str(r[5])) for r in rows] == [
        (a[0], "upgraded", 3, 5, "2026-09-30"),  # 新晋级星级客户: 3★ -> 5★, on the month end
        (a[2], "downgraded", 4, 2, "2026-09-30"),
    ]
    first = star_events_sql("2026-09", str(cur / "snapshots" / "month=2026-09" / "part-0.parquet"), None)
    assert duckdb.sql(first).fetchall() == []  # the first close has no level to be promoted from


def test_the_plan_holds_ratios_for_star_levels_and_says_what_a_promotion_is(tmp_path):
    plan = _plan(tmp_path)
    assert plan.promotions.by == ("star_levels", "tiers") and plan.promotions.to_stars == (5, 6, 7)
    stars = {t.star_levels: t.ratio for t in plan.tiers if t.star_levels}
    assert stars == {(7,): 200, (6,): 500, (5,): 1000}  # 钻卡 1:200, 金卡 1:500, 银卡 1:1000
    cadence = {c.id: c for c in plan.cadence}
    assert cadence["star-rights-sms"].star_levels == (5, 6, 7) and cadence["star-rights-sms"].task == "sms"
    assert cadence["star-rights-call"].star_levels == (5, 6, 7) and cadence["star-rights-call"].task == "care_call"
    bad = PLAN.read_text(encoding="utf-8").replace(
        "{star_levels: [6], ratio: 500,", "{star_levels: [6, 7], ratio: 500,"
    )
    plan, diagnostics = load_operations_text(bad, "ops.yaml")
    assert plan is None
    assert [(d.code, d.params) for d in diagnostics if d.is_error] == [("ops_plan_star_level_two_ratios", {"star": 7})]


@pytest.fixture
def world(db_url, tmp_path):
    engine = make_engine(db_url)
    write_roster(tmp_path / "roster.csv", ROSTER)
    ops_staff.load_staff(engine, tmp_path / "roster.csv")
    return engine, tmp_path / "data"


def test_a_new_star_member_is_bound_in_3_working_days_and_gets_the_sms_then_the_call(world, tmp_path):
    engine, data = world
    ids = _with_stars(data, MONTH, [5, 7, 6, 3, 4, 2])
    _star_events(data, MONTH, [(ids[0], 4, 5), (ids[4], 3, 4), (ids[5], 3, 2)])
    write_tier_events(data, MONTH, [(ids[3], "upgraded", "standard", "silver", date(2026, 9, 28))])
    plan = _plan(tmp_path, {"by: [star_levels, tiers]": "by: [star_levels]"})
    report = monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    bind = ops.get_task(engine, f"{MONTH}/bind-new-star/{ids[0]}")
    assert bind["status"] == "done" and bind["outcome"] == "bound" and bind["assignee"] in ("K1", "K2", "I1")
    assert bind["due_on"] == "2026-10-08"  # 3 working days from 2026-09-28 across National Day
    assert "4★ → 5★" in bind["reason"]
    sms = ops.get_task(engine, f"{MONTH}/visit-new-star-notice/{ids[0]}")
    call = ops.get_task(engine, f"{MONTH}/visit-new-star/{ids[0]}")
    assert sms["kind"] == "sms" and call["not_before"] == "2026-10-10"  # "电话拜访前三个工作日发送新晋级告知短信"
    assert call["due_on"] == "2026-10-28" and call["assignee"] == bind["assignee"]  # "1个月内…完成新晋级客户拜访"
    # 3★ -> 4★ is below the levels managers hold (to_stars: [5, 6, 7]); a fall is no promotion; the points-tier
    # upgrade does not count when the plan promotes by star levels only.
    with engine.connect() as conn:
        promoted = conn.exec_driver_sql(
            "SELECT DISTINCT member_id FROM ops_tasks WHERE sla_rule IN ('bind-new-star', 'visit-new-star')"
        ).fetchall()
    assert [r[0] for r in promoted] == [ids[0]]
    # 5-7★ members are held by a manager at the star ratios; 2-4★ go to the pool.
    held = report["assignment"]["by_tier"]
    assert set(held) == {"stars-5", "stars-6", "stars-7", "standard"} and held["standard"] == {"pool": 3}
    # "对5-7星级客户我们采用电话+短信得方式": this month's rights SMS (the quarter's call comes with October's run,
    # the first month of Q4); the promoted member's notice SMS stands in for it ("每个月最少发一条短信").
    with engine.connect() as conn:
        rights = conn.exec_driver_sql(
            "SELECT member_id, kind FROM ops_tasks WHERE sla_rule = 'star-rights-sms' ORDER BY member_id"
        ).fetchall()
    assert rights == [(ids[1], "sms"), (ids[2], "sms")]


def test_tier_upgrades_still_count_when_the_plan_says_tiers(world, tmp_path):
    engine, data = world
    ids = _with_stars(data, MONTH, [5, 3])
    _star_events(data, MONTH, [(ids[0], 4, 5)])
    write_tier_events(data, MONTH, [(ids[1], "upgraded", "standard", "silver", date(2026, 9, 28))])
    plan = _plan(tmp_path, {"by: [star_levels, tiers]": "by: [tiers]"})
    monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    with engine.connect() as conn:
        promoted = conn.exec_driver_sql(
            "SELECT DISTINCT member_id FROM ops_tasks WHERE sla_rule = 'visit-new-star'"
        ).fetchall()
    assert [r[0] for r in promoted] == [ids[1]]


def test_every_5_to_7_star_member_of_a_generated_operator_has_a_manager_and_a_task(tmp_path):
    """The issue: "With the shipped telecom plan on a 2,000-member operator, 343 members at 5–7★ got no manager
    and no task." Now every one of them has both, and the close's star promotions start the new-star rules."""
    from weixi.close.run import close_month
    from weixi.generator.run import GenerateConfig, generate
    from weixi.plans import service as plans

    data, db = tmp_path / "data", tmp_path / "ops.db"
    generate(GenerateConfig(members=2000, months=3, seed=5, out=str(data), end_month="2026-10"))
    engine = make_engine(str(db))
    schema.upgrade(engine)
    plans.apply_plan(engine, Path(__file__).resolve().parents[2] / "plans" / "examples" / "telecom-points.yaml")
    for month in ("2026-08", "2026-09", "2026-10"):
        summary = close_month(engine, data, month)["summary"]
    assert summary["star_events"].get("upgraded", 0) > 0
    events = close_store.file(data, "star_events", "2026-10")  # the close's lake table: its month's file
    assert (
        duckdb.sql(f"SELECT count(*) FROM '{events}' WHERE event = 'upgraded'").fetchone()[0]
        == (summary["star_events"]["upgraded"])
    )
    roster = [(f"K{i}", f"经理{i}", "manager", "T1", "L1", "") for i in range(1, 4)]
    write_roster(tmp_path / "roster.csv", [*roster, ("A1", "坐席一", "agent", "OB", "L1", ""), ROSTER[-1]])
    ops_staff.load_staff(engine, tmp_path / "roster.csv")
    report = monthly_tasks.create_month(engine, data, "2026-10", ops.plan_or_fail(str(PLAN)), date(2026, 11, 2))
    assert report["assignment"]["shortfall"] == {}
    snap = close_store.file(data, "snapshots", "2026-10")
    assignments = data / "operations" / "assignments" / "month=2026-10" / "part-0.parquet"
    tasks = data / "operations" / "tasks" / "month=2026-10" / "part-0.parquet"
    stars, managed, with_task = duckdb.sql(f"""
        SELECT count(*), count(a.staff_id), count(*) FILTER (WHERE EXISTS (
                 SELECT 1 FROM '{tasks}' t WHERE t.member_id = s.member_id AND t.status = 'open'))
        FROM '{snap}' s LEFT JOIN '{assignments}' a USING (member_id)
        WHERE s.status = 'active' AND s.star_level BETWEEN 5 AND 7""").fetchone()
    assert stars > 300 and managed == stars and with_task == stars
    # Every star promotion into 5-7★ this month was bound to the member's manager at once.
    unbound = duckdb.sql(f"""
        SELECT count(*) FROM '{events}' e JOIN '{snap}' s USING (member_id)
        WHERE e.event = 'upgraded' AND e.to_star >= 5 AND s.status = 'active' AND NOT EXISTS (
          SELECT 1 FROM '{tasks}' t WHERE t.member_id = e.member_id AND t.kind = 'bind' AND t.status = 'done')""")
    assert unbound.fetchone()[0] == 0
    json.dumps(report)  # the run's report is plain JSON (the CLI prints it)


def test_a_member_two_monthly_sms_rules_cover_gets_one_sms(world, tmp_path):
    """A silver-tier 6★ member is in the monthly care SMS (silver and up) and the 5-7★ rights SMS: one a month."""
    engine, data = world
    ids = _with_stars(data, MONTH, [6, 2, 5], silver=2)
    monthly_tasks.create_month(engine, data, MONTH, _plan(tmp_path), RUN)
    with engine.connect() as conn:
        sms = conn.exec_driver_sql(
            "SELECT member_id, sla_rule FROM ops_tasks WHERE kind = 'sms' ORDER BY member_id"
        ).fetchall()
    assert sms == [(ids[0], "monthly-sms"), (ids[1], "monthly-sms"), (ids[2], "star-rights-sms")]
