"""The users pages (issue 18 §1 Admin: "users and roles (create, deactivate, reset password, tokens)"): an
administrator lists the logins with their role names, creates a login (refusals beside their field, in the page's
language), deactivates and reactivates one after a confirmation, resets a password, issues a token shown once and
revokes it. Every action needs the form's CSRF token and is written to the audit log; no other role opens the
pages."""

from __future__ import annotations

import re

import pytest

from tests.console import crawl
from tests.console import operator as op
from tests.console.conftest import csrf_of
from weixi.users import admin
from weixi.users import service as users

STRONG = "Lantern-Quartz-88"


def _audit(app, action):
    return users.audit_entries(app.state.engine, 20, action)


def test_the_users_page_lists_logins_with_role_names_and_last_login(console):
    c = console("admin")
    zh = c.get("/users")
    assert zh.status_code == 200 and "<h1>用户与角色</h1>" in zh.text
    rows = re.findall(r'<tr class="[^"]*"><td><a href="/users/([^"]+)">', zh.text)
    assert sorted(rows) == sorted(op.LOGINS.values())
    assert "系统管理员" in zh.text and "外呼坐席" in zh.text  # role names, not codes
    assert f'<a href="/members/{op.MEMBER}">' in zh.text  # the member login's member
    admin_row = re.search(r'<a href="/users/admin">admin</a>.*?</tr>', zh.text, re.S).group(0)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", admin_row)  # the admin just logged in
    assert re.search(r'<a href="/users/clerk">clerk</a>.*?从未登录', zh.text, re.S)  # the clerk never did
    assert "至少 10 个字符" in zh.text  # the password rules, explained before anyone types
    c.get("/lang/en?next=%2Fusers")
    en = c.get("/users")
    assert "<h1>Users and roles</h1>" in en.text and "Administrator" in en.text and "At least 10 characters" in en.text


def test_creating_a_login_refuses_beside_the_field_and_audits_the_creation(console, app):
    c = console("admin")
    r = c.post_form("/users", "/users", {"username": "wangfang", "password": "password12", "role": "agent"})
    assert r.status_code == 422
    assert re.search(r'id="password-error">[^<]*(密码|口令)', r.text), r.text[-3000:]  # beside the password, Chinese
    assert 'value="wangfang"' in r.text  # what was typed stays
    r = c.post_form("/users", "/users", {"username": "admin", "password": STRONG, "role": "agent"})
    assert r.status_code == 409 and 'id="username-error"' in r.text
    r = c.post_form("/users", "/users", {"username": "wangfang", "password": STRONG, "role": "member"})
    assert r.status_code == 422 and 'id="member-id-error"' in r.text
    c.get("/lang/en?next=%2Fusers")
    r = c.post_form("/users", "/users", {"username": "wangfang", "password": "short", "role": "agent"})
    assert r.status_code == 422 and re.search(r'id="password-error">[^<]*10', r.text)
    r = c.post_form("/users", "/users", {"username": "wangfang", "password": STRONG, "role": "manager"})
    assert r.status_code == 303 and r.headers["location"] == "/users/wangfang?done=created"
    made = users.get_user(app.state.engine, "wangfang")
    assert made.role == "manager" and made.active
    entry = _audit(app, "user.create")[0]
    assert entry["username"] == "admin" and entry["subject"] == "wangfang" and entry["detail"]["via"] == "console"
    page = c.get(r.headers["location"])
    assert "The login was created." in page.text and "<h1>wangfang <small>Customer manager</small></h1>" in page.text


def test_deactivation_needs_a_confirmation_ends_the_login_and_can_be_undone(console, app):
    c, agent = console("admin"), console("agent")
    page = c.get("/users/agent")
    assert '<details class="confirm" id="toggle-active">' in page.text  # the button only opens the confirmation
    assert "停用后该账号的会话立即结束" in page.text
    r = c.post_form("/users/agent", "/users/agent/active", {"active": "0"})
    assert r.status_code == 303 and r.headers["location"] == "/users/agent?done=deactivated"
    assert not users.get_user(app.state.engine, "agent").active
    assert agent.get("/work").status_code == 303  # the agent's session ended: back to the login form
    assert _audit(app, "user.deactivate")[0]["subject"] == "agent"
    assert "已停用" in c.get("/users/agent").text
    r = c.post_form("/users/agent", "/users/agent/active", {"active": "1"})
    assert r.status_code == 303 and users.get_user(app.state.engine, "agent").active
    assert _audit(app, "user.reactivate")[0]["subject"] == "agent"


def test_an_administrator_cannot_deactivate_their_own_login(console, app):
    c = console("admin")
    r = c.post_form("/users/admin", "/users/admin/active", {"active": "0"})
    assert r.status_code == 409 and 'id="active-error"' in r.text and "不能停用自己" in r.text
    assert users.get_user(app.state.engine, "admin").active


def test_reset_password_checks_the_rules_and_the_new_password_logs_in(console, app):
    c = console("admin")
    r = c.post_form("/users/clerk", "/users/clerk/password", {"password": "clerk"})
    assert r.status_code == 422 and 'id="password-error"' in r.text
    r = c.post_form("/users/clerk", "/users/clerk/password", {"password": STRONG})
    assert r.status_code == 303 and r.headers["location"] == "/users/clerk?done=password"
    assert users.authenticate(app.state.engine, "clerk", STRONG, "test") is not None
    assert _audit(app, "user.password")[0]["subject"] == "clerk"


def test_a_token_is_shown_once_works_and_is_revoked_from_the_page(console, app):
    c = console("admin")
    r = c.post_form("/users/analyst", "/users/analyst/tokens", {"name": "nightly report"})
    assert r.status_code == 201
    token = re.search(r'class="token" value="(wx_[^"]+)"', r.text).group(1)
    assert users.user_for_token(app.state.engine, token).username == "analyst"
    again = c.get("/users/analyst")
    assert token not in again.text and "nightly report" in again.text  # listed by name, never shown again
    live = admin.tokens(app.state.engine, "analyst")
    assert [t["name"] for t in live] == ["nightly report"] and live[0]["revoked_at"] is None
    tid = live[0]["id"]
    r = c.post_form("/users/analyst", f"/users/analyst/tokens/{tid}/revoke", {})
    assert r.status_code == 303 and users.user_for_token(app.state.engine, token) is None
    assert c.post_form("/users/analyst", f"/users/analyst/tokens/{tid}/revoke", {}).status_code == 404
    assert c.post_form("/users/agent", f"/users/agent/tokens/{tid}/revoke", {}).status_code == 404  # not agent's
    assert [e["action"] for e in users.audit_entries(app.state.engine, 2)] == ["token.revoke", "token.issue"]
    assert _audit(app, "token.issue")[0]["subject"] == "analyst"
    assert _audit(app, "token.revoke")[0]["detail"]["token"] == tid


def test_every_form_needs_the_csrf_token(console, app):
    c = console("admin")
    c.get("/users/agent")
    for action, data in (
        ("/users", {"username": "x1", "password": STRONG, "role": "agent"}),
        ("/users/agent/active", {"active": "0"}),
        ("/users/agent/password", {"password": STRONG}),
        ("/users/agent/tokens", {"name": "x"}),
    ):
        r = c.http.post(action, data=data)
        assert r.status_code == 403, action
    assert users.get_user(app.state.engine, "x1") is None and users.get_user(app.state.engine, "agent").active
    assert admin.tokens(app.state.engine, "agent") == []


@pytest.mark.parametrize("role", ["analyst", "manager", "agent", "clerk", "member"])
def test_only_administrators_open_the_users_pages(console, role):
    c = console(role)
    assert c.get("/users").status_code == 403
    assert c.get("/users/admin").status_code == 403


def test_an_unknown_login_is_a_404_page(console):
    r = console("admin").get("/users/nobody")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


def test_the_forms_carry_the_pages_csrf_token(console):
    c = console("admin")
    html = c.get("/users/agent").text
    token = csrf_of(html)
    assert html.count(f'name="csrf_token" value="{token}"') >= 4  # active, password, token (+ the logout form)


def test_the_pages_speak_the_readers_language(console):
    """The language crawl's rules (tests/console/crawl.py) on both pages: no code or English run in Chinese, no
    catalogue Chinese in English."""
    c = console("admin")
    c.post_form("/users/member", "/users/member/tokens", {"name": ""})
    for path in ("/users", "/users/member", "/users/admin"):
        assert crawl.zh_findings(crawl.visible_text(c.get(path).text)) == [], path
    c.get("/lang/en?next=%2Fusers")
    for path in ("/users", "/users/member", "/users/admin"):
        assert crawl.en_findings(crawl.visible_text(c.get(path).text), set()) == [], path
