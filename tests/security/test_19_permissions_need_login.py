"""Issue 16, item 19: the role matrix (which role may do what) is not handed to strangers: ``GET /api/permissions``
answers 401 in the error envelope without a login, and the matrix to any login."""

from __future__ import annotations

from tests.security.conftest import assert_envelope


def test_an_anonymous_caller_gets_401_and_no_matrix(api):
    r = api.client().get("/api/permissions")
    assert_envelope(r, 401, "unauthenticated")
    assert "points:redeem" not in r.text


def test_a_forged_token_gets_401(api):
    r = api.client().get("/api/permissions", headers={"Authorization": "Bearer wx_forged"})
    assert r.status_code == 401
    assert "points:redeem" not in r.text


def test_any_login_reads_the_matrix(api):
    for role in ("member", "admin"):
        r = api.client(role).get("/api/permissions")
        assert r.status_code == 200, r.text
        assert "points:redeem" in {p["permission"] for p in r.json()["permissions"]}
