"""Cancel a running draw in a real browser, in Chinese and English (issue 18 §3: an irreversible step asks to
confirm and shows what will change): the confirmation lists what stops and what stays given, the reason is
required, and the campaign page then says cancelled, by whom and why.
Screenshots: ``test-artifacts/screenshots/campaign-cancel-*.png``."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Server, Tab
from tests.console import operator as op
from tests.console.test_campaign_pages import running
from weixi.campaigns import lottery_service, service


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from weixi.api.app import create_app

    target = op.shared(tmp_path_factory).copy_to(tmp_path_factory.mktemp("browser-campaign-cancel"))
    app = create_app(str(target.db), str(target.data), secure_cookies=False)
    for cid in ("cancel-zh", "cancel-en"):
        running(app, cid)
        lottery_service.draw(app.state.engine, cid, op.MEMBER)
    with Server(app) as running_server:
        running_server.app = app
        yield running_server
    app.state.engine.dispose()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_admin_cancels_a_running_draw(browser, served, lang):
    cid = f"cancel-{lang}"
    t = Tab(browser, served, f"campaign-cancel-{lang}")
    try:
        if lang == "en":
            t.page.goto("/lang/en")
        t.login("admin")
        t.page.goto(f"/campaigns/{cid}")
        with t.page.expect_navigation():
            t.page.click('a[data-action="cancel"]')
        assert ("活动立即永久停止" if lang == "zh" else "stops now and for good") in t.page.inner_text("#stop-note")
        given = t.page.inner_text("#given-note")
        assert ("抽奖 1 次" if lang == "zh" else "1 draws") in given
        assert t.page.get_attribute("#cancel-reason", "required") is not None
        t.shot("confirm")
        t.page.fill("#cancel-reason", "门店装修，活动改期" if lang == "zh" else "shop closed for works")
        with t.page.expect_navigation():
            t.page.click("#confirm")
        banner = t.page.inner_text("#cancelled")
        assert ("门店装修" in banner) if lang == "zh" else ("Cancelled by admin" in banner)
        assert service.summary(served.app.state.engine, cid)["status"] == "cancelled"
        t.shot("cancelled")
        t.page.goto(f"/campaigns/{cid}/report")
        assert t.page.inner_text("#cancelled")
        t.shot("report")
        assert not t.errors and not t.left_machine, (t.errors, t.left_machine)
    finally:
        t.close()
