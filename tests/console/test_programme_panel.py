"""The dashboard's programme figures (issue 20 §13: "Redemption rate (兑换率), breakage (points that will never be
redeemed: expired and projected), the monthly points budget of the ongoing programme and its burn, conversion rate
— in the close summary, the API and the dashboard"): the latest closed month as its close kept them, the current
month from the ledger, each figure with what it is computed from."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.console import operator as op
from weixi.close import store


def _table(html: str) -> str:
    found = re.search(r'<table class="data" id="programme-table">(.*?)</table>', html, re.S)
    assert found, "no programme table"
    return found.group(1)


def _row(table: str, label: str) -> list[str]:
    row = re.search(r"<tr><td>" + re.escape(label) + r"</td>(.*?)</tr>", table, re.S)
    assert row, label
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]


def test_the_panel_shows_the_closed_month_and_the_current_month_with_the_burn_of_a_budget(console, operator):
    current = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    c = console("analyst")
    c.get("/lang/en?next=%2Fdashboard")
    html = c.get("/dashboard", params={"budget": 10_000}).text
    table = _table(html)
    assert op.CLOSED in table and current in table
    kept = store.read_manifest(operator.data, op.CLOSED)["summary"]["programme"]
    # the only entry of the current month is the console tests' grant of 5,000 points: half a 10,000-point budget
    closed_burn, current_burn = _row(table, "Budget burn (points issued / budget)")
    assert current_burn == "50.00% 5,000 / 10,000"
    assert closed_burn.endswith(f"{kept['issued']['month']:,} / 10,000")
    closed_conversion, _ = _row(table, "Conversion rate (members who redeemed / active members)")
    assert closed_conversion.endswith(f"0 / {kept['conversion']['denominator']:,}")  # nobody has redeemed
    assert kept["conversion"]["denominator"] == store.read_manifest(operator.data, op.CLOSED)["summary"]["active"]
    rate, _ = _row(table, "Redemption rate (month)")
    assert rate == f"0.00% 0 / {kept['issued']['month']:,}"


def test_without_a_budget_the_panel_says_so_and_speaks_chinese(console):
    html = console("manager").get("/dashboard").text
    table = _table(html)
    assert "兑换率" in table and "未设预算" in table


def test_an_empty_budget_field_is_no_budget_and_a_wrong_one_is_refused(console):
    c = console("analyst")
    c.get("/lang/en?next=%2Fdashboard")
    empty = c.get("/dashboard", params={"budget": ""})
    assert empty.status_code == 200 and "no budget set" in _table(empty.text)
    assert "50.00%" in _table(c.get("/dashboard", params={"budget": "10,000"}).text)
    for wrong in ("0", "abc", "-5"):
        refused = c.get("/dashboard", params={"budget": wrong})
        assert refused.status_code == 422
        assert f"the monthly points budget must be a whole number of points above 0, not {wrong}" in refused.text


def test_the_figures_follow_a_posting_made_after_the_page_was_read(console, app):
    """The dashboard keeps its journal-wide sums while nothing is posted (a page read again is ~10× faster at the
    demo's size); the next posting, redemption or expiry moves the ledger and the page shows the new figures."""
    from weixi.ledger.events import Event
    from weixi.ledger.posting import post_events

    c = console("analyst")
    c.get("/lang/en?next=%2Fdashboard")
    before = _row(_table(c.get("/dashboard", params={"budget": 10_000}).text), "Budget burn (points issued / budget)")
    assert before[1] == "50.00% 5,000 / 10,000"
    assert (
        _row(_table(c.get("/dashboard", params={"budget": 10_000}).text), "Budget burn (points issued / budget)")
        == before
    )
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    post_events(
        app.state.engine,
        [Event("grant:more", op.OTHER, "adjust", now, now.date(), points=1_000, attrs={"reason": "补偿"})],
    )
    after = _row(_table(c.get("/dashboard", params={"budget": 10_000}).text), "Budget burn (points issued / budget)")
    assert after[1] == "60.00% 6,000 / 10,000"
