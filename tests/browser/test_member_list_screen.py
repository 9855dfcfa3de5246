"""The member list in Debian's chromium at 1366 px (issue 18 §3): the filter bar above the table, a filter change
swapping the table by htmx and putting the filters in the address bar, the total "共 N 条", a sort by a header.
Screenshot in test-artifacts/screenshots/member-list-desktop-*.png."""

from __future__ import annotations

import re

from playwright.sync_api import expect

DESKTOP = {"width": 1366, "height": 900}


def test_filter_sort_and_page_the_member_list_in_chinese(tab):
    t = tab("member-list-desktop")
    t.page.set_viewport_size(DESKTOP)
    t.login("analyst")
    page = t.page
    t.goto("/members")
    bar = page.locator("form#member-filters")
    table = page.locator("table#member-list")
    assert bar.bounding_box()["y"] < table.bounding_box()["y"]  # the filter bar above the table
    total = page.locator("#member-total")
    assert re.match(r"共 [\d,]+ 条", total.inner_text())
    all_members = int(re.search(r"共 ([\d,]+) 条", total.inner_text()).group(1).replace(",", ""))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    t.shot("all")
    page.select_option("select[name=value]", "A")  # a change swaps the table by htmx, no page load
    expect(page).to_have_url(re.compile(r"/members\?value=A&"))  # pushed by the fragment's HX-Push-Url
    expect(total).not_to_contain_text(f"共 {all_members:,} 条")
    filtered = int(re.search(r"共 ([\d,]+) 条", total.inner_text()).group(1).replace(",", ""))
    assert 0 < filtered < all_members
    assert set(page.locator("table#member-list tbody tr td:nth-child(7)").all_inner_texts()) == {"白金"}
    page.locator("table#member-list th a", has_text="星级").click()
    expect(page).to_have_url(re.compile(r"sort=star"))
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("星级")
    assert "value=A" in page.url
    t.shot("value-A-by-star")
