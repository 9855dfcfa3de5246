"""Every error the app returns has the one envelope, whatever produced it."""

from __future__ import annotations

import pytest

from tests.api.conftest import MEMBER, assert_envelope


def test_400_malformed_json(api):
    r = api.client("admin").post("/api/redemptions", content=b'{"member_id": ', headers={"content-type": "application/json"})
    err = assert_envelope(r, 400, "malformed_json")
    assert "not valid JSON" in err["message"]


def test_401_without_credentials_and_with_a_bad_token(api):
    assert_envelope(api.client().get(f"/api/members/{MEMBER}/balance"), 401, "unauthenticated")
    bad = api.client().get("/api/catalogue", headers={"Authorization": "Bearer wx_not-a-token"})
    assert_envelope(bad, 401, "invalid_token")
    assert bad.headers["www-authenticate"] == "Bearer"
    assert_envelope(api.client().get("/api/catalogue", headers={"Authorization": "Basic YTpi"}), 401)


def test_403_for_a_role_without_the_permission(api):
    err = assert_envelope(api.client("analyst").post("/api/plans/apply", json={"text": "plan: x"}), 403, "forbidden")
    assert "plans:apply" in err["message"]


def test_404_unknown_route_and_unknown_member(api):
    err = assert_envelope(api.client("admin").get("/api/no/such/thing"), 404, "not_found")
    assert "/api/no/such/thing" in err["message"]
    err = assert_envelope(api.client("admin").get("/api/members/NOBODY/balance"), 404, "not_found")
    assert "NOBODY" in err["message"]


def test_405_wrong_method(api):
    assert_envelope(api.client("admin").delete("/api/catalogue"), 405, "method_not_allowed")


def test_409_redemption_refused_says_why(api):
    api.post_points(MEMBER, "300.00", "b1")  # 30 points
    r = api.client("admin").post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit"})
    err = assert_envelope(r, 409, "not_enough_points", balance=30, cost=100, reward="bill-credit", qty=1)
    assert "not enough points: balance 30" in err["message"] and err["where"] is None


def test_the_message_is_in_the_callers_language(api):
    api.post_points(MEMBER, "300.00", "b1")  # 30 points
    client = api.client("admin")
    body = {"member_id": MEMBER, "reward_id": "bill-credit"}
    zh = assert_envelope(client.post("/api/redemptions", json=body, headers={"Accept-Language": "zh-CN"}), 409,
                         "not_enough_points", balance=30, cost=100)
    assert zh["message"].startswith("积分不足") and "30" in zh["message"] and "100" in zh["message"]
    en = assert_envelope(client.post("/api/redemptions", json=body, headers={"Accept-Language": "fr, en;q=0.5"}),
                         409, "not_enough_points")
    assert en["message"].startswith("not enough points")
    unknown = client.post("/api/redemptions", json={**body, "reward_id": "yacht"}, headers={"Accept-Language": "zh"})
    assert assert_envelope(unknown, 404, "unknown_reward", reward="yacht")["message"] == "未知奖励 yacht"


def test_413_oversized_body_with_and_without_content_length(api):
    big = b'{"text": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    client = api.client("admin")
    assert_envelope(client.post("/api/plans/check", content=big, headers={"content-type": "application/json"}),
                    413, "payload_too_large")

    def chunks():  # no Content-Length: the limit applies while the body streams in
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    assert_envelope(client.post("/api/plans/check", content=chunks(), headers={"content-type": "application/json"}),
                    413, "payload_too_large")


def test_415_body_that_is_not_json(api):
    r = api.client("admin").post("/api/plans/check", content=b"plan: x", headers={"content-type": "text/yaml"})
    err = assert_envelope(r, 415, "unsupported_media_type")
    assert err["details"][0]["field"] == "content-type"


def test_422_validation_errors_are_located(api):
    r = api.client("admin").post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit", "qty": 0})
    err = assert_envelope(r, 422, "invalid_request")
    assert err["details"][0]["in"] == "body" and err["details"][0]["field"] == "qty"
    r = api.client("admin").get("/api/lots/expiring", params={"within_days": "soon"})
    err = assert_envelope(r, 422, "invalid_request")
    assert err["details"][0] == {**err["details"][0], "in": "query", "field": "within_days"}


def test_429_login_rate_limit(api):
    client = api.client()
    for _ in range(5):
        assert_envelope(client.post("/api/auth/login", json={"username": "admin", "password": "wrong"}), 401, "login_failed")
    r = client.post("/api/auth/login", json={"username": "admin", "password": "wrong"})
    assert_envelope(r, 429, "too_many_logins")
    assert int(r.headers["retry-after"]) > 0


def test_500_hides_the_exception(api):
    def broken():
        raise RuntimeError("secret internals /etc/passwd")

    api.app.add_api_route("/api/broken", broken)
    r = api.client("admin").get("/api/broken")
    assert_envelope(r, 500, "internal_error")
    assert "secret" not in r.text and "RuntimeError" not in r.text


@pytest.mark.parametrize("path", ["/api/nope", "/openapi.json/x", "/static/missing.js"])
def test_unknown_paths_anywhere_use_the_envelope(api, path):
    assert_envelope(api.client().get(path), 404)
