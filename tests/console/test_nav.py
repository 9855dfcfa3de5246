"""The side menu by area of work (issue 18 §3): per role exactly the groups and items it may open, in Chinese and in
English; the current page marked and its group open; breadcrumbs on detail pages; the page-header partial; no role
sees an item whose page refuses it."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.console import operator as op
from weixi.console import nav
from weixi.console.render import environment

# What each role's side menu shows, group by group (from the permission matrix, written out so a change shows up
# here). Group labels in Chinese, then the items' paths in menu order.
MENU = {
    "admin": {
        "分析": ["/dashboard", "/retention"],
        "运营": ["/work", "/team", "/targets", "/care"],
        "会员": ["/counter", "/members", "/catalogue"],
        "活动": ["/campaigns", "/campaigns/approvals"],
        "考核": ["/incentives"],
        "系统": ["/plans", "/close", "/uploads", "/users", "/audit"],
    },
    "analyst": {
        "分析": ["/dashboard", "/retention"],
        "运营": ["/team", "/targets", "/care"],
        "会员": ["/members", "/catalogue"],
        "活动": ["/campaigns", "/campaigns/approvals"],
        "考核": ["/incentives"],
        "系统": ["/plans", "/close"],
    },
    "manager": {
        "分析": ["/dashboard", "/retention"],
        "运营": ["/work", "/team", "/targets", "/care"],
        "会员": ["/members", "/catalogue"],
        "活动": ["/campaigns", "/campaigns/approvals"],
        "考核": ["/incentives"],
        "系统": ["/plans"],
    },
    "agent": {
        "运营": ["/work", "/targets", "/care"],
        "会员": ["/members", "/catalogue"],
        "考核": ["/incentives"],
    },
    "clerk": {"会员": ["/counter", "/members", "/catalogue"], "考核": ["/incentives"]},
    "member": {},  # no side menu: the member's own page only, in the top bar
}
# Every role's navigation in menu order (the order tests/console/test_pages.py and the browser tests check).
NAV = {role: [p for paths in groups.values() for p in paths] for role, groups in MENU.items()}
NAV["member"] = ["/me"]
ENGLISH_GROUPS = {
    "分析": "Analysis",
    "运营": "Operations",
    "会员": "Membership",
    "活动": "Marketing",
    "考核": "Assessment",
    "系统": "System",
}
LABELS = {  # zh, en
    "/dashboard": ("总览", "Dashboard"),
    "/retention": ("流失预警", "Churn risk"),
    "/work": ("我的任务", "My tasks"),
    "/team": ("团队", "Team"),
    "/targets": ("目标客户名单", "Target lists"),
    "/care": ("关怀日历", "Care calendar"),
    "/counter": ("柜台服务", "Counter"),
    "/members": ("会员", "Members"),
    "/catalogue": ("兑换目录", "Catalogue"),
    "/campaigns": ("保客活动", "Campaigns"),
    "/campaigns/approvals": ("活动审批", "Campaign approvals"),
    "/incentives": ("考核激励", "Incentives"),
    "/plans": ("方案", "Plans"),
    "/close": ("月结", "Monthly close"),
    "/uploads": ("数据上传", "Data uploads"),
    "/users": ("用户与角色", "Users and roles"),
    "/audit": ("审计日志", "Audit log"),
    "/me": ("我的积分", "My points"),
}
ROLE_NAMES = {  # what the top bar calls each role (weixi.names, kind role)
    "admin": ("系统管理员", "Administrator"),
    "agent": ("外呼坐席", "Outbound agent"),
}
SIDE = re.compile(r'<nav class="main" id="side-menu".*?</nav>', re.S)
GROUP = re.compile(
    r'<details class="group" data-group="(\w+)"( open)?>\s*<summary>([^<]+)</summary>(.*?)</details>', re.S
)
LINK = re.compile(r'<a href="([^"]+)" data-nav="[^"]+"( class="current" aria-current="page")?>([^<]+)</a>')


def side_menu(html: str) -> list[dict]:
    block = SIDE.search(html)
    if not block:
        return []
    return [
        {
            "key": key,
            "open": bool(is_open),
            "label": label.strip(),
            "links": [(href, text.strip(), bool(cur)) for href, cur, text in LINK.findall(body)],
        }
        for key, is_open, label, body in GROUP.findall(block.group(0))
    ]


def english(c) -> None:
    assert c.get("/lang/en?next=%2F").status_code == 303


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("role", list(MENU))
def test_each_role_sees_exactly_its_groups_and_items(console, role, lang):
    c = console(role)
    if lang == "en":
        english(c)
    home = c.get(NAV[role][0])
    assert home.status_code == 200
    groups = side_menu(home.text)
    want = MENU[role]
    zh = lang == "zh_CN"
    assert [g["label"] for g in groups] == [g if zh else ENGLISH_GROUPS[g] for g in want]
    for g, paths in zip(groups, want.values(), strict=True):
        assert [href for href, _, _ in g["links"]] == paths
        assert [text for _, text, _ in g["links"]] == [LABELS[p][0 if zh else 1] for p in paths]
    if role == "member":  # a member has no side menu; their one page is in the top bar
        assert 'id="menu-toggle"' not in home.text and 'data-nav="/me"' in home.text
        assert "with-sider" not in home.text
    else:
        assert 'id="menu-toggle"' in home.text and 'class="console with-sider"' in home.text
    if not zh:
        menu = SIDE.search(home.text)
        assert menu is None or not re.search(r"[\u4e00-\u9fff]", menu.group(0))  # nothing left in Chinese


@pytest.mark.parametrize("role", list(MENU))
def test_every_page_a_role_may_open_is_in_its_menu_and_no_other(console, role):
    """Each navigable page, opened as the role: 200 exactly when the menu shows it (a member is sent from the
    catalogue to their own page)."""
    c = console(role)
    shown = NAV[role]
    for item in nav.ITEMS:
        r = c.get(item.path)
        if item.path in shown:
            assert r.status_code == 200, (role, item.path)
        elif role == "member" and item.path == "/catalogue":
            assert r.status_code == 303
        else:
            assert r.status_code == 403, (role, item.path)


def test_the_current_page_is_marked_and_its_group_open(console):
    c = console("admin")
    groups = {g["key"]: g for g in side_menu(c.get("/campaigns/approvals").text)}
    assert groups["campaigns"]["open"] and not groups["system"]["open"] and not groups["analysis"]["open"]
    current = [(href, text) for g in groups.values() for href, text, cur in g["links"] if cur]
    assert current == [("/campaigns/approvals", "活动审批")]  # the longest matching path, not /campaigns as well
    groups = {g["key"]: g for g in side_menu(c.get(f"/members/{op.MEMBER}").text)}
    assert [k for k, g in groups.items() if g["open"]] == ["members"]
    assert [h for g in groups.values() for h, _, cur in g["links"] if cur] == ["/members"]


def test_the_top_bar_names_the_user_and_role_with_language_switch_and_log_out(console):
    c = console("agent")
    html = c.get("/work").text
    top = re.search(r'<header class="top">.*?</header>', html, re.S).group(0)
    assert f'<span class="user-name">{op.LOGINS["agent"]}</span>' in top
    assert f'<span class="role">{ROLE_NAMES["agent"][0]}</span>' in top
    assert 'data-lang="en"' in top and 'action="/logout"' in top and "退出" in top
    assert '<label for="menu-toggle" class="menu-button">菜单</label>' in top
    english(c)
    top = re.search(r'<header class="top">.*?</header>', c.get("/work").text, re.S).group(0)
    assert f'<span class="role">{ROLE_NAMES["agent"][1]}</span>' in top and "Log out" in top and ">Menu<" in top


def test_a_detail_page_shows_breadcrumbs_and_a_list_page_none(console):
    c = console("admin")
    html = c.get(f"/members/{op.MEMBER}").text
    crumbs = re.search(r'<nav class="breadcrumbs" aria-label="面包屑导航">(.*?)</nav>', html, re.S)
    assert crumbs, "no breadcrumbs on the member 360"
    items = re.findall(r"<li( aria-current=\"page\")?>(.*?)</li>", crumbs.group(1), re.S)
    # the group (会员) equals the item's name here, so it is not repeated
    assert [(bool(cur), text.strip()) for cur, text in items] == [
        (False, '<a href="/members">会员</a>'),
        (True, op.MEMBER),
    ]
    assert 'class="breadcrumbs"' not in c.get("/members").text
    english(c)
    html = c.get(f"/members/{op.MEMBER}").text
    assert '<nav class="breadcrumbs" aria-label="Breadcrumb">' in html and '<a href="/members">Members</a>' in html


def test_a_detail_page_of_a_group_with_another_name_shows_the_group_first(console):
    c = console("admin")
    version = re.search(r'href="(/plans/\d+)"', c.get("/plans").text)
    assert version, "the tiny operator has an applied plan version"
    html = c.get(version.group(1)).text
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    labels = re.findall(r"<li[^>]*>(.*?)</li>", crumbs)
    assert labels[:2] == ["系统", '<a href="/plans">方案</a>'] and len(labels) == 3 and labels[2]  # and the page


def test_an_error_page_keeps_the_menu_without_breadcrumbs(console):
    c = console("clerk")
    r = c.get("/plans/1")
    assert r.status_code == 403 and "您无权打开此页面" in r.text
    assert [g["key"] for g in side_menu(r.text)] == ["members", "incentives"] and 'class="breadcrumbs"' not in r.text


def render(source: str, locale: str = "zh_CN", **context) -> str:
    """Render a page template given as text, over base.html, with the context render.page gives."""
    env = environment(locale)
    user = SimpleNamespace(role="manager", username="li.lei")
    common = {
        "user": user,
        "nav": nav.visible(user, context.pop("path", "/members/M1")),
        "csrf": "t",
        "languages": [],
        "html_lang": "zh-CN",
        "role_label": nav.role_label("manager", locale),
    }
    return env.from_string(source).render(**common, **context)


def test_the_page_header_shows_title_breadcrumbs_and_actions_set_by_the_page():
    html = render(
        '{% extends "base.html" %}{% set page_title = "王小明" %}{% set page_subtitle = "M1" %}'
        '{% set breadcrumbs = [("会员", "/members"), ("王小明", None)] %}'
        '{% block page_actions %}<a class="button primary" href="/x">调整积分</a>{% endblock %}'
        "{% block main %}<p>body</p>{% endblock %}"
    )
    header = re.search(r'<div class="page-header">.*?<p>body</p>', html, re.S).group(0)
    assert "<h1>王小明 <small>M1</small></h1>" in header
    assert '<div class="page-actions"><a class="button primary" href="/x">调整积分</a></div>' in header
    assert re.findall(r"<li[^>]*>(.*?)</li>", header) == ['<a href="/members">会员</a>', "王小明"]
    # without actions, no empty actions box; without breadcrumbs on a list page, none
    plain = render(
        '{% extends "base.html" %}{% set page_title = "会员" %}{% block main %}x{% endblock %}', path="/members"
    )
    assert "<h1>会员</h1>" in plain and "page-actions" not in plain and "breadcrumbs" not in plain


def test_the_page_header_is_escaped():
    html = render('{% extends "base.html" %}{% set page_title = t %}{% block main %}{% endblock %}', t="<b>x</b>")
    assert "<h1>&lt;b&gt;x&lt;/b&gt;</h1>" in html


def test_home_is_the_first_item_of_the_menu_and_every_item_has_a_group_and_a_known_permission():
    for role, paths in NAV.items():
        assert nav.home(SimpleNamespace(role=role)) == paths[0]
    keys = {g.key for g in nav.GROUPS}
    assert all(i.group in keys for i in nav.ITEMS if i.path != "/me")
    assert nav.home(None) == "/login"
