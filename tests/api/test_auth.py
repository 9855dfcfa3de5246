"""Logins, session cookies, CSRF, API tokens and the login rate limit."""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.testclient import TestClient

from tests.api.conftest import MEMBER, PASSWORD, assert_envelope
from weixi.api import auth
from weixi.users import service as users


def browser(api, ip: str = "10.0.0.1") -> TestClient:
    """A client over https (Secure cookies are only sent there), like a browser on the console."""
    c = TestClient(api.app, base_url="https://testserver", client=(ip, 50000), raise_server_exceptions=False)
    api.clients.append(c)
    return c


def login(client, username: str = "clerk", password: str = PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_sets_a_secure_httponly_samesite_cookie_and_returns_the_csrf_token(api):
    r = login(browser(api))
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(auth.SESSION_COOKIE + "=")
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    body = r.json()
    assert body["user"]["role"] == "clerk" and "points:redeem" in body["user"]["permissions"]
    assert body["user"]["pii_unmasked"] is False and len(body["csrf_token"]) >= 32


def test_app_without_secure_cookies_for_plain_http(tmp_path):
    from tests.api.conftest import make_api

    plain = make_api(tmp_path, secure_cookies=False)
    with TestClient(plain.app) as c:
        cookie = login(c).headers["set-cookie"]
    assert "secure" not in cookie.lower() and "httponly" in cookie.lower()


def test_cookie_session_mutations_need_the_csrf_token(api):
    api.post_points(MEMBER, "2000.00", "b1")  # 200 points
    c = browser(api)
    csrf = login(c).json()["csrf_token"]
    assert c.get("/api/auth/me").json()["username"] == "clerk"  # reads need no token
    body = {"member_id": MEMBER, "reward_id": "bill-credit"}
    assert_envelope(c.post("/api/redemptions", json=body), 403, "csrf_failed")
    assert_envelope(c.post("/api/redemptions", json=body, headers={"X-CSRF-Token": "forged"}), 403, "csrf_failed")
    assert c.get(f"/api/members/{MEMBER}/balance").json()["balance"] == 200  # refused requests changed nothing
    r = c.post("/api/redemptions", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert c.get(f"/api/members/{MEMBER}/balance").json()["balance"] == 100


def test_bearer_tokens_need_no_csrf_token(api):
    api.post_points(MEMBER, "1000.00", "b1")
    r = api.client("clerk").post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit"})
    assert r.status_code == 201


def test_console_form_posts_carry_the_csrf_token_as_a_field(api):
    @api.app.post("/console-test/form")
    def form(request: Request, note: str = Form(...), user=Depends(auth.current_user)):
        return {"user": user.username, "note": note, "page_token": auth.csrf_token(request)}

    c = browser(api)
    csrf = login(c).json()["csrf_token"]
    refused = c.post("/console-test/form", data={"note": "x"})  # a console path: the HTML error page, in Chinese
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "csrf_failed" in refused.text
    r = c.post("/console-test/form", data={"note": "x", "csrf_token": csrf})
    assert r.status_code == 200 and r.json() == {"user": "clerk", "note": "x", "page_token": csrf}


def test_logout_ends_the_session(api):
    c = browser(api)
    csrf = login(c).json()["csrf_token"]
    cookie = c.cookies.get(auth.SESSION_COOKIE)
    assert c.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    stale = browser(api)
    stale.cookies.set(auth.SESSION_COOKIE, cookie, domain="testserver")
    assert_envelope(stale.get("/api/auth/me"), 401)


def test_tokens_issue_and_revoke(api):
    c = api.client("analyst")
    token = c.post("/api/auth/token", json={"name": "bi-export"}).json()["token"]
    mine = api.client()
    mine.headers["Authorization"] = f"Bearer {token}"
    assert mine.get("/api/auth/me").json()["role"] == "analyst"
    assert_envelope(api.client("clerk").post("/api/auth/token/revoke", json={"token": token}), 403)
    assert c.post("/api/auth/token/revoke", json={"token": token}).json()["revoked"] is True
    assert_envelope(mine.get("/api/auth/me"), 401, "invalid_token")


def test_a_deactivated_user_is_locked_out_at_once(api):
    c = browser(api)
    login(c, "agent")
    tokened = api.client("agent")
    assert c.get("/api/auth/me").status_code == 200 and tokened.get("/api/auth/me").status_code == 200
    users.set_active(api.engine, "agent", False)
    api.app.state.auth_cache.clear()  # another process would see it after auth.CACHE_SECONDS
    assert_envelope(c.get("/api/auth/me"), 401)
    assert_envelope(tokened.get("/api/auth/me"), 401)
    assert_envelope(login(browser(api), "agent"), 401, "login_failed")


def test_rate_limit_is_per_username_and_address_and_blocks_even_the_right_password(api):
    attacker = browser(api, "10.6.6.6")
    for _ in range(users.LOGIN_MAX_FAILURES):
        assert_envelope(login(attacker, "admin", "guess"), 401, "login_failed")
    assert_envelope(login(attacker, "admin", PASSWORD), 429, "too_many_logins")
    assert login(browser(api, "10.0.0.2"), "admin", PASSWORD).status_code == 200  # the real admin elsewhere
    assert login(attacker, "clerk", PASSWORD).status_code == 200  # other usernames from that address


def test_a_success_clears_earlier_failures(api):
    c = browser(api)
    for _ in range(users.LOGIN_MAX_FAILURES - 1):
        login(c, "admin", "typo")
    assert login(c, "admin", PASSWORD).status_code == 200
    for _ in range(users.LOGIN_MAX_FAILURES - 1):
        assert_envelope(login(c, "admin", "typo"), 401)


def test_users_admin_endpoints(api):
    admin = api.client("admin")
    r = admin.post(
        "/api/users", json={"username": "li.na", "password": "s3cret-pass", "role": "member", "member_id": MEMBER}
    )
    assert r.status_code == 201 and r.json()["member_id"] == MEMBER
    assert_envelope(
        admin.post("/api/users", json={"username": "li.na", "password": "s3cret-pass", "role": "clerk"}),
        409,
        "username_taken",
    )
    assert_envelope(
        admin.post("/api/users", json={"username": "x2", "password": "s3cret-pass", "role": "member"}),
        422,
        "member_login_needs_member_id",
    )
    assert "li.na" in [u["username"] for u in admin.get("/api/users").json()]
    stored = users.get_user(api.engine, "li.na")
    assert stored.role == "member"
    from weixi.adapters.sql import execute

    with api.engine.connect() as conn:
        hashed = execute(conn, "SELECT password_hash FROM users WHERE username = ?", ["li.na"])[0][0]
    assert hashed.startswith("$argon2id$") and "s3cret" not in hashed


def test_refusals_carry_a_code_params_and_the_callers_language(api):
    admin = api.client("admin")
    assert_envelope(admin.post("/api/auth/token/revoke", json={"token": "wx_nothing"}), 404, "token_not_found")
    token = admin.post("/api/auth/token").json()["token"]
    assert_envelope(api.client("clerk").post("/api/auth/token/revoke", json={"token": token}), 403, "token_not_own")
    body = {"username": "li.na", "password": "s3cret-pass", "role": "boss"}
    assert admin.post("/api/users", json=body).status_code == 422  # the request model lists the roles
    short = admin.post(
        "/api/users", json={**body, "role": "clerk", "password": "short"}, headers={"Accept-Language": "zh-CN"}
    )
    err = assert_envelope(short, 422, "password_too_short", min_length=users.MIN_PASSWORD)
    assert err["message"] == f"密码太短：至少需要 {users.MIN_PASSWORD} 个字符"
    assert err["details"] == [{"in": "body", "field": "password"}]
    taken = assert_envelope(
        admin.post("/api/users", json={**body, "username": "clerk", "role": "clerk"}),
        409,
        "username_taken",
        username="clerk",
    )
    assert taken["message"] == "username 'clerk' is taken"
    denied = assert_envelope(
        api.client("clerk").get("/api/users", headers={"Accept-Language": "zh-CN"}),
        403,
        "forbidden",
        role="clerk",
        permission="users:manage",
    )
    assert denied["message"] == "营业员角色无权执行此操作"
    other = assert_envelope(api.client("member").get("/api/members/M0000000003/balance"), 403, "not_own_member")
    assert other["message"] == "a member login can only see its own points and profile"
