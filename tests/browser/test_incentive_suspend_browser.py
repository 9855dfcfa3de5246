"""Suspending a month's pay and the awards' deadline in a real browser, in Chinese and English (issue 19 §6).

Seed 003 (维修部激励方案): "根据当月情况总监可以决定各组或全部门不执行此方案": the director, signed in with a login whose
``staff_id`` is theirs, suspends the maintenance bonuses of 2016-01 after a confirmation; a blank reason is refused
beside the form; the approvals page shows who, when and why; in English the director lifts it again. Seed 000:
"奖励将在下季度开始前正式宣布和发放": after 2024-04-01 the committee's confirmation shows the refusal and no button.
Screenshots: ``test-artifacts/screenshots/incentive-suspend-*.png``."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Server
from tests.browser.test_incentive_pay_browser import sign_in
from tests.console import operator as op
from tests.console.test_incentive_suspend_console import (
    COMMITTEE,
    DIRECTOR,
    PLAN,
    QUARTER_END,
    ZHANG,
    at,
    build,
    suspended,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The console tests' operator: the 2016-01 maintenance month and the 2024-Q1 awards."""
    app = build(op.shared(tmp_path_factory), tmp_path_factory)
    yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def served(site):
    with Server(site) as running:
        yield running


def test_the_director_suspends_and_lifts_a_months_pay_and_the_deadline_refuses_late_awards(
    browser, served, site, monkeypatch
):
    at(monkeypatch, "2016-02-03T10:00:00+08:00")
    tabs = []
    try:
        zh = sign_in(browser, served, "incentive-suspend-director-zh", ZHANG)
        tabs.append(zh)
        zh.page.goto("/incentives/approvals?month=2016-01")
        zh.shot("approvals")
        with zh.page.expect_navigation():
            zh.page.click(f"#suspend-{PLAN}")
        assert zh.page.get_attribute("#confirm-pay", "data-yuan") == "500.00"  # seed 003: "组长优500元" held back
        zh.refusals.add(f"{served.url}/incentives/2016-01/suspensions/{PLAN}")  # the 422 of the blank reason
        zh.page.fill("textarea[name=reason]", "   ")  # not blank for the browser, blank for the rule
        with zh.page.expect_navigation():
            zh.page.click("#confirm-suspend")
        assert "暂停执行须注明原因" in zh.page.locator("#suspension-error").inner_text()
        zh.shot("refused")
        zh.page.fill("textarea[name=reason]", "设备总体状况很差")
        with zh.page.expect_navigation():
            zh.page.click("#confirm-suspend")
        alert = zh.page.locator(f"#chain-{PLAN} [data-suspended]")
        assert f"张总 ({DIRECTOR})" in alert.inner_text() and "设备总体状况很差" in alert.inner_text()
        assert alert.get_attribute("data-by") == DIRECTOR and suspended(site) == {PLAN: "设备总体状况很差"}
        zh.shot("suspended")

        en = sign_in(browser, served, "incentive-suspend-director-en", ZHANG, "en")
        tabs.append(en)
        en.page.goto("/incentives/approvals?month=2016-01")
        assert "Pay suspended for 2016-01" in en.page.locator(f"#chain-{PLAN} [data-suspended]").inner_text()
        en.shot("suspended")
        with en.page.expect_navigation():
            en.page.click(f"#resume-{PLAN}")
        en.shot("resume-confirm")
        with en.page.expect_navigation():
            en.page.click("#confirm-suspend")
        assert en.page.locator(f"#chain-{PLAN} [data-suspended]").count() == 0 and suspended(site) == {}

        at(monkeypatch, "2024-04-02T09:00:00+08:00")  # the next quarter has started: the awards are late
        late = sign_in(browser, served, "incentive-suspend-committee-en", COMMITTEE, "en")
        tabs.append(late)
        late.page.goto(f"/incentives/approvals?month={QUARTER_END}")
        assert "must be published before April 1, 2024" in late.page.locator("[data-deadline]").inner_text()
        late.shot("deadline")
        late.page.goto(f"/incentives/{QUARTER_END}/approvals/cs-reward-scorecard/confirm?decision=approve")
        assert "2024-04-01" in late.page.locator("#confirm-refusal").inner_text()
        assert late.page.locator("#confirm-decide").count() == 0
        late.shot("refused")
        zh.page.goto(f"/incentives/approvals?month={QUARTER_END}")
        assert "须在 2024年4月1日 前发布" in zh.page.locator("[data-deadline]").inner_text()
        zh.shot("deadline")
        problems = [e for t in tabs for e in t.errors + t.left_machine]
        assert not problems, problems
    finally:
        for t in tabs:
            t.close()
