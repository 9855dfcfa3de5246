"""Issue 16, item 14: login CSRF.

The attack: the console's login form carried one CSRF token for every visitor, so an attacker fetched it once and
had any victim's browser post the attacker's credentials from another site (login CSRF: the victim then works
in the attacker's account). Now the token is bound to a random ``weixi_login`` cookie of the visitor, and a
login sent from another site's page (``Origin``, else ``Referer``) is refused before any password is checked.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, assert_envelope

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
HERE = "https://testserver"


def browser(api) -> TestClient:
    c = TestClient(api.app, base_url=HERE, raise_server_exceptions=False, follow_redirects=False)
    api.clients.append(c)
    return c


def form_token(client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return CSRF.search(page.text).group(1)


def post_login(client, token: str, **headers):
    return client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "next": "", "csrf_token": token}, headers=headers
    )


def logged_in(client) -> bool:
    return client.get("/api/auth/me").status_code == 200


def test_every_visitor_gets_a_token_of_their_own(api):
    assert form_token(browser(api)) != form_token(browser(api))


def test_the_attackers_token_does_not_log_in_the_victims_browser(api):
    token = form_token(browser(api))  # the attacker's own visit to the login page
    victim = browser(api)
    r = post_login(victim, token)
    assert r.status_code == 403 and "weixi_session" not in r.headers.get("set-cookie", "")
    assert not logged_in(victim)
    form_token(victim)  # the victim has been on the login page too: a cookie, but not the attacker's token's
    assert post_login(victim, token).status_code == 403 and not logged_in(victim)


def test_a_post_from_another_sites_page_is_refused_even_with_a_valid_token(api):
    victim = browser(api)
    token = form_token(victim)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/prize.html"},
        {"Origin": "https://testserver.evil.example"},
        {"Referer": "http://[::1"},
    ):
        r = post_login(victim, token, **headers)
        assert r.status_code == 403, headers
        assert "weixi_session" not in r.headers.get("set-cookie", "") and not logged_in(victim)


def test_the_servers_own_login_form_still_logs_in(api):
    c = browser(api)
    token = form_token(c)
    cookie = c.cookies.get("weixi_login")
    assert cookie and cookie not in token  # the form carries a MAC of the cookie, not the cookie itself
    r = post_login(c, token, Origin=HERE, Referer=HERE + "/login")
    assert r.status_code == 303 and logged_in(c)


def test_the_api_login_refuses_another_sites_page(api):
    c = browser(api)
    body = {"username": "clerk", "password": PASSWORD}
    assert_envelope(
        c.post("/api/auth/login", json=body, headers={"Origin": "https://evil.example"}), 403, "cross_origin"
    )
    assert not logged_in(c)
    assert c.post("/api/auth/login", json=body, headers={"Origin": HERE}).status_code == 200 and logged_in(c)
