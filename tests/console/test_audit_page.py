"""The audit log page (issue 18 §1 Admin: "audit log with filters (who, what, member, period)"): newest first, a
total and pages, filtered by who, action (by its name), member and from/to dates in the operator's timezone;
entries read in the page's language (action names, field names, role names), with no code on the Chinese page."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from tests.console import crawl
from tests.console import operator as op
from weixi.users import admin
from weixi.users import service as users
from weixi.users.repository import SqlUsers


def _put(app, at: datetime, username: str | None, role: str | None, action: str, subject=None, detail=None):
    who = users.User(0, username, role) if username else None
    SqlUsers(app.state.engine).audit(at, who, action, subject, detail)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)">', html)


@pytest.fixture
def logged(app):
    """A few entries at known moments (UTC): Beijing time is 8 hours ahead."""
    _put(
        app,
        datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc),
        "manager",
        "manager",
        "points.adjust",
        op.MEMBER,
        {"event_id": "E1", "points": 200, "reason": "补发积分"},
    )  # 2026-03-01 23:30 Beijing
    _put(
        app,
        datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc),
        "clerk",
        "clerk",
        "pii.view",
        op.MEMBER,
        {"view": "member_360", "count": 1, "members": [op.MEMBER], "fields": ["id_number", "phone"]},
    )  # 2026-03-02 00:30 Beijing
    _put(app, datetime(2026, 3, 5, 2, 0, tzinfo=timezone.utc), None, None, "user.deactivate", "agent", {"via": "cli"})
    _put(
        app,
        datetime(2026, 3, 6, 2, 0, tzinfo=timezone.utc),
        "admin",
        "admin",
        "event.reverse",
        "E9",
        {"member_id": "M0000000009", "refund": "R1", "amount_fen": 12345},
    )
    return app


def test_newest_first_with_names_and_a_total(console, logged):
    c = console("admin")
    zh = c.get("/audit")
    assert zh.status_code == 200 and "<h1>审计日志</h1>" in zh.text
    actions = _rows(zh.text)
    assert actions[0] == "login" and actions[1:5] == ["event.reverse", "user.deactivate", "pii.view", "points.adjust"]
    total = len(users.audit_entries(logged.state.engine, 1000))
    assert f"共 {total} 条" in zh.text
    assert "调整积分" in zh.text and "查看未脱敏个人信息" in zh.text and "冲正事件" in zh.text  # actions by name
    assert "系统(命令行)" in zh.text and "途径: 命令行" in zh.text  # an entry from the CLI has no login
    assert "视图: 会员详情页" in zh.text and "显示的个人信息: 证件号码, 手机号码" in zh.text
    assert "金额(元): 123.45" in zh.text  # money in yuan with two decimals
    assert "2026-03-02 00:30:00" in zh.text  # the moment in Beijing time
    text = crawl.visible_text(zh.text)
    assert crawl.zh_findings(text) == []  # no code or English sentence on the Chinese page
    c.get("/lang/en?next=%2Faudit")
    en = c.get("/audit")
    assert (
        "Adjusted points" in en.text
        and "amount (yuan): 123.45" in en.text
        and "审计" not in en.text
        and "member page" in en.text
    )


def test_filters_by_who_action_member_and_period_in_the_operators_timezone(console, logged):
    c = console("admin")
    assert _rows(c.get("/audit?who=clerk").text) == ["pii.view"]
    assert _rows(c.get("/audit?action=points.adjust").text) == ["points.adjust"]
    assert _rows(c.get(f"/audit?member={op.MEMBER}").text) == ["pii.view", "points.adjust"]
    assert _rows(c.get("/audit?member=M0000000009").text) == ["event.reverse"]  # a member in the detail
    # 2026-03-01 in Beijing: the adjustment (23:30) is in, the view (00:30 on the 2nd) is not
    assert _rows(c.get("/audit?from=2026-03-01&to=2026-03-01").text) == ["points.adjust"]
    assert _rows(c.get("/audit?from=2026-03-02&to=2026-03-05").text) == ["user.deactivate", "pii.view"]
    page = c.get("/audit?from=2026-03-02&action=pii.view&who=clerk")
    assert _rows(page.text) == ["pii.view"] and "共 1 条" in page.text
    assert '<option value="pii.view" selected>查看未脱敏个人信息</option>' in page.text  # the filter keeps its choice
    assert _rows(c.get("/audit?member=%25").text) == []  # a LIKE wildcard is a character, not "anything"


def test_a_bad_date_is_refused_beside_the_filter_in_the_pages_language(console, logged):
    c = console("admin")
    r = c.get("/audit?from=2026-13-01")
    assert r.status_code == 422 and re.search(r'id="from-error">[^<]*起始日期', r.text)
    c.get("/lang/en?next=%2Faudit")
    r = c.get("/audit?to=yesterday")
    assert r.status_code == 422 and "&#39;yesterday&#39; is not a date" in r.text


def test_pages_of_fifty_with_links_that_keep_the_filters(console, app):
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for n in range(120):
        _put(app, base.replace(minute=n % 60, hour=n // 60), "analyst", "analyst", "targets.export", "2026-01")
    c = console("admin")
    first = c.get("/audit?action=targets.export")
    assert "共 120 条" in first.text and "第 1 页,共 3 页" in first.text and len(_rows(first.text)) == 50
    assert 'href="/audit?action=targets.export&amp;page=2"' in first.text
    last = c.get("/audit?action=targets.export&page=3")
    assert len(_rows(last.text)) == 20 and 'href="/audit?action=targets.export&amp;page=2" rel="prev"' in last.text
    total, rows = admin.search_audit(app.state.engine, admin.AuditFilter(action="targets.export"), 3)
    assert total == 120 and rows[-1]["at"] == base


@pytest.mark.parametrize("role", ["analyst", "manager", "agent", "clerk", "member"])
def test_only_administrators_read_the_audit_log(console, role):
    assert console(role).get("/audit").status_code == 403
