"""The agent's and the manager's jobs in Chromium, in Chinese and English (issue 18 §1 "Manager", "Agent"; issue 20
§4): the agent works the queue (overdue first), records an outcome in one click over htmx, books a call-back at a
quiet hour and takes the proposed time; the manager drills down to a person's tasks and reassigns two after
confirming, transfers a member with a reason, reads the monthly portfolio, inspects tracking records and hands
out a quota (seed 002: "月饼指标、圣诞票指标任务到人"). Screenshots of every page in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.api.test_operations_api import ON, build_world
from tests.browser.conftest import Server, Tab
from tests.console import operator as op
from weixi.adapters.sql import execute
from weixi.operations import service as ops
from weixi.users import service as users


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory):
    from weixi.api.app import create_app

    tmp = tmp_path_factory.mktemp("manager-agent")
    data = tmp / "data"
    data.mkdir()
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    try:
        app = create_app(str(tmp / "ops.db"), str(data), secure_cookies=False)
        for role in ("agent", "manager"):
            users.create_user(app.state.engine, role, op.PASSWORD, role)
        build_world(app.state.engine, data, tmp)
        with app.state.engine.begin() as conn:  # one call past its service level
            execute(
                conn,
                "UPDATE ops_tasks SET due_on = ? WHERE task_id = '2026-09/retention-call/M000014'",
                [date(2026, 10, 9)],
            )
    finally:
        users._hasher = hasher
    with Server(app) as running:
        running.app = app
        yield running
    app.state.engine.dispose()


@pytest.fixture
def otab(browser, ops_server, request):
    made: list[Tab] = []

    def make(name: str, lang: str = "zh_CN") -> Tab:
        t = Tab(browser, ops_server, name)
        if lang == "en":
            t.context.add_cookies([{"name": "weixi_lang", "value": "en", "url": ops_server.url}])
        made.append(t)
        return t

    yield make
    problems = []
    for t in made:
        problems += [f"{t.name}: request left 127.0.0.1: {u}" for u in t.left_machine]
        problems += [f"{t.name}: browser console error: {e}" for e in t.errors]
        t.close()
    assert not problems, "\n".join(problems)


def test_the_agent_works_the_queue_and_books_a_callback(otab, ops_server):
    t = otab("agent-work-zh").login("agent")
    p = t.page
    t.goto(f"/work?on={ON}")
    rows = p.locator("#queue tbody tr")
    assert rows.first.get_attribute("data-task") == "2026-09/retention-call/M000014"  # overdue first
    assert "已逾期" in rows.first.inner_text()
    assert p.locator("#done-month").inner_text() == "0"
    t.shot("1-queue")
    p.click("#archive-on-call summary")  # what the agent learns on the call goes to the archive (helper D2's form)
    p.wait_for_selector("#archive-slot form")
    p.fill("#archive-slot input[name=hobbies]", "钓鱼、摄影")
    p.click("#archive-slot button[type=submit]")
    p.wait_for_selector("#archive-slot .alert.ok")
    t.shot("1b-archive-on-call")
    first = p.locator("#task").get_attribute("data-task")
    p.click("button[value=reached]")  # one click, swapped in by htmx
    p.wait_for_selector("#recorded")
    assert p.locator("#task").get_attribute("data-task") != first
    assert p.locator("#done-month").inner_text() == "1"  # closed now: this month
    day = date.today() + timedelta(days=3)
    p.fill("input[name=callback_at]", f"{day}T22:30")
    p.click("button[value=callback]")
    p.wait_for_selector("#book-proposal")
    proposal = p.locator("#outcome-error").inner_text()
    assert "免打扰时段" in proposal and f"{day + timedelta(days=1)} 08:00" in proposal
    t.shot("2-quiet-hours-proposal")
    p.click("#book-proposal")
    p.wait_for_selector("#recorded")
    assert ops.get_task(ops_server.app.state.engine, first)["outcome"] == "reached"
    p.click("#tab-winback")
    p.wait_for_selector("#no-task")
    t.shot("3-winback-empty")
    en = otab("agent-work-en", "en").login("agent")
    en.goto(f"/work?on={ON}")
    assert "Past the service level" in en.page.inner_text("#work-stats") and "Done this month" in en.page.content()
    en.shot("1-queue")


def test_the_manager_reassigns_transfers_reads_the_portfolio_inspects_and_hands_out(otab, ops_server):
    t = otab("manager-team-zh").login("manager")
    p = t.page
    t.goto(f"/team?on={ON}")
    p.click("#team-table a[href^='/team/staff/agent']")
    p.wait_for_selector("#staff-tasks")
    t.shot("1-drill-down")
    boxes = p.locator("#staff-tasks input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    p.select_option("select[name=to_staff]", "A2")
    p.click("#reassign-button")
    p.wait_for_selector("#reassign-confirm")
    assert "2 个待办任务将转给 坐席二" in p.inner_text("#reassign-confirm")
    t.shot("2-reassign-confirm")
    p.click("#confirm-reassign")
    p.wait_for_selector("#reassigned")
    t.goto("/team/transfer?member=M000004")
    p.select_option("#transfer-form select[name=to_staff]", "agent")
    p.fill("#transfer-form input[name=reason]", "跟踪记录不达标,转给别的领班维护")
    p.click("#transfer-form button[type=submit]")
    p.wait_for_selector("#transfer-confirm")
    t.shot("3-transfer-confirm")
    p.click("#confirm-transfer")
    p.wait_for_selector("#transfer-done")
    assert "跟踪记录不达标" in p.inner_text("#transfer-history")
    t.shot("4-transfer-done")
    t.goto("/team/portfolio?month=2026-09")
    assert re.search(r"王经理", p.inner_text("#portfolio"))
    t.shot("5-portfolio")
    t.goto(f"/team/inspection?month={ops.today(ops_server.app.state.engine):%Y-%m}&staff=agent")
    if p.locator("#mark-ok").count():
        p.click("#mark-ok")
        p.wait_for_selector("#inspection-done")
    t.shot("6-inspection")
    t.goto("/team/quotas?period=2026-09")
    p.fill("#quota-form input[name=item]", "月饼")
    p.select_option("#quota-form select[name=staff]", "manager")
    p.fill("#quota-form input[name=quantity]", "10")
    p.click("#quota-form button[type=submit]")
    p.wait_for_selector("#quotas tr[data-quota]")
    p.fill("#quotas input[name=member]", "M000002")
    p.fill("#quotas input[name=quantity]", "3")
    p.click("#quotas form button[type=submit]")
    p.wait_for_selector("#handouts")
    assert p.locator("#quotas td[data-col=remaining]").first.inner_text() == "7"
    t.shot("7-quotas")
    en = otab("manager-team-en", "en").login("manager")
    for step, path in (
        ("1-drill-down", f"/team/staff/agent?on={ON}"),
        ("3-transfer", "/team/transfer?member=M000004"),
        ("5-portfolio", "/team/portfolio?month=2026-09"),
        ("7-quotas", "/team/quotas?period=2026-09"),
    ):
        en.goto(path)
        assert "Monthly portfolio" in en.page.inner_text("#team-tabs")
        en.shot(step)
