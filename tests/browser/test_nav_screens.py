"""The side menu by area of work in Debian's chromium (issue 18 §3): on a 1366-px desktop a side menu with the current
page marked and its group open, other groups opening with a click (no script); on a 390-px phone a top menu behind
the menu button; the top bar with name, role, language and log out; breadcrumbs on a detail page. Screenshots of
the admin's and the agent's first page, desktop and phone, in test-artifacts/screenshots/nav-*.png."""

from __future__ import annotations

import pytest

from tests.console import operator as op
from tests.console.test_nav import MENU, NAV

DESKTOP = {"width": 1366, "height": 900}
FIRST = {"admin": "总览", "agent": "我的任务"}  # the current item on each role's first page


def open_tab(tab, role: str, phone: bool):
    t = tab(f"nav-{role}-{'phone' if phone else 'desktop'}", mobile=phone)
    if not phone:
        t.page.set_viewport_size(DESKTOP)
    t.login(role)
    assert t.page.url.endswith(NAV[role][0])
    return t


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_desktop_side_menu_by_area_with_the_current_page_marked(tab, role):
    t = open_tab(tab, role, phone=False)
    page = t.page
    menu = page.locator("nav#side-menu")
    box = menu.bounding_box()
    assert box["x"] == 0 and 180 <= box["width"] <= 220 and box["height"] >= 700  # a column on the left
    main = page.locator("main").bounding_box()
    assert main["x"] >= box["width"]  # the page beside the menu, not under it
    assert not page.locator(".menu-button").is_visible()
    summaries = menu.locator("summary").all_inner_texts()
    assert summaries == list(MENU[role])
    current = menu.locator("a.current")
    assert current.count() == 1 and current.inner_text() == FIRST[role] and current.is_visible()
    open_groups = menu.locator("details[open] > summary").all_inner_texts()
    assert open_groups == [g for g, paths in MENU[role].items() if NAV[role][0] in paths]
    top = page.locator("header.top")
    assert top.bounding_box()["height"] <= 56  # one compact bar
    assert top.locator(".user-name").inner_text() == op.LOGINS[role]
    assert top.locator(".role").inner_text() == {"admin": "系统管理员", "agent": "外呼坐席"}[role]
    assert top.locator("a[data-lang=en]").is_visible() and top.locator("button", has_text="退出").is_visible()
    if role == "admin":
        page.wait_for_selector("html[data-charts=ready]")
    assert fits_the_width(page)
    t.shot("home")
    if role == "admin":  # a long page: the menu stays in view while it scrolls
        page.evaluate("window.scrollTo(0, 1500)")
        page.wait_for_function("window.scrollY >= 1000")
        assert menu.bounding_box()["y"] == 0 and menu.locator("a.current").is_visible()
        t.shot("scrolled", full_page=False)
        page.evaluate("window.scrollTo(0, 0)")
    key = menu.locator("details:not([open])").first.get_attribute("data-group")
    closed = menu.locator(f'details[data-group="{key}"]')
    assert not closed.locator("a").first.is_visible()
    closed.locator("summary").click()  # a group opens without a script
    assert closed.locator("a").first.is_visible()


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_phone_top_menu_behind_the_menu_button(tab, role):
    t = open_tab(tab, role, phone=True)
    page = t.page
    menu = page.locator("nav#side-menu")
    assert not menu.is_visible() and page.locator(".menu-button").is_visible()
    assert page.locator("header.top .role").is_visible()
    assert fits_the_width(page)
    if role == "admin":
        page.wait_for_selector("html[data-charts=ready]")
    t.shot("home", full_page=False)
    page.locator(".menu-button").click()
    assert menu.is_visible()
    box = menu.bounding_box()
    assert box["width"] >= 380 and box["y"] < 120  # a full-width menu under the top bar
    assert menu.locator("a.current").inner_text() == FIRST[role]
    assert fits_the_width(page)
    t.shot("menu-open", full_page=False)
    target = NAV[role][-1]
    group = menu.locator("details", has=page.locator(f'a[data-nav="{target}"]'))
    if group.get_attribute("open") is None:
        group.locator("summary").click()
    with page.expect_navigation():
        menu.locator(f'a[data-nav="{target}"]').click()
    assert page.url.endswith(target) and not menu.is_visible()  # a new page starts with the menu closed


def test_english_menu_and_breadcrumbs_lead_back_to_the_list(tab):
    t = open_tab(tab, "manager", phone=False)
    page = t.page
    with page.expect_navigation():
        page.click("a[data-lang=en]")
    assert page.locator("nav#side-menu summary").all_inner_texts() == [
        "Analysis",
        "Operations",
        "Membership",
        "Marketing",
        "Assessment",
        "System",
    ]
    t.goto(f"/members/{op.MEMBER}")
    crumbs = page.locator("nav.breadcrumbs li")
    assert crumbs.all_inner_texts() == ["Membership", "Members", op.MEMBER]  # group, list, this page
    assert page.locator("nav#side-menu a.current").inner_text() == "Members"
    t.shot("member-360-en")
    with page.expect_navigation():
        crumbs.nth(1).locator("a").click()
    assert page.url.endswith("/members") and page.locator("nav.breadcrumbs").count() == 0
