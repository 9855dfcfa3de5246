"""The one pay statement and the approval chain in a real browser, in Chinese and English (issue 19 §5, §6): the team
leader approves their step through the confirmation, the director approves the last step, the month is published,
and the team leader's statement shows the maintenance bonus with its scores. Screenshots:
``test-artifacts/screenshots/incentive-pay-*.png``."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Server, Tab
from tests.console import operator as op
from tests.console import staff_data as sd
from tests.console.test_incentive_pay_pages import DIRECTOR, LEADER, month_dir_with_scorecard
from weixi.incentives import publication
from weixi.incentives import reports as incentive_reports
from weixi.users import service as users


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from weixi.api.app import create_app

    target = op.shared(tmp_path_factory).copy_to(tmp_path_factory.mktemp("browser-incentive-pay"))
    month_dir_with_scorecard(target.data)
    app = create_app(str(target.db), str(target.data), secure_cookies=False)
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    try:
        for username, role in ((LEADER, "clerk"), (DIRECTOR, "manager")):
            users.create_user(app.state.engine, username, op.PASSWORD, role)
    finally:
        users._hasher = hasher
    with Server(app) as running:
        running.app, running.data = app, target.data
        yield running
    app.state.engine.dispose()


def sign_in(browser, served, name: str, username: str, lang: str = "zh") -> Tab:
    t = Tab(browser, served, name)
    if lang == "en":
        t.page.goto("/lang/en")
    t.page.goto("/login")
    t.page.fill("input[name=username]", username)
    t.page.fill("input[name=password]", op.PASSWORD)
    with t.page.expect_navigation():
        t.page.click("button[type=submit]")
    return t


def approve(t: Tab, lang: str) -> None:
    t.page.goto("/incentives/approvals?month=2016-01")
    t.shot(f"approvals-{lang}")
    t.page.click("#chain-maintenance-scorecard a.primary")
    t.page.wait_for_selector("#confirm-pay")
    t.shot(f"confirm-{lang}")
    with t.page.expect_navigation():
        t.page.click("#confirm-decide")


def test_approve_publish_and_read_the_one_statement(browser, served):
    tabs = []
    try:
        leader = sign_in(browser, served, "incentive-pay-leader", LEADER)
        tabs.append(leader)
        approve(leader, "zh")
        row = leader.page.locator('#chain-maintenance-scorecard tr[data-step="judged"] td[data-by]')
        assert row.get_attribute("data-by") == LEADER and row.inner_text() == f"李强 ({LEADER})"  # name beside id
        director = sign_in(browser, served, "incentive-pay-director", DIRECTOR, "en")
        tabs.append(director)
        assert "Approve" in director.page.goto("/incentives/approvals?month=2016-01").text()
        approve(director, "en")
        assert director.page.get_attribute("#chain-maintenance-scorecard", "data-complete") == "true"
        # the admin computes the month and publishes it from the console, after a confirmation
        admin = sign_in(browser, served, "incentive-pay-admin", "admin")
        tabs.append(admin)
        admin.page.goto(f"/incentives/publish?month={sd.MONTH}")
        computed = incentive_reports.recompute(served.data, sd.MONTH, engine=served.app.state.engine)
        staff = len(computed.to_json()["staff"])
        assert admin.page.locator("#computed-staff").inner_text() == str(staff)
        admin.shot("publish-zh")
        with admin.page.expect_navigation():
            admin.page.click("#publish-button")
        assert admin.page.locator("#notice").inner_text() == f"{sd.MONTH} 第 1 版已发布。"
        assert publication.published(served.app.state.engine, sd.MONTH)["published_by"] == "admin"
        for t, lang in ((leader, "zh"), (director, "en")):
            response = t.page.goto(f"/incentives/{sd.MONTH}/staff/{LEADER}")
            t.shot(f"statement-{lang}")
            # said at once with what the page shows (a CI run once waited 15 s for a row the page lacked)
            assert response.status == 200, (lang, response.status, t.page.inner_text("body")[:1500])
            codes = t.page.eval_on_selector_all("#lines tr[data-code]", "rows => rows.map(r => r.dataset.code)")
            assert "incentive_line.scorecard" in codes, (lang, codes, t.page.inner_text("body")[:1500])
            cell = t.page.locator('#lines tr[data-code="incentive_line.scorecard"] td[data-yuan]')
            assert cell.get_attribute("data-yuan") == "500.00"  # seed 003: "组长优500元"
            assert t.page.locator("#scores").is_visible()
        assert "优" in leader.page.locator("#scores").inner_text()
        assert "Scores" in director.page.locator("body").inner_text()
        problems = [e for t in tabs for e in t.errors + t.left_machine]
        assert not problems, problems
    finally:
        for t in tabs:
            t.close()
