"""The agent's queue and the manager's duties against a real database (issue 18 §1 "Manager", "Agent"; issue 20 §4,
the recreation-department plan of seed 002, 康乐部会员维护方案):

* the queue: overdue SLA tasks first, then due date, then priority; members who left only in the win-back list;
* a call-back at a quiet hour is refused and the next allowed time proposed; "done this month" is the operator's month;
* "如达不到要求的转给别领班维护": a member moved to another manager with a reason, the history kept;
* "每月上交自己维护会员的分析报告": the monthly portfolio per manager;
* "办公室检查会员维护跟踪记录并考核": inspection of tracking records;
* "月饼指标、圣诞票指标任务到人。实习生除外": quotas per person, handed out against members.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.api.test_operations_api import ON, build_world
from tests.integration.ops_fixtures import MONTH, write_roster, write_snapshot
from weixi.adapters.sql import execute
from weixi.api.app import create_app
from weixi.operations import inspections, portfolio, quotas, sla, task_outcomes, transfer, work_queue
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.operations.errors import OperationsConflict, OperationsError, StaffNotFound

DAY = date.fromisoformat(ON)
SHANGHAI_NOON = datetime(2026, 10, 12, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


@pytest.fixture
def world(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    app = create_app(str(tmp_path / "ops.db"), str(data), secure_cookies=False)
    w = build_world(app.state.engine, data, tmp_path)
    yield app.state.engine, data, w
    app.state.engine.dispose()


def _set(engine, task_id: str, **cols) -> None:
    with engine.begin() as conn:
        for k, v in cols.items():
            execute(conn, f"UPDATE ops_tasks SET {k} = ? WHERE task_id = ?", [v, task_id])


def _agent_tasks(engine) -> list[str]:
    with engine.connect() as conn:
        return [
            r[0]
            for r in execute(
                conn, "SELECT task_id FROM ops_tasks WHERE assignee = 'agent' AND kind = 'retention_call' ORDER BY 1"
            )
        ]


def test_the_queue_puts_overdue_sla_tasks_first_then_due_date_then_priority(world):
    engine, data, w = world
    a, b, c, d = _agent_tasks(engine)
    _set(engine, a, due_on=date(2026, 10, 9), priority=1)  # overdue SLA task, lowest priority: first
    _set(engine, b, due_on=date(2026, 10, 8), sla_rule=None, priority=5)  # past due but no SLA: by due date
    _set(engine, c, due_on=date(2026, 10, 14), priority=10)
    _set(engine, d, due_on=date(2026, 10, 14), priority=900_000)  # same day as c, higher priority: before c
    q = work_queue.queue(engine, data, "agent", DAY)
    assert [t["task_id"] for t in q.rows] == [a, b, d, c]
    assert [t["overdue"] for t in q.rows] == [True, False, False, False]
    assert q.total == 4 and q.pages == 1 and q.other == 0
    paged = work_queue.queue(engine, data, "agent", DAY, size=3, page=2)
    assert [t["task_id"] for t in paged.rows] == [c] and paged.pages == 2


def test_members_who_left_appear_only_in_the_winback_list_labelled(world):
    engine, data, w = world
    a, b, c, d = _agent_tasks(engine)
    gone = ops.get_task(engine, a)["member_id"]
    # the next close marks one member left (离网)
    ids = write_snapshot(data, "2026-10", {"diamond": 3, "gold": 3, "standard": 8})
    snap = data / "snapshots" / "month=2026-10" / "part-0.parquet"
    t = pq.read_table(snap).to_pylist()
    for row in t:
        if row["member_id"] == gone:
            row["status"], row["churned_on"] = "left", date(2026, 10, 5)
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(t, schema=pq.read_schema(snap)), snap)
    assert gone in ids
    # another member is reported left on the call: the win-back task follows
    task_outcomes.record_outcome(engine, w.plan, data, b, "left", "agent", at=SHANGHAI_NOON)
    work = work_queue.queue(engine, data, "agent", DAY)
    assert a not in [t["task_id"] for t in work.rows] and b not in [t["task_id"] for t in work.rows]
    assert [t["task_id"] for t in work.rows] == [d, c] or [t["task_id"] for t in work.rows] == [c, d]
    assert work.other == 1
    winback = work_queue.queue(engine, data, "agent", DAY, "winback")
    assert [t["task_id"] for t in winback.rows] == [f"{b}/winback"]
    assert winback.rows[0]["left"] is True
    assert winback.rows[0]["reason"] == "挽回:客户已离网" and winback.rows[0]["reason_en"].startswith("win-back")


def test_a_callback_in_the_quiet_hours_is_refused_with_the_next_allowed_time(world):
    engine, data, w = world
    a = _agent_tasks(engine)[0]
    with pytest.raises(OperationsError) as refused:
        task_outcomes.record_outcome(
            engine,
            w.plan,
            data,
            a,
            "callback",
            "agent",
            callback_at=datetime(2026, 10, 13, 22, 30),  # no zone: the operator's (Asia/Shanghai); quiet 21:00-08:00
            at=SHANGHAI_NOON,
        )
    e = refused.value
    assert e.code == "callback_in_quiet_hours"
    assert e.params["next"] == "2026-10-14 08:00" and e.params["next_iso"] == "2026-10-14T08:00"
    assert (e.params["quiet_from"], e.params["quiet_to"]) == ("21:00", "08:00")
    assert ops.get_task(engine, a)["status"] == "open"  # nothing recorded
    out = task_outcomes.record_outcome(
        engine, w.plan, data, a, "callback", "agent", callback_at=datetime(2026, 10, 14, 8, 0), at=SHANGHAI_NOON
    )
    follow = ops.get_task(engine, out["follow_ups"][0]["task_id"])
    assert follow["callback_at"].startswith("2026-10-14T08:00") and follow["due_on"] == "2026-10-14"
    assert (
        follow["reason"] == "约定回呼 2026-10-14 08:00"
        and follow["reason_en"] == "call back as agreed at 2026-10-14 08:00"
    )


def test_done_this_month_counts_tasks_closed_in_the_operators_month(world):
    engine, data, w = world
    a, b, *_ = _agent_tasks(engine)
    # 16:30 UTC on 30 September is 00:30 on 1 October in Shanghai: an October close, though a September task
    task_outcomes.record_outcome(
        engine, w.plan, data, a, "reached", "agent", at=datetime(2026, 9, 30, 16, 30, tzinfo=timezone.utc)
    )
    task_outcomes.record_outcome(
        engine, w.plan, data, b, "reached", "agent", at=datetime(2026, 9, 30, 15, 30, tzinfo=timezone.utc)
    )
    assert work_queue.done_this_month(engine, ["agent"], date(2026, 10, 12)) == {"agent": 1}
    assert work_queue.done_this_month(engine, ["agent"], date(2026, 9, 30)) == {"agent": 1}
    team = {r["staff_id"]: r for r in sla.team_view(engine, None, date(2026, 10, 12))}
    assert team["agent"]["done_this_month"] == 1


def test_a_member_is_transferred_to_another_manager_with_a_reason_and_the_history_kept(world):
    """Seed 002 (康乐部会员维护方案): "如达不到要求的转给别领班维护"."""
    engine, data, w = world
    member = "M000004"  # held by "manager" (T1), with an open downgrade-warning call
    assert transfer.current_manager(engine, data, member) == "manager"
    with pytest.raises(OperationsError) as no_reason:
        transfer.transfer_member(engine, data, member, "K2", "  ", "lead1")
    assert no_reason.value.code == "transfer_reason_missing"
    with pytest.raises(OperationsConflict) as same:
        transfer.transfer_member(engine, data, member, "manager", "考核未达标", "lead1")
    assert same.value.code == "transfer_same_manager"
    with pytest.raises(StaffNotFound):
        transfer.transfer_member(engine, data, member, "NOBODY", "考核未达标", "lead1")
    out = transfer.transfer_member(engine, data, member, "K2", "跟踪记录不达标,转给别的领班维护", "lead1")
    assert (out["from_staff"], out["to_staff"], out["moved_tasks"]) == ("manager", "K2", 1)
    call = ops.get_task(engine, "2026-09/downgrade-warning/M000004")
    assert (call["assignee"], call["team"]) == ("K2", "T2")
    sms = ops.get_task(engine, "2026-09/monthly-sms/M000004/2026-09-01")
    assert sms["assignee"] == "manager"  # messages go out through the outbox; only calls and visits move
    assert transfer.current_manager(engine, data, member) == "K2"
    transfer.transfer_member(engine, data, member, "manager", "客户要求换回原经理", "lead1")
    hist = transfer.history(engine, member)
    assert [(h["from_staff"], h["to_staff"], h["reason"]) for h in hist] == [
        ("K2", "manager", "客户要求换回原经理"),
        ("manager", "K2", "跟踪记录不达标,转给别的领班维护"),
    ]
    ops_staff.staff_leave(engine, "K2", date(2026, 10, 1))
    with pytest.raises(OperationsConflict) as inactive:
        transfer.transfer_member(engine, data, member, "K2", "再转", "lead1")
    assert inactive.value.code == "transfer_staff_inactive"


def test_open_tasks_are_reassigned_in_one_batch(world):
    engine, data, w = world
    a, b, *_ = _agent_tasks(engine)
    out = transfer.reassign_tasks(engine, [a, b], "A2")
    assert out["moved"] == 2 and out["from"] == {"agent": 2}
    assert {ops.get_task(engine, t)["assignee"] for t in (a, b)} == {"A2"}
    task_outcomes.record_outcome(engine, w.plan, data, a, "reached", "A2", at=SHANGHAI_NOON)
    with pytest.raises(OperationsConflict) as closed:
        transfer.reassign_tasks(engine, [b, a], "agent")
    assert closed.value.code == "reassign_task_not_open"
    assert ops.get_task(engine, b)["assignee"] == "A2"  # nothing moved


def test_the_monthly_portfolio_per_manager(world):
    """Seed 002: "每月上交自己维护会员的分析报告" — members held, contacts, outcomes, churned, points."""
    engine, data, w = world
    task_outcomes.record_outcome(
        engine, w.plan, data, "2026-09/downgrade-warning/M000004", "reached", "manager", at=SHANGHAI_NOON
    )
    a, b, *_ = _agent_tasks(engine)
    task_outcomes.record_outcome(engine, w.plan, data, a, "declined", "agent", reason="price", at=SHANGHAI_NOON)
    task_outcomes.record_outcome(engine, w.plan, data, b, "unreachable", "agent", at=SHANGHAI_NOON)
    # the next close: M000002 (held by "manager") has left
    write_snapshot(data, "2026-10", {"diamond": 3, "gold": 3, "standard": 8})
    snap = data / "snapshots" / "month=2026-10" / "part-0.parquet"
    rows = pq.read_table(snap).to_pylist()
    for row in rows:
        if row["member_id"] == "M000002":
            row["status"] = "left"
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(snap)), snap)
    transfer.transfer_member(engine, data, "M000005", "K2", "考核未达标", "lead1", at=SHANGHAI_NOON)
    oct_report = {r["staff_id"]: r for r in portfolio.report(engine, data, "2026-10")["rows"]}
    assert oct_report["manager"]["contacts"] == 1 and oct_report["manager"]["outcome_reached"] == 1
    assert oct_report["agent"]["contacts"] == 1 and oct_report["agent"]["outcome_declined"] == 1
    assert oct_report["agent"]["outcome_unreachable"] == 0  # a first unreachable try leaves the task open
    sep = portfolio.report(engine, data, MONTH)
    by = {r["staff_id"]: r for r in sep["rows"]}
    # September's assignment: M2, M4, M5, M6 with "manager", M1, M3 with K2; the October transfer is after
    # September's end, so September still counts M5 with "manager"
    assert (by["manager"]["held"], by["K2"]["held"]) == (4, 2)
    assert by["manager"]["churned"] == 1 and by["K2"]["churned"] == 0
    assert by["manager"]["points_balance"] == 4 * 1200
    assert by["manager"]["contacts"] == 0  # nothing closed in September
    assert sep["totals"]["held"] == 6
    with engine.begin() as conn:  # a transfer before September's end counts in September
        execute(conn, "UPDATE ops_transfers SET at = ? WHERE member_id = 'M000005'", [datetime(2026, 9, 20, 4, 0)])
    moved = {r["staff_id"]: r for r in portfolio.report(engine, data, MONTH)["rows"]}
    assert (moved["manager"]["held"], moved["K2"]["held"]) == (3, 3)


def test_tracking_records_are_inspected(world):
    """Seed 002: "所有已分到的会员做跟踪…领导核实情况" and "办公室检查会员维护跟踪记录并考核"."""
    engine, data, w = world
    a, b, c, _ = _agent_tasks(engine)
    for t in (a, b):
        task_outcomes.record_outcome(engine, w.plan, data, t, "reached", "agent", note="客户满意", at=SHANGHAI_NOON)
    month = "2026-10"
    recs = inspections.records(engine, month, "agent")
    assert {r["task_id"] for r in recs} == {a, b} and recs[0]["outcome_note"] == "客户满意"
    assert recs[0]["closed_at"] == "2026-10-12 12:00" and recs[0]["inspection"] is None
    out = inspections.inspect(engine, month, "agent", [a], "ok", "manager", note="核实无误")
    assert out["inspected"] == 1
    inspections.inspect(engine, month, "agent", [b], "redo", "manager", note="未记录客户反馈")
    summary = {s["staff_id"]: s for s in inspections.summary(engine, month)}
    assert (summary["agent"]["records"], summary["agent"]["inspected"], summary["agent"]["redo"]) == (2, 2, 1)
    assert summary["agent"]["pass_rate"] == "0.5000" and summary["manager"]["pass_rate"] is None  # the score
    again = inspections.inspect(engine, month, "agent", [b], "ok", "manager")  # re-inspected: the new verdict
    assert again["inspected"] == 1 and inspections.summary(engine, month)[0]["redo"] == 0
    with pytest.raises(OperationsConflict) as refused:
        inspections.inspect(engine, month, "agent", [a, c], "ok", "manager")  # c is still open
    assert refused.value.code == "inspection_not_a_record"
    with pytest.raises(OperationsError) as bad:
        inspections.inspect(engine, month, "agent", [a], "maybe", "manager")
    assert bad.value.code == "inspection_verdict_unknown"


def test_quotas_per_person_handed_out_against_members(world, tmp_path: Path):
    """Seed 002 (康乐部会员维护方案): "月饼指标、圣诞票指标任务到人。实习生除外"."""
    engine, data, w = world
    ops_staff.load_staff(engine, write_roster(tmp_path / "more.csv", [("I1", "实习生", "intern", "T1", "", "")]))
    mooncakes = quotas.set_quota(engine, "2026-09", "月饼", "manager", 10, "lead1")
    quotas.set_quota(engine, "2026-12", "圣诞票", "manager", 5, "lead1")
    assert (mooncakes["quantity"], mooncakes["handed_out"], mooncakes["remaining"]) == (10, 0, 10)
    with pytest.raises(OperationsConflict) as intern:
        quotas.set_quota(engine, "2026-09", "月饼", "I1", 5, "lead1")
    assert intern.value.code == "quota_intern_excluded"
    after = quotas.hand_out(engine, mooncakes["quota_id"], "M000002", 3, "manager", note="中秋拜访")
    assert (after["handed_out"], after["remaining"]) == (3, 7)
    with pytest.raises(OperationsConflict) as over:
        quotas.hand_out(engine, mooncakes["quota_id"], "M000004", 8, "manager")
    assert over.value.code == "quota_exhausted" and over.value.params["remaining"] == 7
    with pytest.raises(OperationsConflict) as below:
        quotas.set_quota(engine, "2026-09", "月饼", "manager", 2, "lead1")
    assert below.value.code == "quota_below_handed_out"
    assert quotas.set_quota(engine, "2026-09", "月饼", "manager", 12, "lead1")["remaining"] == 9
    listed = quotas.quotas(engine, "2026-09")
    assert [(q["item"], q["staff_id"], q["remaining"]) for q in listed] == [("月饼", "manager", 9)]
    assert quotas.handouts(engine, mooncakes["quota_id"])[0]["member_id"] == "M000002"


def test_a_transfer_outlasts_the_next_months_assignment(world):
    """Seed 002 (康乐部会员维护方案): "如达不到要求的转给别领班维护" — the next month's sharing out keeps the member with
    the manager they were transferred to, as it keeps every member with last month's manager."""
    from weixi.operations import monthly_tasks

    engine, data, w = world
    member = "M000004"
    transfer.transfer_member(engine, data, member, "K2", "跟踪记录不达标,转给别的领班维护", "lead1")
    write_snapshot(data, "2026-10", {"diamond": 3, "gold": 3, "standard": 8})
    monthly_tasks.create_month(engine, data, "2026-10", w.plan, date(2026, 11, 2))
    held = pq.read_table(ops.partition_file(data, "assignments", "2026-10")).to_pylist()
    assert {r["member_id"]: r["staff_id"] for r in held}[member] == "K2"
