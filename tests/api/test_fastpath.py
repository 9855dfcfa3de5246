"""The short path for POST /api/redemptions and POST /api/events (weixi.api.fastpath): it answers exactly what the
full app answers, and leaves to the full app everything it does not check itself (sessions and CSRF, unknown or
revoked tokens, permissions, bodies that do not validate)."""

from __future__ import annotations

import asyncio

from tests.api.conftest import MEMBER, OTHER, assert_envelope
from tests.loop import run_async
from weixi.api.app import SECURITY_HEADERS


def fast(api) -> int:
    return getattr(api.app.state, "fast_writes", 0)


def redeem(client, request_id: str, member: str = MEMBER, **extra):
    return client.post(
        "/api/redemptions", json={"member_id": member, "reward_id": "bill-credit", "request_id": request_id, **extra}
    )


def test_redemptions_and_events_take_the_short_path_with_the_same_answers(api):
    clerk = api.client("clerk")
    api.post_points(MEMBER, "2000.00", "seed")  # 200 points; also puts the admin token in the cache
    assert clerk.get("/api/auth/me").status_code == 200  # the clerk's token is now cached
    before = fast(api)
    first = redeem(clerk, "pos-1")
    again = redeem(clerk, "pos-1")
    assert fast(api) == before + 2
    assert first.status_code == 201 and again.status_code == 200
    body = first.json()
    assert body["points"] == 100 and body["duplicate"] is False and body["request_id"] == "pos-1"
    assert body["details"]["lots"] == [["seed", 100]]
    assert again.json() == {**body, "duplicate": True}
    for name, value in SECURITY_HEADERS:
        assert first.headers[name.decode()] == value.decode()
    assert first.headers["content-type"] == "application/json"
    # the same redemption as the full app reads it
    assert clerk.get(f"/api/redemptions/{body['redemption_id']}").json() == {**body, "duplicate": False}
    # refusals: the envelope, from the ledger's reason
    redeem(clerk, "pos-2")
    err = assert_envelope(redeem(clerk, "pos-3"), 409, "not_enough_points", reward="bill-credit", qty=1)
    assert "not enough points" in err["message"] and {"balance", "cost", "day"} <= set(err["params"])
    zh = clerk.post(
        "/api/redemptions",
        json={"member_id": MEMBER, "reward_id": "bill-credit", "request_id": "pos-4"},
        headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert assert_envelope(zh, 409, "not_enough_points")["message"].startswith("积分不足")  # the caller's language
    assert_envelope(
        clerk.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "yacht"}),
        404,
        "unknown_reward",
        reward="yacht",
    )
    posted = api.client("admin").post(
        "/api/events",
        json={
            "events": [
                {
                    "event_id": "e-1",
                    "member_id": OTHER,
                    "type": "bill",
                    "occurred_at": "2026-11-02T10:00:00+08:00",
                    "amount": "50.00",
                },
                {
                    "event_id": "e-2",
                    "member_id": OTHER,
                    "type": "bill",
                    "occurred_at": "2026-11-02T10:00:00+08:00",
                    "amount": "-1",
                },
            ]
        },
    )
    assert posted.status_code == 200
    assert posted.json() == {
        "posted": 1,
        "duplicates": [],
        "plan_version": 1,
        "rejected": [
            {
                "index": 1,
                "event_id": "e-2",
                "field": "amount",
                "reason": posted.json()["rejected"][0]["reason"],
                "code": "negative_amount",
                "params": {"amount": "-1"},
            }
        ],
    }
    assert fast(api) == before + 7


def test_what_the_short_path_does_not_check_goes_to_the_full_app(api):
    clerk = api.client("clerk")
    assert clerk.get("/api/auth/me").status_code == 200
    before = fast(api)
    # bodies that do not validate: the full app's 422 / 400 / 415 with their details
    err = assert_envelope(redeem(clerk, "x", qty=0), 422, "invalid_request")
    assert err["details"][0]["field"] == "qty"
    assert_envelope(redeem(clerk, "x", colour="red"), 422, "invalid_request")
    assert_envelope(
        clerk.post("/api/redemptions", content=b'{"member_id": ', headers={"Content-Type": "application/json"}),
        400,
        "malformed_json",
    )
    assert_envelope(
        clerk.post(
            "/api/redemptions", content=b"member_id=M1", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        415,
    )
    # a role without the permission (its token cached): the full app's 403
    analyst, agent = api.client("analyst"), api.client("agent")
    assert analyst.get("/api/auth/me").status_code == 200 and agent.get("/api/auth/me").status_code == 200
    assert_envelope(
        analyst.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit"}), 403, "forbidden"
    )
    assert_envelope(
        agent.post(
            "/api/events",
            json={
                "events": [
                    {"event_id": "c", "member_id": MEMBER, "type": "bill", "occurred_at": "2026-11-02", "amount": "1"}
                ]
            },
        ),
        403,
        "forbidden",
    )
    # a member login and another member: own_member runs on the short path too
    member = api.client("member")
    assert member.get("/api/auth/me").status_code == 200
    assert_envelope(redeem(member, "m-1", member=OTHER), 403, "not_own_member")
    # an unknown token
    stranger = api.client()
    stranger.headers["Authorization"] = "Bearer wx_not-a-token"
    assert_envelope(redeem(stranger, "s-1"), 401, "invalid_token")
    assert fast(api) == before + 1  # only the member's own-member refusal was answered on the short path


def test_a_revoked_token_is_refused_at_once_on_the_short_path(api):
    """Revoking through the app drops the token from the cache the short path reads: no 5-second window."""
    clerk = api.client("clerk")
    token = clerk.post("/api/auth/token", json={"name": "till-7"}).json()["token"]
    till = api.client()
    till.headers["Authorization"] = f"Bearer {token}"
    api.post_points(MEMBER, "3000.00", "seed")
    assert redeem(till, "t-1").status_code == 201  # loads the token into the cache
    before = fast(api)
    assert redeem(till, "t-2").status_code == 201
    assert fast(api) == before + 1  # answered from the cache
    assert clerk.post("/api/auth/token/revoke", json={"token": token}).json()["revoked"] is True
    assert_envelope(redeem(till, "t-3"), 401, "invalid_token")
    assert fast(api) == before + 1
    assert api.client("admin").get("/api/redemptions/redeem:t-3").status_code == 404


def test_cookie_sessions_still_need_the_csrf_token(api):
    from tests.api.test_auth import browser, login

    c = browser(api)
    csrf = login(c, "clerk").json()["csrf_token"]
    api.post_points(MEMBER, "2000.00", "seed")
    assert_envelope(redeem(c, "k-1"), 403, "csrf_failed")
    ok = c.post(
        "/api/redemptions",
        json={"member_id": MEMBER, "reward_id": "bill-credit", "request_id": "k-3"},
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 201


def test_the_process_writer_answers_coroutines_batch_by_batch(tmp_path):
    """ProcessCommitter.apost: asyncio waiters resolved on their loop, one outcome each, in order."""
    from tests.api.conftest import PLAN
    from weixi.adapters.db import make_engine
    from weixi.adapters.schema import upgrade
    from weixi.adapters.writer import redeem_event
    from weixi.adapters.writer_process import ProcessCommitter
    from weixi.ledger.events import parse_event
    from weixi.ledger.verify import verify
    from weixi.plans.service import apply_plan

    url = str(tmp_path / "gc.db")
    engine = make_engine(url)
    upgrade(engine)
    apply_plan(engine, PLAN)
    committer = ProcessCommitter(engine, url)
    tz = committer.zone()

    async def main():
        seed = parse_event(
            {"event_id": "s", "member_id": "M1", "type": "bill", "occurred_at": "2026-10-01", "amount": "3000.00"}, tz
        )
        assert (await committer.apost([seed]))[0].status == "posted"  # 300 points: three redemptions of 100
        return await asyncio.gather(
            *[committer.apost([redeem_event(committer, "M1", "bill-credit", 1, f"r{i}")]) for i in range(5)]
        )

    outcomes = run_async(main())
    statuses = [o[0].status for o in outcomes]
    assert statuses.count("posted") == 3 and statuses.count("rejected") == 2
    assert all(o[0].redemption["points"] == 100 for o in outcomes if o[0].status == "posted")

    async def after_a_crash():
        first = committer._process
        first.kill()
        first.join(30)
        bill = parse_event(
            {"event_id": "after", "member_id": "M2", "type": "bill", "occurred_at": "2026-10-02", "amount": "100.00"},
            tz,
        )
        [outcome] = await committer.apost([bill])
        return first, outcome

    first, outcome = run_async(after_a_crash())
    assert outcome.status == "posted" and committer._process is not first  # a new writer process took over
    # the same writer from another event loop, then from a plain thread
    again = parse_event(
        {"event_id": "again", "member_id": "M2", "type": "bill", "occurred_at": "2026-10-03", "amount": "100.00"}, tz
    )
    assert run_async(committer.apost([again]))[0].status == "posted"
    assert committer.post([again])[0].status == "duplicate"
    assert verify(engine)[0] == []
    engine.dispose()
