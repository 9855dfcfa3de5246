"""Every error the app returns has the one envelope, whatever produced it."""

from __future__ import annotations

import pytest

from tests.api.conftest import MEMBER, assert_envelope


def test_400_malformed_json(api):
    r = api.client("admin").post(
        "/api/redemptions", content=b'{"member_id": ', headers={"content-type": "application/json"}
    )
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
    err = assert_envelope(
        api.client("admin").get("/api/members/NOBODY/balance"), 404, "unknown_member", member="NOBODY"
    )
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
    zh = assert_envelope(
        client.post("/api/redemptions", json=body, headers={"Accept-Language": "zh-CN"}),
        409,
        "not_enough_points",
        balance=30,
        cost=100,
    )
    assert zh["message"].startswith("积分不足") and "30" in zh["message"] and "100" in zh["message"]
    en = assert_envelope(
        client.post("/api/redemptions", json=body, headers={"Accept-Language": "fr, en;q=0.5"}),
        409,
        "not_enough_points",
    )
    assert en["message"].startswith("not enough points")
    unknown = client.post("/api/redemptions", json={**body, "reward_id": "yacht"}, headers={"Accept-Language": "zh"})
    assert assert_envelope(unknown, 404, "unknown_reward", reward="yacht")["message"] == "未知奖励 yacht"


def test_413_oversized_body_with_and_without_content_length(api):
    big = b'{"text": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    client = api.client("admin")
    assert_envelope(
        client.post("/api/plans/check", content=big, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )

    def chunks():  # no Content-Length: the limit applies while the body streams in
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    assert_envelope(
        client.post("/api/plans/check", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


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
        assert_envelope(
            client.post("/api/auth/login", json={"username": "admin", "password": "wrong"}), 401, "login_failed"
        )
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


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_the_apps_own_answers_have_codes_and_speak_the_callers_language(api):
    client = api.client("admin")
    err = assert_envelope(
        client.get("/api/no/such/thing", headers=ZH), 404, "not_found", method="GET", path="/api/no/such/thing"
    )
    assert err["message"] == "没有这个接口或页面：GET /api/no/such/thing"
    err = assert_envelope(client.delete("/api/catalogue", headers=ZH), 405, "method_not_allowed", method="DELETE")
    assert err["message"] == "/api/catalogue 不支持 DELETE 请求"
    bad = client.post("/api/redemptions", content=b'{"member_id": ', headers={**ZH, "content-type": "application/json"})
    assert assert_envelope(bad, 400, "malformed_json")["message"] == "请求正文不是有效的 JSON"
    r = client.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit", "qty": 0}, headers=ZH)
    err = assert_envelope(r, 422, "invalid_request", request_part="body", field="qty")
    assert err["message"] == "请求无效：请求正文中的 qty 不符合要求"
    assert err["details"][0]["code"] == err["details"][0]["type"] == "greater_than_equal"
    big = b'{"text": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    r = client.post("/api/plans/check", content=big, headers={**ZH, "content-type": "application/json"})
    assert assert_envelope(r, 413, "payload_too_large", max=2 * 1024 * 1024)["message"] == "请求正文超过 2097152 字节"


def test_ledger_refusals_have_their_own_codes_in_both_languages(api):
    client = api.client("admin")
    err = assert_envelope(client.get("/api/members/NOBODY/balance", headers=ZH), 404, "unknown_member", member="NOBODY")
    assert err["message"] == "未知的会员 NOBODY"
    err = assert_envelope(client.post("/api/events/nope/reverse"), 404, "unknown_event", event="nope")
    assert err["message"] == "unknown event nope"
    assert assert_envelope(client.post("/api/events/nope/reverse", headers=ZH), 404)["message"] == "未知的事件 nope"
    r = client.get(f"/api/members/{MEMBER}/statement", params={"from": "2026-11-05", "to": "2026-11-01"}, headers=ZH)
    err = assert_envelope(r, 422, "statement_period_reversed", start="2026-11-05", end="2026-11-01")
    assert err["where"] == {"field": "from"} and "晚于" in err["message"]


def test_event_type_forbidden_names_the_types_and_each_event(api):
    clerk = api.client("clerk")
    body = {
        "events": [
            {
                "event_id": "mint",
                "member_id": MEMBER,
                "type": "adjust",
                "occurred_at": "2026-11-02",
                "points": 5,
                "attrs": {"reason": "x"},
            }
        ]
    }
    err = assert_envelope(
        clerk.post("/api/events", json=body, headers=ZH),
        403,
        "event_type_forbidden",
        role="clerk",
        event_type=["adjust"],
    )
    assert err["message"] == "营业员角色无权提交积分调整事件"
    assert err["details"][0]["code"] == "permission_required"


def test_rejected_events_carry_code_params_and_field(api):
    events = [
        {"event_id": "ok", "member_id": MEMBER, "type": "bill", "occurred_at": "2026-11-02", "amount": "10.00"},
        {"event_id": "neg", "member_id": MEMBER, "type": "bill", "occurred_at": "2026-11-02", "amount": "-1"},
        {"event_id": "noamt", "member_id": MEMBER, "type": "recharge", "occurred_at": "2026-11-02"},
    ]
    out = api.client("admin").post("/api/events", json={"events": events}).json()
    assert out["posted"] == 1
    assert [(r["index"], r["field"], r["code"], r["params"]) for r in out["rejected"]] == [
        (1, "amount", "negative_amount", {"amount": "-1"}),
        (2, "amount", "event_needs_amount", {"event_type": "recharge"}),
    ]
    assert out["rejected"][1]["reason"] == "amount: a recharge event needs an amount in yuan"
