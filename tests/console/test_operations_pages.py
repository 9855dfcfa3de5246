"""The retention operations pages in-process: the agent's work page (next task, the member at a glance, one-click
outcomes over htmx that show in the queue and create the follow-up and the retention order), refusals for another
agent's or an unknown task, the manager's team view against the service's SLA report, the care calendar."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.api.test_operations_api import ON, build_world
from tests.console import operator as op
from tests.console.conftest import Console, csrf_of
from tests.integration.ops_fixtures import MONTH
from weixi.adapters.sql import execute
from weixi.api.app import create_app
from weixi.operations import care_run as care
from weixi.operations import service as ops
from weixi.operations import sla
from weixi.users import service as users


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


def shown_task(html: str) -> str:
    found = re.search(r'id="task" data-task="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def queue_ids(html: str) -> list[str]:
    block = re.search(r'<section id="queue">.*?</section>', html, re.S).group(0)
    return re.findall(r'data-task="([^"]+)"', block)


def click(c: Console, page_html: str, task_id: str, **form):
    """An outcome button pressed on the page: htmx posts the form with the page's CSRF token in the header."""
    return c.http.post(
        f"/work/tasks/{task_id}/outcome",
        data={"on": ON, **form},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(page_html)},
    )


def test_the_work_page_shows_the_next_task_at_a_glance_and_records_outcomes_in_one_click(ops_app):
    app, w, login = ops_app
    agent = login("agent")
    assert agent.get("/").headers["location"] == "/work"  # an agent lands on the work page
    page = agent.get(f"/work?on={ON}")
    assert page.status_code == 200
    html = page.text
    first = shown_task(html)
    assert first == ops.queue(app.state.engine, "agent", date.fromisoformat(ON))[0]["task_id"]
    assert queue_ids(html)[0] == first
    for text in (
        "近30天携号转网查询3次",
        "存费送机",
        "主动告知自己的联系方式",
        "已接通",
        "接受优惠",
        "机卡分离返费扣留",
    ):
        assert text in html, text
    assert re.search(r'id="member-phone">1380000\d{4}<', html)  # an agent calls: the number in clear (audited)
    # declined without a reason: the error on the page, the task still open
    r = click(agent, html, first, outcome="declined", attempt="1")
    assert r.status_code == 200 and 'id="outcome-error"' in r.text and "请选择客户拒绝的原因" in r.text
    assert ops.get_task(app.state.engine, first)["status"] == "open"
    # reached: the next task is shown and the queue no longer has the first
    r = click(agent, html, first, outcome="reached", attempt="1")
    assert r.status_code == 200 and 'id="recorded"' in r.text
    second = shown_task(r.text)
    assert second != first and first not in queue_ids(r.text)
    assert ops.get_task(app.state.engine, first)["outcome"] == "reached"
    again = click(agent, html, first, outcome="reached", attempt="1")  # a double click records nothing twice
    assert "未重复记录" in again.text
    # accepted: the retention order credited to the agent and the follow-up in the queue
    r = click(agent, r.text, second, outcome="accepted", attempt="1")
    assert f"OPS-{second}" in r.text
    with app.state.engine.connect() as conn:
        orders = execute(conn, "SELECT order_id, staff_id, business FROM ops_orders")
    assert orders == [(f"OPS-{second}", "agent", "phone_for_credit")]
    # follow-ups start on the day of the outcome (the next working day on a weekend or holiday)
    with app.state.engine.connect() as conn:
        starts = execute(conn, "SELECT not_before FROM ops_tasks WHERE task_id = ?", [f"{second}/follow-up"])[0][0]
    today = agent.get(f"/work?on={str(starts)[:10]}").text
    assert f"{second}/follow-up" in queue_ids(today) and first not in queue_ids(today)
    # a plain form post (no JavaScript) goes back to the work page
    third = shown_task(r.text)
    plain = agent.http.post(
        f"/work/tasks/{third}/outcome",
        data={"outcome": "unreachable", "attempt": "1", "on": ON, "csrf_token": csrf_of(html)},
    )
    assert plain.status_code == 303 and plain.headers["location"] == f"/work?on={ON}"
    assert ops.get_task(app.state.engine, third)["attempts"] == 1
    # another agent's task and an unknown one
    other = next(t["task_id"] for t in ops.queue(app.state.engine, "A2", date.fromisoformat(ON)))
    refused = agent.get(f"/work/tasks/{other}")
    assert refused.status_code == 403 and "其他人的任务" in refused.text
    assert click(agent, html, other, outcome="reached").status_code == 403
    assert ops.get_task(app.state.engine, other)["status"] == "open"
    missing = agent.get("/work/tasks/2026-09/nope/M1")
    assert missing.status_code == 404 and "没有任务 2026-09/nope/M1" in missing.text
    agent.http.cookies.set("weixi_lang", "en")
    assert "Accepted the offer" in agent.get(f"/work?on={ON}").text


def test_a_try_recorded_otherwise_is_refused_in_chinese(ops_app):
    app, w, login = ops_app
    agent = login("agent")
    html = agent.get(f"/work?on={ON}").text
    first = shown_task(html)
    assert 'id="recorded"' in click(agent, html, first, outcome="reached", attempt="1").text
    r = click(agent, html, first, outcome="declined", reason="price", attempt="1")  # a second tab, an old page
    assert r.status_code == 200 and 'id="outcome-error"' in r.text
    assert f"任务 {first}:第 1 次尝试已有记录(agent 记录为 reached),本次未记录。" in r.text
    assert ops.get_task(app.state.engine, first)["outcome"] == "reached"


def test_the_team_view_shows_the_services_sla_numbers(ops_app):
    app, w, login = ops_app
    agent = login("agent")
    done = ops.queue(app.state.engine, "agent", date.fromisoformat(ON))[0]["task_id"]
    page = agent.get(f"/work?on={ON}").text
    click(agent, page, done, outcome="reached", attempt="1")
    as_of = "2026-10-31"
    report = sla.sla_report(app.state.engine, w.plan, MONTH, date.fromisoformat(as_of))
    manager = login("manager")
    r = manager.get(f"/team?on={as_of}&month={MONTH}")
    assert r.status_code == 200
    rows = dict(re.findall(r'<tr data-staff="([^"]+)".*?data-compliance="([^"]*)"', r.text, re.S))
    expected = {
        m["staff_id"]: m["compliance"] for m in report["managers"] if m["staff_id"] in ("agent", "A2", "manager")
    }
    # K2 works in another manager's team: no row of it (not the bare text: a random CSRF token can hold "K2")
    assert rows == expected and 'data-staff="K2"' not in r.text and ">K2<" not in r.text
    data = manager.get(f"/team/data.json?on={as_of}&month={MONTH}").json()
    assert data["target"] == 100.0
    order = [s for s in ("A2", "agent", "manager") if s in expected]  # the team view's order: team, staff id
    names = {"A2": "坐席二", "agent": "坐席一", "manager": "王经理"}
    assert data["compliance"]["labels"] == [names[s] for s in order]
    assert data["compliance"]["series"][0]["values"] == [round(float(expected[s]) * 100, 1) for s in order]
    bars = {s["name"]: s["values"] for s in data["tasks"]["series"]}
    lines = {m["staff_id"]: m for m in report["managers"]}
    for name, key in (("按时", "on_time"), ("逾期完成", "late"), ("逾期未完成", "open_overdue"), ("未完成", "missed")):
        assert bars[name] == [lines[s][key] for s in order], name
    assert lines["agent"]["late"] == 1  # the call recorded above, after its due date
    assert manager.get("/team?team=T2").status_code == 403
    assert agent.get("/team").status_code == 403
    assert 'data-staff="K2"' in login("analyst").get(f"/team?on={as_of}").text


def test_the_care_calendar_month_view(ops_app):
    app, w, login = ops_app
    care.run_day(app.state.engine, app.state.data_dir, w.plan, date(2026, 10, 1))
    html = login("agent").get("/care?month=2026-10").text
    cell = re.search(r'<td class="([^"]*)" data-date="2026-10-01">(.*?)</td>', html, re.S)
    assert "rest" in cell.group(1) and "国庆节" in cell.group(2) and "统一发送" in cell.group(2)
    assert f"holiday: queued {len(w.ids)}" in cell.group(2)  # every member greeted, sent centrally
    with app.state.engine.connect() as conn:
        queued = execute(conn, "SELECT count(*) FROM msg_outbox")[0][0]  # with the month's task SMS due that day
    assert f'data-messages="{queued}"' in cell.group(2)
    assert re.search(r'<td class="work[^"]*" data-date="2026-10-10">', html)  # a swapped working Saturday (调休)
    assert re.search(r'<td class="rest[^"]*" data-date="2026-10-03">', html)
    assert 'href="/care?month=2026-09"' in html and 'href="/care?month=2026-11"' in html


def test_the_care_calendar_past_the_package_shows_a_provisional_badge(ops_app):
    """Issue 20 §2: the care page's own "2027-01 →" link answers (no 422), marked provisional."""
    app, w, login = ops_app
    agent = login("agent")
    dec = agent.get("/care?month=2026-12").text
    assert 'href="/care?month=2027-01"' in dec and 'id="calendar-provisional"' not in dec
    jan = agent.get("/care?month=2027-01")
    assert jan.status_code == 200
    assert 'id="calendar-provisional"' in jan.text and 'id="provisional-note"' in jan.text and "2027" in jan.text
    assert re.search(r'<td class="rest[^"]*provisional" data-date="2027-01-01">', jan.text)
    feb = agent.get("/care?month=2027-02").text
    cell = re.search(r'<td class="([^"]*)" data-date="2027-02-05">(.*?)</td>', feb, re.S)
    assert "rest" in cell.group(1) and "春节" in cell.group(2) and "腊月廿九" in cell.group(2)


def test_a_task_from_the_churn_scores_shows_its_reason_in_the_pages_language(tmp_path_factory, monkeypatch):
    """Issue 18: the churn scores give each member's first reason in English (reason_1) and Chinese (reason_1_zh);
    the month's tasks keep both, and the work page shows the one of its language."""
    import html as html_lib

    import duckdb

    from tests.console import crawl_site as site_data
    from tests.console import staff_data as sd

    monkeypatch.setattr(users, "_hasher", op.cheap_hasher())
    scored = sd.retention(tmp_path_factory)
    root = tmp_path_factory.mktemp("reasons")
    app = site_data.build(root, scored, lambda db, data: create_app(db, data, secure_cookies=False))
    try:
        with app.state.engine.connect() as conn:
            rows = execute(
                conn,
                "SELECT task_id, member_id, reason, reason_en FROM ops_tasks WHERE assignee = 'agent' AND status = "
                "'open' AND source = 'target_list' AND kind IN ('retention_call', 'care_call', 'visit') "
                "ORDER BY task_id LIMIT 1",
            )
        assert rows, "no task from the target list for the agent"
        task_id, member, reason_zh, reason_en = rows[0]
        scores = root / "data" / "targets" / f"month={sd.SCORED}" / "part-0.parquet"
        want = duckdb.sql(
            f"SELECT reason_1, reason_1_zh FROM read_parquet('{scores}') WHERE member_id = '{member}'"
        ).fetchone()
        assert (reason_en, reason_zh) == want  # both languages kept, as the scores gave them
        assert reason_en and reason_zh and reason_en != reason_zh
        agent = Console(app).login("agent")
        try:
            pages = {}
            for lang in ("en", "zh_CN"):
                agent.get(f"/lang/{lang}?next=%2F")
                page = agent.get(f"/work/tasks/{task_id}?on=2026-09-01")
                assert page.status_code == 200, page.text[:500]
                pages[lang] = page.text
            assert html_lib.escape(reason_en) in pages["en"] and html_lib.escape(reason_zh) not in pages["en"]
            assert html_lib.escape(reason_zh) in pages["zh_CN"] and html_lib.escape(reason_en) not in pages["zh_CN"]
        finally:
            agent.http.close()
    finally:
        app.state.engine.dispose()
