"""The console in-process: logins, navigation and refusals per role, language, dashboard numbers, member
search and 360 with masking and audit, plans, the monthly close job, errors as HTML pages."""

from __future__ import annotations

import re
import time

import pytest

from tests.console import operator as op

# What each role's navigation shows (from the permission matrix, written out so that a change shows up here).
from tests.console.test_nav import NAV  # noqa: E402  (the menu of every role, in order)
from weixi.close import store
from weixi.users import service as users

PAGES = [
    "/dashboard",
    "/work",
    "/team",
    "/members",
    "/catalogue",
    "/plans",
    "/close",
    "/campaigns",
    "/incentives",
    "/retention",
    "/targets",
    "/care",
    "/me",
]


def nav_of(html: str) -> list[str]:
    block = re.search(r'<nav class="main".*?</nav>', html, re.S)
    return re.findall(r'data-nav="([^"]+)"', block.group(0)) if block else []


def test_a_stranger_is_sent_to_the_login_form_and_back(console):
    c = console()
    r = c.get("/members/M0000000002")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fmembers%2FM0000000002"
    form = c.get(r.headers["location"])
    assert form.status_code == 200 and "登录维系" in form.text
    r = c.post_form(
        "/login?next=%2Fmembers%2FM0000000002",
        "/login",
        {"username": "manager", "password": op.PASSWORD, "next": "/members/M0000000002"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/members/M0000000002"
    assert c.get("/members/M0000000002").status_code == 200


def test_a_form_posted_without_a_session_goes_to_the_login_form(console):
    r = console().http.post("/me/redeem", data={"reward_id": "bill-credit", "request_id": "0123456789abcdef"})
    assert r.status_code == 303 and r.headers["location"] == "/login"  # a post cannot be replayed after login
    r = console().get("/members?q=M0000000002")
    assert r.headers["location"] == "/login?next=%2Fmembers%3Fq%3DM0000000002"


def test_login_refuses_a_wrong_password_a_missing_csrf_token_and_foreign_redirects(console, app):
    c = console()
    r = c.post_form("/login", "/login", {"username": "admin", "password": "wrong password", "next": ""})
    assert (
        r.status_code == 401 and "用户名或密码错误" in r.text and "weixi_session" not in r.headers.get("set-cookie", "")
    )
    r = c.http.post("/login", data={"username": "admin", "password": op.PASSWORD})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "此表单已过期" in r.text and "weixi_session" not in r.headers.get("set-cookie", "")
    r = c.post_form("/login", "/login", {"username": "admin", "password": op.PASSWORD, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_failed_logins_are_rate_limited_on_the_form(console):
    c = console()
    for _ in range(users.LOGIN_MAX_FAILURES):
        assert (
            c.post_form("/login", "/login", {"username": "clerk", "password": "nope nope", "next": ""}).status_code
            == 401
        )
    r = c.post_form("/login", "/login", {"username": "clerk", "password": op.PASSWORD, "next": ""})
    assert r.status_code == 429 and "登录失败次数过多" in r.text and r.headers["retry-after"].isdigit()


@pytest.mark.parametrize("role", list(NAV))
def test_each_role_sees_and_opens_only_its_pages(console, role):
    c = console(role)
    home = c.get("/")
    assert home.status_code == 303 and home.headers["location"] == NAV[role][0]
    page = c.get(NAV[role][0])
    assert page.status_code == 200
    assert nav_of(page.text) == NAV[role]
    for path in PAGES:
        r = c.get(path)
        if path in NAV[role]:
            assert r.status_code == 200, (role, path)
        elif role == "member" and path == "/catalogue":
            assert r.status_code == 303 and r.headers["location"] == "/me#catalogue"
        else:
            assert r.status_code == 403, (role, path)
            assert r.headers["content-type"].startswith("text/html") and "您无权打开此页面" in r.text


def test_a_member_cannot_open_another_members_360(console):
    c = console("member")
    assert c.get(f"/members/{op.OTHER}").status_code == 403
    own = c.get(f"/members/{op.MEMBER}")
    assert own.status_code == 303 and own.headers["location"] == "/me"


def test_language_switch_is_remembered_and_defaults_to_chinese(console):
    c = console("analyst")
    zh = c.get("/dashboard")
    assert '<html lang="zh-CN">' in zh.text and "<h1>总览</h1>" in zh.text
    r = c.get("/lang/en?next=%2Fdashboard")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard" and "weixi_lang=en" in r.headers["set-cookie"]
    en = c.get("/dashboard")
    assert '<html lang="en">' in en.text and "<h1>Dashboard</h1>" in en.text and "总览" not in en.text
    assert c.get("/dashboard/data.json").json()["points"]["title"] == "Points per month"
    assert c.get("/lang/zh_CN?next=https://evil.example").headers["location"] == "/"
    assert "<h1>总览</h1>" in c.get("/dashboard").text


def test_dashboard_numbers_are_the_close_summary_and_the_journal(console, operator):
    data = console("analyst").get("/dashboard/data.json").json()
    summary = store.read_manifest(operator.data, op.CLOSED)["summary"]
    assert data["close_month"] == op.CLOSED
    segments = {s["key"]: s for s in data["segments"]}
    assert sum(segments["by_tier"]["values"]) == summary["active"]
    assert segments["by_value_grade"]["values"] == list(summary["by_value_grade"].values())
    months = data["points"]["months"]
    issued = dict(zip(months, data["points"]["series"][0]["values"]))
    assert issued[op.CLOSED] == summary["points"]["issued"] > 0
    # outstanding at the last month = every journal entry = the sum of balances; liability at 1 fen a point
    last = data["liability"]["points"][-1]
    assert last == summary["points"]["outstanding"] + op.GRANT
    assert data["liability"]["yuan"][-1] == f"{last / 100:.2f}"


@pytest.mark.parametrize("role, masked", [("clerk", True), ("analyst", True), ("manager", False), ("agent", False)])
def test_member_search_masks_phones_unless_the_role_needs_them_and_audits_clear_views(console, app, role, masked):
    c = console(role)
    page = c.get("/members?q=M000000000")
    assert page.status_code == 200
    phones = re.findall(r'<td class="phone">([^<]+)</td>', page.text)
    assert len(phones) >= 5
    assert all(("****" in p) == masked for p in phones), phones
    entries = users.audit_entries(app.state.engine, action="pii.view", username=op.LOGINS[role])
    assert (len(entries) == 0) == masked
    fragment = c.get("/members/results?q=M0000000002")
    assert "<html" not in fragment.text and "M0000000002" in fragment.text


def test_search_text_with_sql_or_html_is_harmless(console):
    c = console("clerk")
    for q in ["' OR 1=1 --", "<script>alert(1)</script>", "%_%", "M%"]:
        r = c.get("/members", params={"q": q})
        assert r.status_code == 200, q
        assert "<script>alert(1)</script>" not in r.text
        assert 'id="member-results"' not in r.text  # nothing matches these
    r = c.get("/members", params={"q": "x" * 65})
    assert r.status_code == 200 and "搜索内容超过 64 个字符" in r.text  # the refusal's code, in the page's language


def test_member_360_shows_profile_tiers_lots_and_history(console, app):
    page = console("analyst").get(f"/members/{op.MEMBER}").text
    assert re.search(r'id="id-number">\d{6}\*+\d{3}[\dX]<', page)  # masked for an analyst
    assert 'id="tier-history"' in page and op.CLOSED in page
    lots = re.findall(
        r"<tr title=\"([^\"]+)\"><td>([\d-]+)</td><td>([\d-]+)</td><td class=\"n\">([\d,]+)</td></tr>", page
    )
    assert lots and sum(int(n.replace(",", "")) for *_, n in lots) == int(
        re.search(r'id="balance">([\d,]+)<', page).group(1).replace(",", "")
    )
    assert 'title="grant:console-tests"' in page  # the adjustment's entry: its id in a title, its reason as text
    clear = console("agent").get(f"/members/{op.MEMBER}").text
    assert re.search(r'id="id-number">\d{17}[\dX]<', clear)
    entry = users.audit_entries(app.state.engine, action="pii.view", username="agent")[0]
    assert entry["subject"] == op.MEMBER


BROKEN = """plan: broken
name: 坏方案
expiry: {months_after: 12}
earning:
  - id: bill
    type: spend
    on: [bill]
    points: many
    per_yuan: 10
rewards: []
"""


def test_plan_check_shows_each_error_at_its_line_and_admin_applies(console, app):
    analyst = console("analyst")
    r = analyst.post_form(
        "/plans", "/plans/check", {}, files={"plan_file": ("broken.yaml", BROKEN.encode(), "text/yaml")}
    )
    assert r.status_code == 422
    row = re.search(r'<tr id="L8" class="has-diag has-error">(.*?)</tr>', r.text, re.S)
    assert row and "points: many" in row.group(1) and 'data-line="8"' in row.group(1)
    assert 'id="apply"' not in r.text
    good = op.PLAN.read_text(encoding="utf-8").replace("cost: 800", "cost: 700")
    r = analyst.post_form("/plans", "/plans/check", {"text": good})
    assert r.status_code == 200 and "没有错误" in r.text and 'id="apply"' not in r.text  # analysts check, admins apply
    admin = console("admin")
    r = admin.post_form("/plans", "/plans/apply", {"text": good, "name": "telecom-700.yaml"})
    assert r.status_code == 200 and "现为第 2 版" in r.text
    versions = re.findall(r'<a href="/plans/(\d+)">v\d+</a>', r.text)
    assert versions == ["2", "1"]
    assert "cost: 700" in admin.get("/plans/2").text
    assert console("clerk").post_form("/members", "/plans/check", {"text": good}).status_code == 403


def test_plan_apply_refusals_are_shown_in_chinese_with_the_file_and_the_numbers(console, app):
    from weixi.adapters.sql import execute

    admin = console("admin")
    incentive = (op.ROOT / "plans" / "examples" / "retention-2016.yaml").read_text(encoding="utf-8")
    r = admin.post_form("/plans", "/plans/apply", {"text": incentive, "name": "bonus.yaml"})
    assert (
        r.status_code == 409 and "bonus.yaml 不是积分方案（它的类型不是积分）：只有积分方案可以在这里应用。" in r.text
    )
    with app.state.engine.begin() as conn:
        execute(conn, "UPDATE rewards SET issued = ? WHERE reward_id = ?", [3, "gift-book"])
    low = op.PLAN.read_text(encoding="utf-8").replace("stock: 500", "stock: 2")
    r = admin.post_form("/plans", "/plans/apply", {"text": low, "name": "low-stock.yaml"})
    assert r.status_code == 409
    assert "low-stock.yaml：奖品 gift-book 的库存（2）低于已发放的 3 件；库存包括所有已发放的数量。" in r.text
    assert "stock counts every unit" not in r.text


def test_close_page_starts_a_close_and_shows_progress_until_the_result(console, operator):
    admin = console("admin")
    page = admin.get("/close")
    assert 'value="2026-09"' in page.text  # the month after the last closed one is suggested
    r = admin.post_form("/close", "/close", {"month": "2026-09"})
    assert r.status_code == 303 and r.headers["location"].startswith("/close/jobs/")
    job = r.headers["location"]
    seen_running = False
    deadline = time.monotonic() + 60
    while True:
        frag = admin.get(job + "/progress")
        assert frag.status_code == 200 and "<html" not in frag.text
        status = re.search(r'data-status="(\w+)"', frag.text).group(1)
        if status != "running":
            break
        seen_running = True
        assert 'hx-trigger="every 1s"' in frag.text
        assert time.monotonic() < deadline, "the close did not finish in 60 s"
        time.sleep(0.2)
    assert status == "succeeded", frag.text
    assert "hx-trigger" not in frag.text and 'id="close-result"' in frag.text
    summary = store.read_manifest(operator.data, "2026-09")["summary"]
    assert f"会员 {summary['members']:,} 人" in frag.text
    assert "2026-09" in admin.get("/close").text
    assert console("analyst").post_form("/close", "/close", {"month": "2026-10"}).status_code == 403
    del seen_running  # a fast close may finish before the first poll
    # a refused close says why in the page's language, from the job's code
    refused = admin.post_form("/close", "/close", {"month": "2026-01"}).headers["location"]
    for _ in range(300):
        frag = admin.get(refused + "/progress")
        if 'data-status="running"' not in frag.text:
            break
        time.sleep(0.1)
    assert 'data-status="refused"' in frag.text and "2026-01 早于最近已结账的月份 2026-09" in frag.text


def test_a_month_that_is_not_a_month_is_refused_in_the_pages_language(console):
    r = console("admin").post_form("/close", "/close", {"month": "2026-13"})
    assert r.status_code == 422 and "2026-13" in r.text and "不是有效的月份" in r.text


def test_unknown_pages_get_an_html_page_and_api_paths_the_json_envelope(console):
    c = console("admin")
    page = c.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html") and "未找到" in page.text
    api = c.get("/api/no/such/endpoint")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert c.get("/members/NOBODY").status_code == 404


def test_an_unknown_page_is_html_even_before_any_console_page_was_visited(console):
    c = console()  # a fresh app: the first request of all is for a page that does not exist
    page = c.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert c.get("/openapi.json/nope").headers["content-type"].startswith("application/json")


def test_pages_load_nothing_from_elsewhere(console):
    r = console("admin").get("/dashboard")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["cache-control"] == "no-store"
    for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert url.startswith("/"), url
    for asset in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/console.js",
        "/static/console.css",
    ):
        assert console().get(asset).status_code == 200, asset


def test_logout_ends_the_session(console):
    c = console("admin")
    r = c.post_form("/dashboard", "/logout", {})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/dashboard").status_code == 303


def test_every_page_works_on_a_fresh_installation(tmp_path, monkeypatch):
    """No plan, no close, no archive, no ledger entries: pages say so instead of failing."""
    from tests.console.conftest import Console
    from weixi.api.app import create_app

    monkeypatch.setattr(users, "_hasher", op.cheap_hasher())
    app = create_app(str(tmp_path / "fresh.db"), str(tmp_path / "no-data"), secure_cookies=False)
    try:
        for role in ("admin", "member"):
            users.create_user(
                app.state.engine, op.LOGINS[role], op.PASSWORD, role, op.MEMBER if role == "member" else None
            )
        admin = Console(app).login("admin")
        expected = {
            "/dashboard": "尚无已月结的月份",
            "/members?q=M1": "没有与 M1 匹配的会员",
            "/catalogue": "尚无生效方案",
            "/plans": "尚未启用任何方案",
            "/close": "尚无已月结的月份",
            "/dashboard/data.json": '"segments":[]',
        }
        for path, text in expected.items():
            r = admin.get(path)
            assert r.status_code == 200 and text in r.text, (path, r.text[:300])
        me = Console(app).login("member").get("/me")
        assert me.status_code == 200 and "暂无积分" in me.text and 'id="balance">0<' in me.text
    finally:
        app.state.engine.dispose()


def test_refusals_the_console_writes_itself_speak_the_readers_language(console):
    clerk = console("clerk")
    r = clerk.get("/campaigns")
    assert r.status_code == 403 and "营业员角色无权打开此页面。" in r.text
    # the small print is the sentence alone: the status and the code stay out of the visible text (issue 18)
    assert 'data-status="403" data-code="page_forbidden"' in r.text
    detail = re.search(r'<p class="muted detail">([^<]*)</p>', r.text).group(1)
    assert detail == "营业员角色无权打开此页面。", detail
    assert "page_forbidden" not in re.sub(r'data-code="[^"]*"', "", r.text)
    agent = console("agent")
    assert "未知的会员 M404404404" in agent.get("/members/M404404404").text
    assert "没有第 999 版方案。" in console("analyst").get("/plans/999").text
    agent.get("/lang/en?next=%2F")
    r = agent.get("/members/M404404404")
    assert r.status_code == 404 and "unknown member M404404404" in r.text and "未知的会员" not in r.text
