"""The clerk at the counter and the member 360 in Debian's chromium (issue 18 §1 "Clerk", §3 "Member 360"; issue 20
§5): find the member by the whole phone number, check in, redeem after a confirmation showing the points before and
after, draw and hand out a gift in a running campaign, in Chinese and English, at 1280 px and on a 390-px phone;
the member 360 with its status badge, retention context and the archive form saved by htmx. Screenshots in
test-artifacts/screenshots/counter-*.png and member360-*.png."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console import operator as op
from tests.console.test_campaign_pages import campaign_file
from weixi.adapters import archive
from weixi.campaigns import service

CID = "counter-browser"


def _app(server):
    return server.server.config.app


def _campaign(server) -> None:
    engine = _app(server).state.engine
    if CID in {c["campaign_id"] for c in service.list_campaigns(engine)}:
        return
    text = (
        campaign_file(CID) + "gifts:\n  - {id: stand, name: 手机支架, stock: 10, per_visit: 5, per_member: unlimited}\n"
    )
    service.create(engine, text, f"{CID}.yaml", "analyst")
    for step, who in (("submit", "analyst"), ("approve", "admin"), ("start", "admin")):
        service.act(engine, CID, step, who)


def _phone(server) -> str:
    return archive.members_lookup(_app(server).state.data_dir, op.MEMBER)["phone"]


def _balance(page) -> int:
    return int(page.locator("#balance").inner_text().replace(",", "").strip())


def test_a_clerk_serves_a_member_at_the_counter_in_chinese(tab, server):
    _campaign(server)
    t = tab("counter-zh-desktop")
    t.login("clerk")
    page = t.page
    expect(page).to_have_url(re.compile(r"/counter$"))  # the clerk's first page
    expect(page.locator("nav#side-menu a.current")).to_have_text("柜台服务")
    t.shot("lookup")
    page.fill("input[name=q]", _phone(server))
    page.click("#counter-lookup button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/counter/{op.MEMBER}$"))
    expect(page.locator("#member-status")).to_have_text(re.compile("在网|离网|尚未月结"))
    assert _phone(server) not in page.content()  # masked for a clerk
    t.shot("member")
    if page.locator("#do-checkin").count():
        page.click("#do-checkin")
        expect(page.locator("#notice")).to_contain_text("签到")
    before = _balance(page)
    page.locator("#rewards button.redeem").first.click()
    expect(page.locator("#confirm")).to_be_visible()
    assert int(page.locator("#before").inner_text().replace(",", "")) == before
    after = int(page.locator("#after").inner_text().replace(",", ""))
    t.shot("confirm-redeem")
    page.click("#confirm-redeem")
    expect(page.locator("#notice")).to_contain_text("已兑换")
    assert _balance(page) == after
    campaign = page.locator(f"#campaign-{CID}")
    campaign.locator("button.draw").click()
    expect(page.locator("#notice")).to_contain_text("已抽奖")
    page.locator(f"#campaign-{CID} button.gift").first.click()
    expect(page.locator("#notice")).to_contain_text("手机支架")
    t.shot("after-actions")
    page.click("#my-statement")
    expect(page).to_have_url(re.compile(r"/incentives"))


def test_the_counter_in_english_and_on_a_phone(tab, server):
    t = tab("counter-en-desktop")
    t.login("clerk")
    t.goto(f"/lang/en?next=/counter/{op.MEMBER}")
    page = t.page
    expect(page.locator("#rewards h2")).to_have_text("Redeem a reward")
    expect(page.locator("#member-status")).to_have_text(re.compile("In service|Left the network|Status not yet closed"))
    t.shot("member")
    phone = tab("counter-zh-phone", mobile=True)
    phone.login("clerk")
    phone.goto(f"/counter/{op.MEMBER}")
    p = phone.page
    expect(p.locator("#rewards h2")).to_have_text("兑换礼品")
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    phone.shot("member")
    phone.goto("/counter?q=123")
    expect(p.locator(".alert.error")).to_contain_text("请输入完整的手机号码或身份证号码")
    phone.shot("refused-lookup")


def test_the_member_360_shows_the_retention_context_and_saves_the_archive_by_htmx(tab, server):
    t = tab("member360-zh-desktop")
    t.login("agent")
    t.goto(f"/members/{op.MEMBER}")
    page = t.page
    expect(page.locator("#member-status")).to_be_visible()
    expect(page.locator("#retention h2")).to_have_text("维系情况")
    form = page.locator(f"#archive-form-{op.MEMBER}")
    form.locator("input[name=hobbies]").fill("钓鱼、乒乓球")
    form.locator("input[name=qq]").fill("123456789")
    form.locator("textarea[name=family_notes]").fill("女儿在外地读大学")
    url = page.url
    form.locator("button[type=submit]").click()
    expect(page.locator(f"#archive-form-{op.MEMBER} .alert.ok")).to_contain_text("已保存")  # swapped by htmx
    assert page.url == url
    expect(page.locator(f"#archive-form-{op.MEMBER} table.archive-history")).to_contain_text("钓鱼、乒乓球")
    page.locator("textarea[name=body]").fill("客户下午三点后方便接电话")
    page.click("#add-note")
    expect(page.locator("#notice")).to_contain_text("备注已添加")
    expect(page.locator("#note-list")).to_contain_text("客户下午三点后方便接电话")
    t.shot("agent")
    t.goto(f"/lang/en?next=/members/{op.MEMBER}")
    expect(page.locator("#retention h2")).to_have_text("Retention")
    t.shot("agent-en")
    phone = tab("member360-zh-phone", mobile=True)
    phone.login("agent")
    phone.goto(f"/members/{op.MEMBER}")
    assert phone.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.shot("agent")
