"""The member's own page on a 390-px phone in Debian's chromium, in Chinese and English (issue 18 §1 "Member"):
the member's layout fits the screen, the tier and what expires when are on top, the draw in a running campaign,
the referral code copied and drawn as a QR code. Screenshots: test-artifacts/screenshots/member-phone-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, Tab
from tests.console import operator as op
from tests.console.test_campaign_pages import campaign_file
from weixi.adapters import archive
from weixi.adapters.sql import execute
from weixi.ledger import selfservice


@pytest.fixture(scope="module")
def campaign_server(tmp_path_factory):
    """An app over a copy of the tiny operator with the two-prize lottery ``live-draw`` running (the demo member
    holds one chance)."""
    from weixi.api.app import create_app
    from weixi.campaigns import service

    operator = op.shared(tmp_path_factory).copy_to(tmp_path_factory.mktemp("member-phone"))
    app = create_app(str(operator.db), str(operator.data), secure_cookies=False)
    engine = app.state.engine
    service.create(engine, campaign_file("live-draw"), "live-draw.yaml", "analyst")
    for step, who in (("submit", "analyst"), ("approve", "admin"), ("start", "admin")):
        service.act(engine, "live-draw", step, who)
    with Server(app) as running:
        running.app = app
        yield running
    engine.dispose()


@pytest.fixture
def phone(browser, campaign_server):
    made: list[Tab] = []

    def make(name: str) -> Tab:
        t = Tab(browser, campaign_server, name, mobile=True)
        made.append(t)
        return t

    yield make
    problems = []
    for t in made:
        problems += [f"{t.name}: request left 127.0.0.1: {u}" for u in t.left_machine]
        problems += [f"{t.name}: browser console error: {e}" for e in t.errors]
        t.close()
    assert not problems, "\n".join(problems)


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_member_reads_tier_and_expiry_draws_and_copies_the_code_on_a_phone_in_chinese(phone):
    t = phone("member-phone-zh").login("member")
    page = t.page
    assert page.url.endswith("/me")
    assert page.locator("header.member-top").is_visible() and page.locator("header.top").count() == 0
    assert fits(page)  # nothing wider than the phone
    t.shot("top", full_page=False)
    assert re.fullmatch(r"(普通|银卡|金卡|钻石)会员", page.locator("#tier-name").inner_text())
    assert page.locator("#tier h2").inner_text().startswith("我的等级：")
    months = page.locator("#expiry ul.schedule li").all_inner_texts()
    assert months and all(re.match(r"\d{4}-\d\d\s+[\d,]+", m) for m in months)
    assert re.search(r"积分将于 \d{4}年\d{1,2}月 到期。", page.locator("#soonest").inner_text())
    t.shot("page")

    campaign = page.locator('article[data-campaign="live-draw"]')
    assert "金条 · 50积分" in campaign.inner_text() and campaign.locator("strong.left").inner_text() == "1"
    with page.expect_navigation():
        campaign.locator("button.draw").click()
    assert page.locator("#notice").inner_text() in (
        "恭喜您抽中金条！请凭此页面到营业厅领取。",
        "恭喜您抽中50积分，50 积分将存入您的账户。",
        "很遗憾，本次未中奖，感谢参与。",
    )
    assert campaign.locator("strong.left").inner_text() == "0" and campaign.locator("button.draw").is_disabled()
    assert campaign.locator("ul.draws li").count() == 1
    t.shot("drawn")

    code = selfservice.referral_code(op.MEMBER)
    referral = page.locator("#referral")
    referral.scroll_into_view_if_needed()
    assert page.locator("#referral-code").inner_text() == code
    qr = referral.locator("svg[role=img]")
    assert qr.get_attribute("aria-label") == "我的推荐码二维码"
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["width"] == box["height"] and box["x"] >= 0 and box["x"] + box["width"] <= 390
    button = page.locator("#copy-code")
    button.click()
    expect(button).to_have_attribute("data-copied", "yes")
    expect(button).to_have_text("已复制")
    t.shot("referral", full_page=False)


def test_the_member_page_in_english_on_a_phone(phone):
    t = phone("member-phone-en").login("member")
    page = t.page
    with page.expect_navigation():
        page.locator('a[data-lang="en"]').click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert fits(page)
    assert page.locator("#tier h2").inner_text().startswith("My tier: ")
    assert re.search(r"points expire in \w{3} \d{4}\.", page.locator("#soonest").inner_text())
    assert page.locator("nav.quick a").all_inner_texts() == ["Check in", "Activities", "Redeem", "Invite"]
    assert page.locator("#referral svg[role=img]").get_attribute("aria-label") == "QR code of my referral code"
    assert page.locator("#expiry h2").inner_text() == "What expires when"
    # the tier's name is the operator's own (the plan's 银卡会员), shown as written in every language
    assert re.fullmatch(
        r"Points earned in the last 12 months: [\d,]+\. [\d,]+ more to reach \S+\.",
        page.locator("#tier .progress-text").inner_text(),
    )
    t.shot("page")


def test_a_member_logs_in_on_the_phone_with_an_sms_code(phone, campaign_server):
    app = campaign_server.app
    number = archive.members_lookup(app.state.data_dir, op.OTHER)["phone"]  # a member without a login yet
    t = phone("member-phone-sms-zh")
    page = t.page
    page.goto("/login")
    with page.expect_navigation():
        page.locator("#tab-sms").click()
    assert page.url.endswith("/login/sms") and page.locator("#tab-sms").get_attribute("aria-current") == "page"
    page.fill("input[name=phone]", number)
    t.shot("login-phone", full_page=False)
    with page.expect_navigation():
        page.click("#send-code")
    assert "6 位验证码已通过短信发送" in page.locator("#login-notice").inner_text()
    with app.state.engine.connect() as conn:
        body = execute(conn, "SELECT body FROM msg_outbox WHERE recipient = ? ORDER BY message_id DESC", [number])[0][0]
    code = re.search(r"\b(\d{6})\b", body).group(1)  # no SMS gateway: the code is read from the outbox
    page.fill("input[name=code]", code)
    t.shot("login-code", full_page=False)
    with page.expect_navigation():
        page.press("input[name=code]", "Enter")  # Enter logs in (the primary button comes first)
    assert page.url.endswith("/me")
    assert page.locator("#referral-code").inner_text() == selfservice.referral_code(op.OTHER)
    assert fits(page)
    t.shot("logged-in", full_page=False)


def test_the_sms_login_in_english(phone):
    t = phone("member-phone-sms-en")
    page = t.page
    page.goto("/lang/en?next=%2Flogin%2Fsms")
    assert page.locator("#tab-sms").inner_text() == "Phone number and SMS code"
    page.fill("input[name=phone]", "12345")
    t.refusals.add(t.base + "/login/sms/code")  # the 422 the test asks for
    with page.expect_navigation():
        page.click("#send-code")
    assert page.locator("#login-error").inner_text().startswith("Enter an 11-digit mobile number, e.g. 13812345678.")
    assert fits(page)
    t.shot("refused", full_page=False)
