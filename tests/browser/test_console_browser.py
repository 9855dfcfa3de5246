"""End to end in Debian's chromium: each role sees only its pages; a member redeems and the balance falls on
their page and on the console's member 360; the language switch; the monthly close's live progress."""

from __future__ import annotations

import re

import pytest

from tests.console import operator as op
from tests.console.test_pages import NAV  # noqa: E402  (one expected navigation per role for both suites)

FORBIDDEN = {
    "admin": "/me",
    "analyst": "/me",
    "manager": "/close",
    "agent": "/dashboard",
    "clerk": "/plans",
    "member": "/dashboard",
}


def number(text: str) -> int:
    return int(re.sub(r"[^\d-]", "", text))


@pytest.mark.parametrize("role", list(NAV))
def test_each_role_sees_only_what_it_may(tab, role):
    t = tab(f"role-{role}", mobile=role == "member").login(role)
    page = t.page
    assert page.url.endswith(NAV[role][0])
    assert page.locator("nav.main a").evaluate_all("els => els.map(e => e.getAttribute('href'))") == NAV[role]
    if role == "admin":
        page.wait_for_selector("html[data-charts=ready]")
        assert page.locator(".wx-chart[data-drawn] canvas").count() >= 2  # ECharts drew from the vendored file
    t.shot("home", full_page=role in ("admin", "member"))
    response = t.goto(FORBIDDEN[role], refused=True)
    assert response.status == 403
    assert page.locator("h1").inner_text() == "您无权打开此页面"
    assert page.locator("nav.main a").count() == len(NAV[role])  # the refusal page keeps the role's navigation
    if role in ("clerk", "member"):
        t.shot("forbidden")


def test_member_redeems_and_the_balance_falls_on_their_page_and_the_console(tab):
    member = tab("member-redeem", mobile=True).login("member")
    page = member.page
    assert page.url.endswith("/me")
    before = number(page.locator("#balance").inner_text())
    member.shot("before")
    with page.expect_navigation():
        page.locator('li[data-reward="bill-credit"] button.redeem').click()
    # an irreversible action asks to confirm and shows what will change: the balance before and after
    assert number(page.locator("#confirm-before").inner_text()) == before
    assert number(page.locator("#confirm-after").inner_text()) == before - 100
    member.shot("confirm")
    with page.expect_navigation():
        page.click("#confirm-redeem-button")
    assert page.locator("#notice").inner_text() == "已兑换 1 × 话费抵扣1元,使用 100 积分。"
    after = number(page.locator("#balance").inner_text())
    assert after == before - 100
    assert "话费抵扣1元 × 1" in page.locator("#redemptions li").first.inner_text()
    member.shot("after")

    staff = tab("manager-360").login("manager")
    spage = staff.page
    staff.goto("/members")
    spage.fill("input[name=q]", op.MEMBER)  # htmx live search swaps the results in
    spage.wait_for_selector(f'#member-results a[href="/members/{op.MEMBER}"]')
    with spage.expect_navigation():
        spage.click(f'#member-results a[href="/members/{op.MEMBER}"]')
    assert number(spage.locator("#balance").inner_text()) == after
    rows = spage.locator("#history tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => [c.innerText.trim(), c.title]))"
    )
    assert number(rows[0][4][0]) == after  # the running balance after the newest entry
    assert rows[0][2][0] == "兑换 话费抵扣1元"  # the entry says what it was; its event id is only the cell's title
    newest = rows[0][2][1]
    redeemed = [r for r in rows if r[1][0] == "兑换" and r[2][1] == newest]
    assert sum(number(r[3][0]) for r in redeemed) == -100  # one redemption, from its lots
    assert "****" not in spage.locator("#phone").inner_text()  # a customer manager sees the number in clear
    staff.shot("member-360")


def test_switching_the_language_shows_english_and_is_remembered(tab):
    t = tab("language").login("analyst")
    page = t.page
    assert page.locator("h1").inner_text() == "总览"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    with page.expect_navigation():
        page.click("a[data-lang=en]")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("html").get_attribute("lang") == "en"
    labels = [t.strip() for t in page.locator("nav.main a").all_text_contents()]
    assert len(labels) == len(NAV["analyst"]) and {"Dashboard", "Members", "Plans", "Monthly close"} <= set(labels)
    assert not any(re.search(r"[\u4e00-\u9fff]", label) for label in labels)  # no Chinese left in the menu
    page.wait_for_selector("html[data-charts=ready]")
    t.shot("english-dashboard")
    t.goto("/members")
    assert page.locator("h1").inner_text() == "Members"
    with page.expect_navigation():
        page.click("a[data-lang=zh_CN]")
    assert page.locator("h1").inner_text() == "会员"


def test_the_close_page_shows_live_progress_until_the_result(tab):
    t = tab("close").login("admin")
    page = t.page
    t.goto("/close")
    assert page.locator("input[name=month]").input_value() == "2026-09"
    with page.expect_navigation():
        page.click("#start-close")  # the confirmation: the month, the plan, what the close writes
    with page.expect_navigation():
        page.click("#confirm-start")
    assert "/close/jobs/" in page.url
    page.wait_for_selector("#job[data-status=succeeded]", timeout=60_000)  # htmx polls the job every second
    assert "2026-09" in page.locator("h1").inner_text()
    assert page.locator("#close-result").is_visible()
    t.shot("result")


def test_the_guard_stops_and_reports_requests_that_leave_the_machine(tab):
    from playwright.sync_api import Error

    t = tab("guard")
    other = t.context.new_page()  # its error page must not interrupt the next navigation of t.page
    with pytest.raises(Error):
        other.goto("http://192.0.2.10/tracker.js")  # TEST-NET-1: never routable
    other.close()
    assert t.left_machine == ["http://192.0.2.10/tracker.js"]
    t.left_machine.clear()  # expected here; any other test with a recorded request fails at teardown
    t.goto("/login")
    blocked = t.page.evaluate("() => fetch('http://192.0.2.10/beacon').then(() => 'sent', () => 'blocked')")
    assert blocked == "blocked" and t.left_machine == []  # the page's own policy stops it before the network
    assert any("Content Security Policy" in e for e in t.errors)
    t.errors.clear()
