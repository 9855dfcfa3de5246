"""Incentive pages in-process: a clerk sees only their own statement (and every order behind it), a manager
their team, an analyst everyone with charts, exports and the published-versus-recomputed difference; the
numbers on the pages are the service's."""

from __future__ import annotations

import html
import re
import shutil
import warnings
from decimal import Decimal

import pytest

from tests.console import operator as op
from tests.console import staff_data as sd
from tests.console.conftest import Console
from weixi.api.app import create_app
from weixi.incentives import lines, publication
from weixi.incentives import reports as incentive_reports
from weixi.users import service as users

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")


@pytest.fixture(scope="module")
def site(base_operator, tmp_path_factory):
    """The console over a copy of the tiny operator with January 2016's incentive inputs, published; logins for
    a clerk (S000003, team T0) and a manager (S000010, team T1)."""
    target = base_operator.copy_to(tmp_path_factory.mktemp("incentive-pages"))
    month_dir = sd.incentives(target.data)
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    app = create_app(str(target.db), str(target.data), secure_cookies=False)
    try:
        for username, role in ((sd.CLERK, "clerk"), (sd.MANAGER, "manager")):
            users.create_user(app.state.engine, username, op.PASSWORD, role)
    finally:
        users._hasher = hasher
    result = incentive_reports.recompute(target.data, sd.MONTH)
    publication.publish(app.state.engine, result, "payroll office")
    app.month_dir, app.expected = month_dir, result.to_json()
    yield app
    app.state.engine.dispose()


def login(app, username: str) -> Console:
    c = Console(app)
    r = c.post_form("/login", "/login", {"username": username, "password": op.PASSWORD, "next": ""})
    assert r.status_code == 303, r.text
    return c


def staff_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-staff="([^"]+)"', html)


def bonuses(html: str) -> dict[str, Decimal]:
    rows = re.findall(r'<tr data-staff="([^"]+)">.*?data-bonus="([^"]+)"', html, re.S)
    return {s: Decimal(b) for s, b in rows}


def test_a_clerk_sees_their_own_statement_and_every_order_behind_it(site):
    c = login(site, sd.CLERK)
    want = site.expected["staff"][sd.CLERK]
    home = c.get("/incentives")
    assert home.status_code == 200 and 'data-nav="/incentives"' in home.text
    mine = re.search(r'id="my-statement".*?data-bonus="([^"]+)"', home.text, re.S)
    assert Decimal(mine.group(1)) == Decimal(want["bonus_yuan"])
    assert 'id="team-statements"' not in home.text and "/export" not in home.text
    page = c.get(f"/incentives/{sd.MONTH}/staff/{sd.CLERK}")
    assert page.status_code == 200
    orders = re.findall(r'<tr data-order="([^"]+)" data-code="[^"]+"><td>[^<]+</td><td data-rule="retention', page.text)
    assert orders == [line["order_id"] for line in want["lines"]]
    # each line is said in the reader's language (Chinese by default), from its code and params, not in English
    for line in want["lines"]:
        said = lines.say(line["code"], line["params"], "zh_CN")
        assert said.startswith(f"订单 {line['order_id']}（") and html.escape(said, quote=False) in page.text
        assert line["text"] not in page.text and line["params"]["rule_name"] in said
    yuan = [Decimal(y) for y in re.findall(r'data-yuan="([^"]+)"', page.text)]
    assert sum(yuan) == Decimal(want["bonus_yuan"])  # every yuan is on a line
    assert want["excluded"] and all(e["order_id"] in page.text for e in want["excluded"])
    assert all(html.escape(lines.say_excluded(e, "zh_CN"), quote=False) in page.text for e in want["excluded"])
    c.http.cookies.set("weixi_lang", "en")
    english = c.get(f"/incentives/{sd.MONTH}/staff/{sd.CLERK}").text
    c.http.cookies.delete("weixi_lang")
    assert all(html.escape(line["text"], quote=False) in english for line in want["lines"])
    other = c.get(f"/incentives/{sd.MONTH}/staff/{sd.OTHER_TEAM}")
    assert other.status_code == 403 and other.headers["content-type"].startswith("text/html")
    assert c.get(f"/incentives/{sd.MONTH}/data.json").status_code == 403
    assert c.get(f"/incentives/{sd.MONTH}/diff").status_code == 403


def test_a_manager_sees_their_team_ranked(site):
    c = login(site, sd.MANAGER)
    html = c.get("/incentives").text
    team = {f"S{i:06d}" for i in range(10, 20)}
    assert set(staff_rows(html)) == team
    assert bonuses(html) == {s: Decimal(site.expected["staff"][s]["bonus_yuan"]) for s in team}
    ranked = list(bonuses(html).values())
    assert ranked == sorted(ranked, reverse=True)
    assert c.get(f"/incentives/{sd.MONTH}/staff/{sd.TEAM_MATE}").status_code == 200
    assert c.get(f"/incentives/{sd.MONTH}/staff/{sd.CLERK}").status_code == 403
    assert c.get("/incentives", params={"team": "T0"}).status_code == 403
    charts = c.get(f"/incentives/{sd.MONTH}/data.json").json()
    people = incentive_reports.roster(site.state.engine, site.state.data_dir, sd.MONTH)
    assert set(charts["bonus"]["labels"]) == {f"{people[s]['name']} ({s})" for s in team}  # the name beside the id


def test_an_analyst_sees_everyone_with_charts_exports_and_totals_by_business(site):
    c = login(site, "analyst")
    html = c.get("/incentives").text
    assert len(staff_rows(html)) == sd.STAFF
    total = sum(Decimal(s["bonus_yuan"]) for s in site.expected["staff"].values())
    by_business = [Decimal(y) for y in re.findall(r'<td class="n" data-yuan="([^"]+)"', html)]
    assert sum(by_business) == total
    assert f'href="/api/incentives/{sd.MONTH}/export?format=csv"' in html
    export = c.get(f"/api/incentives/{sd.MONTH}/export?format=csv")  # the session cookie works for downloads
    assert export.status_code == 200 and export.content.decode("utf-8-sig").count("\n") == sd.STAFF + 1
    charts = c.get(f"/incentives/{sd.MONTH}/data.json").json()
    assert sum(Decimal(str(v)) for v in charts["business"]["series"][0]["values"]) == total
    assert [Decimal(str(v)) for v in charts["bonus"]["series"][0]["values"]] == sorted(
        (Decimal(s["bonus_yuan"]) for s in site.expected["staff"].values()), reverse=True
    )
    t0 = c.get("/incentives", params={"team": "T0"}).text
    assert set(staff_rows(t0)) == {f"S{i:06d}" for i in range(10)}
    assert "/static/charts.js" in html and 'data-key="business"' in html


def test_the_pages_speak_both_languages(site):
    c = login(site, sd.CLERK)
    assert "我的考核结果" in c.get("/incentives").text
    c.http.cookies.set("weixi_lang", "en")
    page = c.get(f"/incentives/{sd.MONTH}/staff/{sd.CLERK}").text
    assert "Pay lines" in page and "Excluded orders" in page


def test_the_difference_page_shows_a_late_order(site, tmp_path):
    analyst = login(site, "analyst")
    assert 'id="no-changes"' in analyst.get(f"/incentives/{sd.MONTH}/diff").text
    saved = tmp_path / "orders.csv"
    shutil.copy(site.month_dir / "orders.csv", saved)
    shutil.copy(site.month_dir / "targets.csv", tmp_path / "targets.csv")
    try:
        sd.add_late_order(site.month_dir, sd.CLERK)
        html = analyst.get(f"/incentives/{sd.MONTH}/diff").text
        row = re.search(rf'<tr data-staff="{sd.CLERK}" data-measure="mobile_units">.*?</tr>', html, re.S)
        assert row and 'data-difference="1"' in row.group(0) and "LATE1" in row.group(0)
        assert publication.published(site.state.engine, sd.MONTH)["version"] == 1  # nothing published by looking
    finally:
        shutil.copy(saved, site.month_dir / "orders.csv")
        shutil.copy(tmp_path / "targets.csv", site.month_dir / "targets.csv")


def test_refusals_on_the_incentive_pages_are_in_chinese(site, tmp_path):
    manager = login(site, sd.MANAGER)
    r = manager.get("/incentives", params={"team": "T0"})
    assert r.status_code == 403 and f"{sd.MANAGER} 管理的是团队 T1,不是团队 T0。" in r.text
    analyst = login(site, "analyst")
    orders = site.month_dir / "orders.csv"
    shutil.move(orders, tmp_path / "orders.csv")
    try:
        html = analyst.get(f"/incentives/{sd.MONTH}/diff").text
    finally:
        shutil.move(tmp_path / "orders.csv", orders)
    assert "方案 retention-2016 按 CRM 订单计算:本月缺少订单文件(orders.csv 或 orders.parquet)。" in html
    assert "--orders" not in html


def test_a_bad_roster_file_is_a_page_that_says_which_rows_not_a_server_error(site, tmp_path):
    analyst = login(site, "analyst")
    roster = site.month_dir / "roster.csv"
    shutil.copy(roster, tmp_path / "roster.csv")
    lines = roster.read_text(encoding="utf-8").splitlines()
    roster.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")  # one employee listed twice
    try:
        r = analyst.get("/incentives", params={"month": sd.MONTH})
    finally:
        shutil.copy(tmp_path / "roster.csv", roster)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "roster.csv" in r.text and "<html" in r.text and "422" in r.text
    assert analyst.get("/incentives", params={"month": sd.MONTH}).status_code == 200


def test_a_statement_speaks_chinese_to_a_chinese_reader(site):
    """Issue 18 §2: no English on a Chinese page. The explanation lines, the rules and the excluded reasons are
    said from their codes (a plan's own ``reason:`` stays as the plan wrote it: the shipped plan writes its English
    gloss in brackets, so the check is on every other text of the page)."""
    from tests.console import crawl

    c = login(site, sd.CLERK)
    page = c.get(f"/incentives/{sd.MONTH}/staff/{sd.CLERK}").text
    text = crawl.visible_text(page).replace("payroll office", "")  # who published: data, not the page's words
    for e in site.expected["staff"][sd.CLERK]["excluded"]:
        for r in e["reasons"]:
            if r["code"] == "incentive_excluded.plan":
                text = text.replace(r["params"]["reason"], "")
    assert crawl.zh_findings(text) == []
