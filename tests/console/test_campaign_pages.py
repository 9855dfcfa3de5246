"""Campaign pages in-process: the editor shows the seed's 198-vs-200 error at its line and saves a clean file as a
draft; approvals with who and when, an approver who created the campaign refused with the reason; the month
calendar; the live dashboard's numbers equal the service's and its polling stops once the campaign closes; the
report with its downloads and the draws verified."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.console import operator as op
from weixi.campaigns import lottery_service, service
from weixi.campaigns import report as reports
from weixi.console.campaigns import when

EXAMPLES = op.ROOT / "plans" / "examples"
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def campaign_file(cid: str = "live-draw") -> str:
    """A two-prize draw over yesterday, today and tomorrow, one chance for each of two members."""
    return f"""kind: campaign
campaign: {cid}
name: 周年抽奖 {cid}
window: {{from: {TODAY - timedelta(days=1)}, to: {TODAY + timedelta(days=1)}}}
objectives:
  - {{id: people, metric: participants, target: 2}}
audience:
  source: list
  members: [{op.MEMBER}, {op.OTHER}]
budget:
  - {{line: gifts, yuan: 500}}
  - {{line: promotion, yuan: 300}}
  - {{line: points, points: 10000}}
lottery:
  chances: {{grant: 1}}
  prizes:
    - {{id: gold, name: 金条, per_day: 1, value_yuan: 100}}
    - {{id: pts, name: 50积分, per_day: 1, points: 50}}
"""


def running(app, cid: str = "live-draw") -> str:
    engine = app.state.engine
    service.create(engine, campaign_file(cid), f"{cid}.yaml", "analyst")
    service.act(engine, cid, "submit", "analyst")
    service.act(engine, cid, "approve", "admin")
    service.act(engine, cid, "start", "admin")
    return cid


def number(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert found, element_id
    return found.group(1).strip()


def test_the_editor_shows_the_seeds_200_against_198_at_its_line_and_saves_a_clean_file(console):
    analyst = console("analyst")
    seed = (EXAMPLES / "seed-as-written" / "anniversary-draw.yaml").read_bytes()
    r = analyst.post_form(
        "/campaigns/new", "/campaigns/check", {}, files={"campaign_file": ("anniversary-draw.yaml", seed, "text/yaml")}
    )
    assert r.status_code == 422
    row = re.search(r'<tr id="L50" class="has-diag has-error">(.*?)</tr>', r.text, re.S)
    assert row, "the error is not beside line 50"
    cell = html.unescape(row.group(1))
    assert "daily_total: 200" in cell and 'data-line="50" data-column="16"' in cell
    assert "daily_total 写的是每天 200 个奖品，但 11 个奖级合计为 198" in cell and "少了 2 个" in cell  # by its code
    assert "anniversary-draw.yaml:50:16" in r.text and 'id="save"' not in r.text
    assert len(re.findall(r'class="has-diag has-error"', r.text)) == 1  # the only error, at its line

    fixed = (EXAMPLES / "anniversary-draw.yaml").read_text(encoding="utf-8")
    r = analyst.post_form("/campaigns/new", "/campaigns/check", {"text": fixed})
    assert r.status_code == 200 and 'id="save"' in r.text and "没有错误" in r.text
    r = analyst.post_form("/campaigns/new", "/campaigns/save", {"text": fixed, "name": "anniversary-draw.yaml"})
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/anniversary-draw"
    page = analyst.get("/campaigns/anniversary-draw").text
    assert number(page, "status") == "草稿" and 'data-action="submit"' in page
    r = analyst.post_form("/campaigns/new", "/campaigns/save", {"text": fixed, "name": "anniversary-draw.yaml"})
    assert r.status_code == 409 and "活动 anniversary-draw 已存在。" in number(r.text, "save-error")
    assert console("manager").get("/campaigns/new").status_code == 403  # managers follow campaigns, not edit them


def test_approvals_with_who_and_when_and_an_approver_who_created_it_is_refused(console, app):
    admin, analyst = console("admin"), console("analyst")
    service.create(app.state.engine, campaign_file("by-admin"), "by-admin.yaml", "admin")
    r = admin.post_form("/campaigns/by-admin", "/campaigns/by-admin/act", {"action": "submit"})
    assert r.status_code == 303
    service.create(app.state.engine, campaign_file("by-analyst"), "by-analyst.yaml", "analyst")
    analyst.post_form("/campaigns/by-analyst", "/campaigns/by-analyst/act", {"action": "submit"})

    page = admin.get("/campaigns/approvals").text
    waiting = re.findall(r'<tr data-campaign="([^"]+)">(.*?)</tr>', page, re.S)
    assert [w[0] for w in waiting] == ["by-admin", "by-analyst"]
    assert 'data-action="approve"' not in waiting[0][1] and "另一人" in waiting[0][1]  # one's own: no button
    assert 'data-action="approve"' in waiting[1][1]
    r = admin.post_form("/campaigns/by-admin", "/campaigns/by-admin/act", {"action": "approve"})
    assert r.status_code == 409
    assert "admin 创建或提交了该活动：须由另一人审批。" in number(r.text, "refusal")
    assert (
        analyst.post_form("/campaigns/by-analyst", "/campaigns/by-analyst/act", {"action": "approve"}).status_code
        == 403
    )
    r = admin.post_form("/campaigns/by-analyst", "/campaigns/by-analyst/act", {"action": "reject", "note": "预算超标"})
    assert r.status_code == 303
    steps = service.summary(app.state.engine, "by-analyst")["steps"]
    page = admin.get("/campaigns/approvals").text
    history = re.search(r'<table class="data" id="history">(.*?)</table>', page, re.S).group(1)
    reject = next(s for s in steps if s["action"] == "reject")
    assert when(reject["at"]) in history and "预算超标" in history and "已驳回" in history  # Beijing time
    assert re.findall(r'<td class="by">([^<]+)</td>', history)[:2] == ["admin", "analyst"]  # newest first
    page = admin.get("/campaigns/by-analyst").text
    assert [b for b in re.findall(r'<td class="by">([^<]+)</td>', page)] == ["analyst", "analyst", "admin"]
    assert number(page, "status") == "草稿"


def test_a_refusal_on_the_campaign_page_is_in_chinese_by_its_code(console, app):
    engine, admin = app.state.engine, console("admin")
    later = campaign_file("later").replace(
        f"window: {{from: {TODAY - timedelta(days=1)}, to: {TODAY + timedelta(days=1)}}}",
        f"window: {{from: {TODAY + timedelta(days=3)}, to: {TODAY + timedelta(days=5)}}}",
    )
    service.create(engine, later, "later.yaml", "analyst")
    for action in ("submit", "approve", "start"):
        service.act(engine, "later", action, "analyst" if action == "submit" else "admin")
    r = admin.post_form("/campaigns/later", "/campaigns/later/act", {"action": "close"})
    assert r.status_code == 409
    refusal = html.unescape(re.search(r'id="refusal">(.*?)</p>', r.text, re.S).group(1))
    assert f"活动 {TODAY + timedelta(days=3)} 才开始：还没有进行任何内容。" in refusal
    assert not re.search(r"[A-Za-z]", refusal), refusal  # no English: the sentence comes from the catalogue
    r = admin.post_form("/campaigns/later", "/campaigns/later/act", {"action": "evaluate"})
    assert r.status_code == 409 and "无法评估状态为进行中的活动；下一步：结束。" in number(r.text, "refusal")


def test_the_list_and_the_month_calendar(console, app):
    running(app)
    page = console("manager").get(f"/campaigns?month={TODAY:%Y-%m}").text
    assert '<tr data-campaign="live-draw">' in page and "进行中" in page
    for offset in (-1, 0, 1):
        day = TODAY + timedelta(days=offset)
        if day.month == TODAY.month:
            cell = re.search(rf'data-day="{day}">(.*?)</td>', page, re.S).group(1)
            assert 'href="/campaigns/live-draw"' in cell, day
    outside = TODAY + timedelta(days=3)
    cell = re.search(
        rf'data-day="{outside}">(.*?)</td>', console("manager").get(f"/campaigns?month={outside:%Y-%m}").text, re.S
    )
    assert cell and "live-draw" not in cell.group(1)
    assert console("clerk").get("/campaigns").status_code == 403
    assert console("manager").get("/campaigns?month=2026-13").status_code == 200  # a bad month shows this month


def test_the_live_dashboard_shows_the_services_numbers_and_stops_polling_after_close(console, app):
    cid = running(app)
    engine = app.state.engine
    for member in (op.MEMBER, op.OTHER):
        lottery_service.draw(engine, cid, member)
    service.record_cost(engine, cid, "promotion", 12_000, "analyst")  # 120 yuan of SMS
    live = reports.live(engine, cid)
    manager = console("manager")
    page = manager.get(f"/campaigns/{cid}/live").text
    assert number(page, "participants") == str(live["participants"]) == "2"
    assert number(page, "draws") == f"{live['draws']['today']} ({live['draws']['total']})" == "2 (2)"
    assert number(page, "points-issued") == str(live["points"]["issued"]) == "50"
    # spent: the gold bar's 100 yuan, the SMS's 120 and 50 points at the plan's 0.01 yuan a point
    assert number(page, "budget-spent") == "220.50 / 900.00"
    assert number(page, "burn") == "24.5%"
    for p in live["draws"]["prizes"]:
        row = re.search(rf'<tr data-prize="{p["id"] or ""}">(.*?)</tr>', page, re.S).group(1)
        assert re.findall(r'<td class="n">([^<]+)</td>', row) == [str(p["quantity"]), str(p["issued"]), str(p["left"])]
    chart = json.loads(html.unescape(re.search(r'data-burn="([^"]+)"', page).group(1)))
    assert chart["planned"] == [l["planned_yuan"] for l in live["budget"]["lines"]] == ["300.00", "500.00", "100.00"]
    assert chart["actual"] == [l["actual_yuan"] for l in live["budget"]["lines"]] == ["120.00", "100.00", "0.50"]
    assert chart["lines"] == ["宣传推广", "礼品奖品", "积分(按成本)"]

    panel = manager.get(f"/campaigns/{cid}/live/panel", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.text
    assert f'hx-get="/campaigns/{cid}/live/panel" hx-trigger="every 5s"' in panel.text
    service.act(engine, cid, "close", "admin")
    closed = manager.get(f"/campaigns/{cid}/live/panel", headers={"HX-Request": "true"}).text
    assert 'data-status="closed"' in closed and "hx-trigger" not in closed  # nothing changes any more


def test_the_report_page_its_downloads_and_the_verified_draws(console, app):
    cid = running(app)
    engine = app.state.engine
    lottery_service.draw(engine, cid, op.MEMBER)
    manager = console("manager")
    page = manager.get(f"/campaigns/{cid}/report").text
    assert number(page, "participants") == "1" and 'id="verified"' not in page  # the seed is still secret
    service.act(engine, cid, "close", "admin")
    page = manager.get(f"/campaigns/{cid}/report").text
    assert "全部 1 次抽奖" in number(page, "verified")
    data = reports.report(engine, cid)
    row = re.search(r'<tr data-objective="people" class="missed">(.*?)</tr>', page, re.S).group(1)
    assert data["objectives"][0]["achievement"] == "0.5000" and "50.0%" in row
    assert "<td>积分账本</td>" in row and "ledger" not in row  # where the figure comes from, named in Chinese
    for kind, start in (("html", b"<!doctype html"), ("pdf", b"%PDF")):
        assert f'href="/api/campaigns/{cid}/report.{kind}"' in page
        r = manager.get(f"/api/campaigns/{cid}/report.{kind}")  # the session cookie opens the download
        assert r.status_code == 200 and r.content[:20].lower().startswith(start.lower()), kind
    assert console("agent").get(f"/campaigns/{cid}/report").status_code == 403
