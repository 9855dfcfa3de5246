"""The agent's and the manager's jobs in the console (issue 18 §1 "Manager", "Agent"; issue 20 §4, seed 002's
康乐部会员维护方案), in-process:

* /work: overdue SLA tasks first; members who left only on the win-back tab, labelled 已离网; a call-back in the
  quiet hours refused with the next allowed time offered as a button; "done this month";
* /team: drill-down to a person's tasks, batch reassignment with a confirmation; a member transferred with a reason
  ("如达不到要求的转给别领班维护"), audited; the monthly portfolio page and CSV ("每月上交自己维护会员的分析报告");
  inspection of tracking records ("办公室检查会员维护跟踪记录并考核"); quotas ("月饼指标、圣诞票指标任务到人").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.api.test_operations_api import ON, build_world
from tests.console import operator as op
from tests.console.conftest import Console, csrf_of
from tests.integration.ops_fixtures import write_roster, write_snapshot
from weixi.adapters.sql import execute
from weixi.api.app import create_app
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.operations import task_outcomes
from weixi.users import service as users

NOON = datetime(2026, 10, 12, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


@pytest.fixture
def ops_app(tmp_path, monkeypatch):
    monkeypatch.setattr(users, "_hasher", op.cheap_hasher())
    data = tmp_path / "data"
    data.mkdir()
    app = create_app(str(tmp_path / "ops.db"), str(data), secure_cookies=False)
    for role in ("agent", "manager", "analyst"):
        users.create_user(app.state.engine, role, op.PASSWORD, role)
    world = build_world(app.state.engine, data, tmp_path)
    clients = []

    def login(role: str) -> Console:
        c = Console(app).login(role)
        clients.append(c)
        return c

    yield app, world, login
    for c in clients:
        c.http.close()
    app.state.engine.dispose()


def _agent_calls(engine) -> list[str]:
    with engine.connect() as conn:
        return [
            r[0]
            for r in execute(
                conn, "SELECT task_id FROM ops_tasks WHERE assignee = 'agent' AND kind = 'retention_call' ORDER BY 1"
            )
        ]


def queue_ids(html: str) -> list[str]:
    block = re.search(r'<section id="queue">.*?</section>', html, re.S).group(0)
    return re.findall(r'data-task="([^"]+)"', block)


def _left(data, member: str) -> None:
    """The next close marks ``member`` left (离网)."""
    write_snapshot(data, "2026-10", {"diamond": 3, "gold": 3, "standard": 8})
    snap = data / "snapshots" / "month=2026-10" / "part-0.parquet"
    rows = pq.read_table(snap).to_pylist()
    for row in rows:
        if row["member_id"] == member:
            row["status"], row["churned_on"] = "left", date(2026, 10, 5)
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(snap)), snap)


def _audit(engine, action: str) -> list[dict]:
    return users.audit_entries(engine, 50, action)


def test_the_agents_queue_overdue_first_left_members_only_on_the_winback_tab(ops_app):
    app, w, login = ops_app
    engine = app.state.engine
    a, b, c, d = _agent_calls(engine)
    with engine.begin() as conn:  # d is past its service level: first, though its priority is the lowest
        execute(conn, "UPDATE ops_tasks SET due_on = ?, priority = 1 WHERE task_id = ?", [date(2026, 10, 9), d])
    gone = ops.get_task(engine, b)["member_id"]
    _left(app.state.data_dir, gone)
    task_outcomes.record_outcome(engine, w.plan, app.state.data_dir, c, "left", "agent", at=NOON)
    agent = login("agent")
    html = agent.get(f"/work?on={ON}").text
    assert queue_ids(html) == [d, a]  # b's member has left, c was reported left: neither in the work queue
    assert 'data-task="' + d + '" data-overdue="1"' in html and "已逾期" in html
    assert re.search(r'id="work-total">2<', html) and re.search(r'id="winback-total">1<', html)
    assert re.search(r'id="done-month">0<', html)  # closed on 12 October: not this month of the real clock
    task_outcomes.record_outcome(engine, w.plan, app.state.data_dir, a, "reached", "agent")  # closed now
    again = agent.get(f"/work?on={ON}").text
    assert queue_ids(again) == [d] and re.search(r'id="done-month">1<', again)
    assert "超时限的排在最前" in html
    winback = agent.get(f"/work?on={ON}&list=winback").text
    assert queue_ids(winback) == [f"{c}/winback"]
    assert 'id="task-left">已离网<' in winback and "挽回:客户已离网" in winback
    agent.http.cookies.set("weixi_lang", "en")
    en = agent.get(f"/work?on={ON}&list=winback").text
    assert "Has left" in en and "win-back: the member has left" in en and "已离网" not in en


def test_a_callback_at_a_quiet_hour_offers_the_next_allowed_time(ops_app):
    app, w, login = ops_app
    agent = login("agent")
    html = agent.get(f"/work?on={ON}").text
    first = queue_ids(html)[0]
    day = date.today() + timedelta(days=3)  # a call-back is booked ahead of the real clock
    nxt = day + timedelta(days=1)
    r = agent.http.post(
        f"/work/tasks/{first}/outcome",
        data={"on": ON, "outcome": "callback", "attempt": "1", "callback_at": f"{day}T22:30"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(html)},
    )
    assert r.status_code == 200 and 'id="outcome-error"' in r.text
    assert "免打扰时段(21:00–08:00" in r.text and f"最早可预约时间为 {nxt} 08:00" in r.text
    assert f'name="callback_at" value="{nxt}T08:00"' in r.text and 'id="book-proposal"' in r.text
    assert ops.get_task(app.state.engine, first)["status"] == "open"
    booked = agent.http.post(  # the proposal's button
        f"/work/tasks/{first}/outcome",
        data={"on": ON, "outcome": "callback", "attempt": "1", "callback_at": f"{nxt}T08:00"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(r.text)},
    )
    assert 'id="recorded"' in booked.text
    follow = ops.get_task(app.state.engine, f"{first}/callback")
    assert follow["due_on"] == nxt.isoformat() and follow["reason"] == f"约定回呼 {nxt} 08:00"
    shown = agent.get(f"/work/tasks/{first}/callback?on={nxt}").text
    assert f'id="task-callback">{nxt} 08:00' in shown


def test_the_manager_drills_down_and_reassigns_in_a_batch_after_confirming(ops_app):
    app, w, login = ops_app
    engine = app.state.engine
    a, b, *_ = _agent_calls(engine)
    manager = login("manager")
    team = manager.get(f"/team?on={ON}").text
    assert f'href="/team/staff/agent?on={ON}"' in team and 'id="team-tabs"' in team
    page = manager.get(f"/team/staff/agent?on={ON}")
    assert page.status_code == 200 and "待办任务 4 个" in page.text and "坐席一" in page.text
    form = {"from_staff": "agent", "to_staff": "A2", "task_id": [a, b], "csrf_token": csrf_of(page.text)}
    confirm = manager.http.post("/team/reassign", data=form)
    assert confirm.status_code == 200 and 'id="reassign-confirm"' in confirm.text
    assert "2 个待办任务将转给 坐席二" in confirm.text
    assert ops.get_task(engine, a)["assignee"] == "agent"  # nothing moved before the confirmation
    done = manager.http.post("/team/reassign", data={**form, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/team/staff/agent?moved=2&to=A2"
    assert {ops.get_task(engine, t)["assignee"] for t in (a, b)} == {"A2"}
    assert "已将 2 个任务转派给 坐席二" in manager.get(done.headers["location"]).text
    assert _audit(engine, "tasks.reassign")[0]["subject"] == "A2"
    refused = manager.http.post("/team/reassign", data={**form, "task_id": [], "confirm": "yes"})
    assert refused.status_code == 422 and "未选择任何任务" in refused.text
    assert manager.get("/team/staff/K2").status_code == 403  # another team's manager
    assert login("agent").get("/team/staff/agent").status_code == 403
    analyst = login("analyst")
    assert 'id="reassign-button"' not in analyst.get("/team/staff/agent").text  # reads, does not act
    assert analyst.http.post("/team/reassign", data={**form, "confirm": "yes"}).status_code == 403


def test_a_member_is_transferred_with_a_reason_confirmed_and_audited(ops_app):
    """Seed 002 (康乐部会员维护方案): "如达不到要求的转给别领班维护"."""
    app, w, login = ops_app
    engine = app.state.engine
    ops_staff.load_staff(
        engine, write_roster(app.state.data_dir / "r2.csv", [("K3", "赵经理", "manager", "T1", "", "")])
    )
    manager = login("manager")
    page = manager.get("/team/transfer?member=M000004")
    assert page.status_code == 200 and 'id="current-manager">王经理' in page.text
    form = {"member": "M000004", "to_staff": "K3", "csrf_token": csrf_of(page.text)}
    missing = manager.http.post("/team/transfer", data={**form, "reason": " "})
    assert missing.status_code == 422 and "请填写移交原因" in missing.text
    confirm = manager.http.post("/team/transfer", data={**form, "reason": "跟踪记录不达标"})
    assert 'id="transfer-confirm"' in confirm.text and "客户 M000004 将由 王经理" in confirm.text
    assert "1 个待办任务随之转移" in confirm.text
    done = manager.http.post("/team/transfer", data={**form, "reason": "跟踪记录不达标", "confirm": "yes"})
    assert done.status_code == 303
    shown = manager.get(done.headers["location"]).text
    assert "移交完成" in shown and "跟踪记录不达标" in shown and 'id="current-manager">赵经理' in shown
    assert ops.get_task(engine, "2026-09/downgrade-warning/M000004")["assignee"] == "K3"
    entry = _audit(engine, "member.transfer")[0]
    assert entry["subject"] == "M000004" and entry["detail"]["reason"] == "跟踪记录不达标"
    other = manager.http.post("/team/transfer", data={**form, "to_staff": "K2", "reason": "x", "confirm": "yes"})
    assert other.status_code == 403  # K2 is another team's


def test_the_monthly_portfolio_page_and_csv(ops_app):
    """Seed 002: "每月上交自己维护会员的分析报告"."""
    app, w, login = ops_app
    task_outcomes.record_outcome(
        app.state.engine, w.plan, app.state.data_dir, "2026-09/downgrade-warning/M000004", "reached", "manager", at=NOON
    )
    analyst = login("analyst")
    sep = analyst.get("/team/portfolio?month=2026-09").text
    row = re.search(r'<tr data-staff="manager">(.*?)</tr>', sep, re.S).group(1)
    assert re.search(r'data-col="held">4<', row) and "客户经理月报" in sep and "维护客户数" in sep
    oct_ = analyst.get("/team/portfolio?month=2026-10").text
    row = re.search(r'<tr data-staff="manager">(.*?)</tr>', oct_, re.S).group(1)
    assert re.search(r'data-col="contacts">1<', row) and re.search(r'data-col="reached">1<', row)
    csv_text = analyst.get("/team/portfolio.csv?month=2026-09").text
    assert csv_text.startswith("\ufeff工号,姓名,团队,维护客户数,接触次数")
    assert "manager,王经理,T1,4," in csv_text
    analyst.http.cookies.set("weixi_lang", "en")
    assert analyst.get("/team/portfolio.csv?month=2026-09").text.startswith("\ufeffStaff id,Name,Team,Members held")
    manager = login("manager")
    assert 'data-staff="K2"' not in manager.get("/team/portfolio?month=2026-09").text  # only their team


def test_tracking_records_are_inspected_by_the_lead(ops_app):
    """Seed 002: "所有已分到的会员做跟踪…领导核实情况"; "办公室检查会员维护跟踪记录并考核"."""
    app, w, login = ops_app
    a, b, *_ = _agent_calls(app.state.engine)
    for t in (a, b):
        task_outcomes.record_outcome(
            app.state.engine, w.plan, app.state.data_dir, t, "reached", "agent", note="客户满意", at=NOON
        )
    manager = login("manager")
    page = manager.get("/team/inspection?month=2026-10&staff=agent").text
    assert "客户满意" in page and "2026-10-12 12:00" in page and page.count('name="task_id"') == 2
    r = manager.http.post(
        "/team/inspection",
        data={
            "month": "2026-10",
            "staff": "agent",
            "task_id": [a],
            "verdict": "ok",
            "note": "核实无误",
            "csrf_token": csrf_of(page),
        },
    )
    assert r.status_code == 303
    after = manager.get(r.headers["location"]).text
    assert "已标记 1 条记录" in after and 'class="badge ok">核实无误<' in after
    row = re.search(r'<tr data-staff="agent"[^>]*>(.*?)</tr>', after, re.S).group(1)
    assert re.search(r'data-col="pending">1<', row) and re.search(r'data-col="pass-rate">100.0%<', row)
    assert _audit(app.state.engine, "tasks.inspect")[0]["subject"] == "agent"


def test_quotas_per_person_handed_out_against_members(ops_app):
    """Seed 002 (康乐部会员维护方案): "月饼指标、圣诞票指标任务到人。实习生除外"."""
    app, w, login = ops_app
    ops_staff.load_staff(
        app.state.engine, write_roster(app.state.data_dir / "r3.csv", [("I1", "实习生小李", "intern", "T1", "", "")])
    )
    manager = login("manager")
    page = manager.get("/team/quotas?period=2026-09").text
    assert "本月还没有指标" in page and "实习生小李" not in page  # interns are not offered
    token = csrf_of(page)
    r = manager.http.post(
        "/team/quotas",
        data={"period": "2026-09", "item": "月饼", "staff": "manager", "quantity": "10", "csrf_token": token},
    )
    assert r.status_code == 303
    qid = re.search(r"quota=(\d+)", r.headers["location"]).group(1)
    intern = manager.http.post(
        "/team/quotas", data={"period": "2026-09", "item": "月饼", "staff": "I1", "quantity": "5", "csrf_token": token}
    )
    assert intern.status_code == 409 and "实习生不分配月饼指标" in intern.text
    give = manager.http.post(
        f"/team/quotas/{qid}/handout",
        data={"member": "M000002", "quantity": "3", "note": "中秋拜访", "csrf_token": token},
    )
    assert give.status_code == 303
    shown = manager.get(give.headers["location"]).text
    row = re.search(rf'<tr data-quota="{qid}"[^>]*>(.*?)</tr>', shown, re.S).group(1)
    assert re.search(r'data-col="remaining">7<', row) and "中秋拜访" in shown
    over = manager.http.post(
        f"/team/quotas/{qid}/handout", data={"member": "M000004", "quantity": "8", "csrf_token": token}
    )
    assert over.status_code == 409 and "只剩 7 份" in over.text
    assert _audit(app.state.engine, "quota.handout")[0]["subject"] == "M000002"
