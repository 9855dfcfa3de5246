"""Operations end to end on a real database: assignment by the seed's ratios, continuity and reassignment, the
contact policy, outcomes and retention orders, escalation and the SLA report, the care run and the outbox."""

from __future__ import annotations

import csv
import socket
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.integration.ops_fixtures import MONTH, PLAN, write_members, write_roster, write_snapshot, write_tier_events
from weixi.adapters.db import make_engine
from weixi.incentives.inputs import ORDER_COLUMNS
from weixi.messaging import service as messaging
from weixi.operations import care_run as care
from weixi.operations import monthly_tasks, sla, task_outcomes
from weixi.operations import orders as ops_orders
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff

TZ = ZoneInfo("Asia/Shanghai")
RUN = date(2026, 9, 30)


@pytest.fixture
def world(db_url, tmp_path):
    engine = make_engine(db_url)
    data = tmp_path / "data"
    ids = write_snapshot(data, MONTH, {"diamond": 450, "gold": 500, "silver": 900, "standard": 50})
    write_tier_events(
        data,
        MONTH,
        [
            (ids[0], "upgraded", "gold", "diamond", date(2026, 9, 28)),
            (ids[500], "will_downgrade", "gold", "silver", date(2026, 12, 31)),
        ],
    )
    write_roster(
        tmp_path / "roster.csv",
        [
            ("K1", "张经理", "manager", "T1", "L1", ""),
            ("K2", "李经理", "manager", "T1", "L1", ""),
            ("K3", "王经理", "manager", "T1", "L1", ""),
            ("I1", "实习生", "intern", "T1", "L1", ""),
            ("A1", "坐席一", "agent", "OB", "L1", ""),
            ("L1", "组长", "lead", "T1", "", ""),
        ],
    )
    ops_staff.load_staff(engine, tmp_path / "roster.csv")
    return engine, data, ids, ops.plan_or_fail(str(PLAN)), tmp_path


def assignment(data: Path, month: str = MONTH) -> dict:
    path = data / "operations" / "assignments" / f"month={month}" / "part-0.parquet"
    return {m: (s, t) for m, s, t in duckdb.sql(f"SELECT member_id, staff_id, tier FROM '{path}'").fetchall()}


def test_members_are_assigned_by_the_seed_ratios_balanced_and_kept(world):
    engine, data, ids, plan, _ = world
    report = monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    a = assignment(data)
    load = {}
    for staff, tier in a.values():
        if staff:
            load[staff] = load.get(staff, 0) + {"diamond": 5, "gold": 2, "silver": 1}[tier]
    assert max(load.values()) <= 1000  # 1:200 diamond, 1:500 gold, 1:1000 silver
    assert all(a[m][0] in ("K1", "K2", "K3") for m in ids[:450])  # interns never hold diamond members
    assert report["assignment"]["shortfall"]["gold"]["ratio"] == "1:500"
    diamond_counts = [sum(1 for s, t in a.values() if s == k and t == "diamond") for k in ("K1", "K2", "K3")]
    assert max(diamond_counts) - min(diamond_counts) <= 1  # balanced by workload
    # Next month everyone keeps their manager; when K2 leaves only K2's members move.
    write_snapshot(data, "2026-10", {"diamond": 450, "gold": 500, "silver": 900, "standard": 50})
    ops_staff.staff_leave(engine, "K2", date(2026, 10, 15))
    monthly_tasks.create_month(engine, data, "2026-10", plan, date(2026, 10, 30))
    b = assignment(data, "2026-10")
    for m, (staff, _) in a.items():
        if staff and staff != "K2" and b[m][0] is not None:
            assert b[m][0] == staff
    assert not any(s == "K2" for s, _ in b.values())
    with engine.connect() as conn:
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM ops_tasks WHERE assignee = 'K2' AND status = 'open'").scalar()
            == 0
        )


def test_new_star_is_bound_within_3_working_days_and_gets_sms_then_call(world):
    engine, data, ids, plan, _ = world
    monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    bind = ops.get_task(engine, f"{MONTH}/bind-new-star/{ids[0]}")
    assert bind["status"] == "done" and bind["outcome"] == "bound"
    assert bind["due_on"] == "2026-10-08"  # 3 working days from 2026-09-28 across National Day (Sep 29, 30, Oct 8)
    sms = ops.get_task(engine, f"{MONTH}/visit-new-star-notice/{ids[0]}")
    call = ops.get_task(engine, f"{MONTH}/visit-new-star/{ids[0]}")
    assert sms["kind"] == "sms" and call["not_before"] == "2026-10-10"  # 3 working days after the SMS
    assert call["due_on"] == "2026-10-28"  # within 1 month


def test_rerun_is_safe_and_opted_out_members_get_no_task(world):
    engine, data, ids, plan, _ = world
    ops.record_consent(engine, ids[1], "dnd", "all", "all", "hotline request")
    first = monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    again = monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    assert again["tasks"]["made"] == first["tasks"]["made"] and again["tasks"]["new_in_database"] == 0
    assert first["blocked"]["by_rule"]["dnd"] >= 1
    assert any(e["member_id"] == ids[1] and "hotline request" in e["detail"] for e in first["blocked"]["examples"])
    assert not ops.member_tasks(engine, ids[1])
    ops.record_consent(
        engine, ids[2], "opt_out", "call", "marketing", "SMS reply TD", at=datetime(2026, 9, 3, 10, tzinfo=TZ)
    )
    with pytest.raises(
        ops.OperationsError,
        match=r"opted out of marketing contacts on call since 2026-09-03T10:00.*"
        r"SMS reply TD.*rule: opt_out",
    ):
        ops.add_task(engine, plan, ids[2], "retention_call", date(2026, 10, 9), "K1")
    assert not [t for t in ops.member_tasks(engine, ids[2]) if t["kind"] == "retention_call"]


def test_outcomes_orders_follow_ups_and_bad_input(world):
    engine, data, ids, plan, tmp = world
    monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    t = ops.add_task(engine, plan, ids[3], "retention_call", date(2026, 10, 9), "K1", on=date(2026, 10, 8))
    with pytest.raises(ops.OperationsError, match="no task 'nope'.*nothing was recorded"):
        task_outcomes.record_outcome(engine, plan, data, "nope", "reached", "K1")
    with pytest.raises(ops.OperationsError, match="declined needs --reason"):
        task_outcomes.record_outcome(engine, plan, data, t["task_id"], "declined", "K1")
    with pytest.raises(ops.OperationsError, match="quiet hours 21:00-08:00"):
        task_outcomes.record_outcome(
            engine,
            plan,
            data,
            t["task_id"],
            "callback",
            "K1",
            callback_at=datetime(2026, 10, 9, 22, 30, tzinfo=TZ),
            at=datetime(2026, 10, 8, 10, tzinfo=TZ),
        )
    assert ops.get_task(engine, t["task_id"])["status"] == "open"  # nothing half-written
    result = task_outcomes.record_outcome(
        engine,
        plan,
        data,
        t["task_id"],
        "accepted",
        "K1",
        offer_id="phone_for_credit",
        at=datetime(2026, 10, 8, 10, tzinfo=TZ),
    )
    assert result["order"]["staff_id"] == "K1" and result["order"]["business"] == "phone_for_credit"
    assert result["follow_ups"][0]["kind"] == "care_call"
    with pytest.raises(ops.OperationsError, match="already done"):
        task_outcomes.record_outcome(engine, plan, data, t["task_id"], "reached", "K1")
    out = ops_orders.export_orders(engine, "2026-10", tmp / "orders.csv")
    with open(out["file"], encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == ORDER_COLUMNS and rows[0]["staff_id"] == "K1" and rows[0]["customer_id"] == ids[3]
    u = ops.add_task(engine, plan, ids[4], "care_call", date(2026, 10, 9), "K1", purpose="care", on=date(2026, 10, 8))
    left = task_outcomes.record_outcome(
        engine, plan, data, u["task_id"], "left", "K1", at=datetime(2026, 10, 8, 11, tzinfo=TZ)
    )
    assert left["follow_ups"][0]["kind"] == "retention_call" and "win-back" in left["follow_ups"][0]["reason"]


def test_escalation_and_sla_report_against_the_100_percent_target(world):
    engine, data, ids, plan, _ = world
    monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    call = f"{MONTH}/downgrade-warning/{ids[500]}"
    due = ops.get_task(engine, call)["due_on"]
    esc = sla.escalate(engine, plan, date(2026, 10, 20))
    assert esc["escalated"] >= 1 and ops.get_task(engine, call)["escalated_to"] == "L1"
    report = sla.sla_report(engine, plan, MONTH, as_of=date(2026, 10, 20))
    assert report["target_percent"] == "100%" and report["overall"]["open_overdue"] >= 1
    assert not report["overall"]["meets_target"]
    assert due <= "2026-10-20"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_care_run_queues_each_greeting_once_and_the_outbox_never_sends_twice(world):
    engine, data, ids, plan, tmp = world
    write_members(
        data,
        [
            {
                "member_id": ids[0],
                "name": "王芳",
                "gender": "F",
                "birthday": date(1990, 10, 1),
                "phone": "13800000001",
                "city": "广州",
            },
            {
                "member_id": ids[1],
                "name": "李雷",
                "gender": "M",
                "birthday": date(1985, 3, 3),
                "lunar_birthday": "农历八月廿一",
                "phone": "13800000002",
                "city": "广州",
            },
            {
                "member_id": ids[2],
                "name": "韩梅",
                "gender": "F",
                "birthday": date(1985, 10, 1),
                "phone": None,
                "city": "广州",
            },
        ],
    )
    r = care.run_day(engine, data, plan, date(2026, 10, 1))  # National Day, sent centrally; 八月廿一 is 2026-10-01
    assert r["by_occasion"] == {"生日": 1, "农历生日": 1, "国庆节": 2} and r["no_address"] == 2
    again = care.run_day(engine, data, plan, date(2026, 10, 1))
    assert again["queued"] == 0 and again["already_queued"] == 4
    queued = messaging.listing(engine, "queued")
    assert any("王女士" in m["body"] and "生日" in m["body"] for m in queued)
    at = datetime(2026, 10, 1, 10, tzinfo=TZ)
    port = _free_port()
    down = messaging.send_due(engine, data, at=at, smtp=f"127.0.0.1:{port}", sms_gateway=f"http://127.0.0.1:{port}/sms")
    assert down["sent"] == 0 and down["retry_later"] == 1 and down["not_tried"] == 3
    assert "unreachable" in down["errors"][0]["error"]
    assert len(messaging.listing(engine, "queued")) == 4  # nothing lost
    later = datetime(2026, 10, 1, 10, 5, tzinfo=TZ)
    sent = messaging.send_due(engine, data, at=later)  # the file adapter
    assert sent["sent"] == 4
    assert messaging.send_due(engine, data, at=later)["sent"] == 0  # never the same message twice
    lines = (data / "outbox" / "sms-2026-10-01.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4


def test_tasks_keep_their_reason_in_english_and_chinese(world):
    """Issue 18: a task's reason in both languages (``reason``: Chinese, ``reason_en``: English), from the churn
    scores' reason_1_zh and reason_1 (one missing: the other is shown) and for tier events."""
    from weixi.adapters.sql import execute

    engine, data, ids, plan, tmp_path = world
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "member_id,list,priority,reason_1,reason_1_zh\n"
        f"{ids[600]},high_risk,900,Checked porting out 3 times in 30 days,近30天携号转网查询3次\n"
        f"{ids[601]},high_risk,800,,客户主动投诉\n",
        encoding="utf-8",
    )
    monthly_tasks.create_month(engine, data, MONTH, plan, RUN, targets_file=targets)
    with engine.connect() as conn:
        got = dict(
            ((r[0], r[1]), (r[2], r[3]))
            for r in execute(conn, "SELECT member_id, sla_rule, reason, reason_en FROM ops_tasks")
        )
    assert got[(ids[600], "retention-call")] == ("近30天携号转网查询3次", "Checked porting out 3 times in 30 days")
    assert got[(ids[601], "retention-call")] == ("客户主动投诉", None)  # the page falls back to the Chinese
    assert got[(ids[0], "bind-new-star")] == ("晋级 gold → diamond (upgraded)", "Upgraded gold → diamond (upgraded)")
    assert got[(ids[500], "downgrade-warning")] == (
        "将降级 gold → silver (will_downgrade)",
        "Will downgrade gold → silver (will_downgrade)",
    )
