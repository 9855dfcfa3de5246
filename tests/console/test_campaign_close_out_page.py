"""The campaign report page's close-out section (issue 20 §10): the summary, the incident log as a table (time,
what happened, who, action taken) and every risk of the plan with its outcome, in the operator's language; the
incident and risk outcome recorded through the API with the console's session."""

from __future__ import annotations

import re

from tests.console.conftest import csrf_of
from tests.console.test_campaign_pages import campaign_file
from weixi.campaigns import service

RISKS = """risks:
  - {id: crowd, category: safety, description: 抽奖时段现场人流集中, likelihood: 3, impact: 4, response: 分批登记入场, owner: 营销部}
  - {id: fairness, category: public_opinion, description: 客户质疑抽奖不公, likelihood: 2, impact: 4, owner: 营销部}
"""


def test_the_report_shows_the_incident_log_and_the_risk_follow_up(console, app):
    engine = app.state.engine
    cid = "close-out"
    service.create(engine, campaign_file(cid) + RISKS, f"{cid}.yaml", "analyst")
    for action, by in (("submit", "analyst"), ("approve", "admin"), ("start", "admin"), ("close", "admin")):
        service.act(engine, cid, action, by)
    analyst = console("analyst")
    page = analyst.get(f"/campaigns/{cid}/report").text
    token = {"X-CSRF-Token": csrf_of(page)}
    assert "本次活动暂无突发事件记录" in page and page.count('class="muted">未跟进<') == 2
    r = analyst.http.post(
        f"/api/campaigns/{cid}/incidents",
        json={"occurred_at": "2026-07-02T15:40:00+08:00", "what": "兑奖柜台排队过长", "who": "营业厅王经理",
              "action": "增开一个兑奖窗口"}, headers=token,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    r = analyst.http.put(
        f"/api/campaigns/{cid}/risks/crowd/outcome",
        json={"outcome": "mitigated", "note": "分两批入场,无拥挤"},
        headers=token,
    )
    assert r.status_code == 200, r.text
    assert (
        analyst.http.put(
            f"/api/campaigns/{cid}/risks/flood/outcome", json={"outcome": "occurred"}, headers=token
        ).status_code
        == 404
    )
    page = analyst.get(f"/campaigns/{cid}/report").text
    log = re.search(r'<table class="data" id="incidents">(.*?)</table>', page, re.S).group(1)
    assert "时间(北京时间)" in log and "2026-07-02 15:40" in log
    assert "兑奖柜台排队过长" in log and "营业厅王经理" in log and "增开一个兑奖窗口" in log
    crowd = re.search(r'<tr data-risk="crowd">(.*?)</tr>', page, re.S).group(1)
    assert "安全" in crowd and "高" not in crowd and "已化解" in crowd and "分两批入场" in crowd  # 3x4 = 12: medium
    assert "中" in crowd
    summary = re.search(r'id="close-out-summary">(.*?)</p>', page, re.S).group(1)
    assert "突发事件 1 起" in summary and "尚未跟进 1 项" in summary
    # a manager reads the report, but does not record the close-out
    manager = console("manager")
    assert "兑奖柜台排队过长" in manager.get(f"/campaigns/{cid}/report").text
    mpage = manager.get(f"/campaigns/{cid}/report").text
    denied = manager.http.post(
        f"/api/campaigns/{cid}/incidents",
        headers={"X-CSRF-Token": csrf_of(mpage)},
        json={"occurred_at": "2026-07-02T16:00:00+08:00", "what": "x", "who": "y", "action": "z"},
    )
    assert denied.status_code == 403


def test_the_close_out_is_recorded_from_the_report_page_forms(console, app):
    """Issue 20 §10 without the command line: the incident log and the risks' outcomes from the report page."""
    engine = app.state.engine
    cid = "close-out-forms"
    service.create(engine, campaign_file(cid) + RISKS, f"{cid}.yaml", "analyst")
    for action, by in (("submit", "analyst"), ("approve", "admin"), ("start", "admin"), ("close", "admin")):
        service.act(engine, cid, action, by)
    analyst = console("analyst")
    report = f"/campaigns/{cid}/report"
    assert 'id="incident-form"' in analyst.get(report).text
    r = analyst.post_form(
        report, f"/campaigns/{cid}/incidents",
        {"occurred_at": "2026-07-02T15:40", "what": "兑奖柜台排队过长", "who": "营业厅王经理", "action": "增开一个兑奖窗口"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("?done=incident#close-out")
    page = analyst.get(r.headers["location"].split("#")[0]).text
    assert "事件已记入事件日志。" in page
    log = re.search(r'<table class="data" id="incidents">(.*?)</table>', page, re.S).group(1)
    assert "2026-07-02 15:40" in log and "增开一个兑奖窗口" in log  # the form's time is Beijing time
    bad = analyst.post_form(
        report, f"/campaigns/{cid}/incidents", {"occurred_at": "昨天", "what": "x", "who": "y", "action": "z"}
    )
    assert bad.status_code == 422 and 'id="close-out-error"' in bad.text and "事件时间 昨天 无法识别" in bad.text
    empty = analyst.post_form(
        report,
        f"/campaigns/{cid}/incidents",
        {"occurred_at": "2026-07-02T15:40", "what": " ", "who": "y", "action": "z"},
    )
    assert empty.status_code == 422 and 'id="close-out-error"' in empty.text
    r = analyst.post_form(report, f"/campaigns/{cid}/risks/crowd", {"outcome": "mitigated", "note": "分两批入场"})
    assert r.status_code == 303
    crowd = re.search(r'<tr data-risk="crowd">(.*?)</tr>', analyst.get(report).text, re.S).group(1)
    assert "已化解" in crowd and "分两批入场" in crowd
    r = analyst.post_form(report, f"/campaigns/{cid}/follow-ups", {})
    assert r.status_code == 303 and "done=follow_ups:" in r.headers["location"]
    manager = console("manager")  # reads the report, records nothing
    assert 'id="incident-form"' not in manager.get(report).text
    assert manager.post_form(report, f"/campaigns/{cid}/risks/crowd", {"outcome": "occurred"}).status_code == 403
