"""Issue 16, item 13: an event id sent twice in one batch, and one redemption key sent many times at once.

The attacks: two events with the same id in one ``POST /api/events`` answered ``posted: 0`` though one posted;
60 concurrent redemptions with one ``request_id`` all answered 200 (none 201), so no caller could tell which one
redeemed. The safe answers: the first is reported posted (``posted: 1``) and the rest as duplicates; of N
concurrent redemptions with one key exactly one is 201 and the rest 200 with ``duplicate: true``, all the same
redemption, and the points are taken once.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.api.conftest import MEMBER, OTHER
from tests.security.conftest import run_async
from weixi.ledger.verify import verify


def bill(event_id: str, member: str, yuan: str) -> dict:
    return {
        "event_id": event_id,
        "member_id": member,
        "type": "bill",
        "occurred_at": "2026-11-02T10:00:00+08:00",
        "amount": yuan,
    }


def balance(api, member: str) -> int:
    return api.client("admin").get(f"/api/members/{member}/balance").json()["balance"]


def test_the_same_event_id_twice_in_one_batch_is_one_posted_and_one_duplicate(api):
    admin = api.client("admin")
    r = admin.post(
        "/api/events",
        json={
            "events": [bill("twice", MEMBER, "100.00"), bill("twice", MEMBER, "100.00"), bill("once", OTHER, "50.00")]
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["posted"] == 2 and out["duplicates"] == ["twice"] and out["rejected"] == []
    assert balance(api, MEMBER) == 10  # posted once: 100 yuan at 10 yuan a point
    again = admin.post("/api/events", json={"events": [bill("twice", MEMBER, "100.00")]}).json()
    assert again["posted"] == 0 and again["duplicates"] == ["twice"]


def test_a_repeated_redeem_event_in_one_batch_is_reported_posted_once(api):
    api.post_points(MEMBER, "2000.00", "seed")  # 200 points
    event = {
        "event_id": "pos-r1",
        "member_id": MEMBER,
        "type": "redeem",
        "occurred_at": "2026-11-03T10:00:00+08:00",
        "ref": "bill-credit",
    }
    r = api.client("admin").post("/api/events", json={"events": [event, event, event]})
    assert r.status_code == 200, r.text
    assert r.json()["posted"] == 1 and r.json()["duplicates"] == ["pos-r1", "pos-r1"]
    assert balance(api, MEMBER) == 100


def test_concurrent_redemptions_with_one_key_get_one_201(api):
    api.post_points(MEMBER, "20000.00", "seed")  # 2000 points: enough for every request, were they all posted
    token = api.tokens["clerk"]
    body = {"member_id": MEMBER, "reward_id": "bill-credit", "request_id": "pos-60"}

    async def storm():
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}
        ) as client:
            return await asyncio.wait_for(
                asyncio.gather(*[client.post("/api/redemptions", json=body) for _ in range(30)]), timeout=120
            )

    answers = run_async(storm())
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 29 + [201], [r.text for r in answers if r.status_code not in (200, 201)]
    assert len({r.json()["redemption_id"] for r in answers}) == 1
    assert [r.json()["duplicate"] for r in answers if r.status_code == 201] == [False]
    assert all(r.json()["duplicate"] is True for r in answers if r.status_code == 200)
    assert balance(api, MEMBER) == 2000 - 100
    assert verify(api.engine)[0] == []


def test_each_of_a_repeated_refused_id_is_reported_at_its_own_index(api):
    bad = {
        "event_id": "pos-r2",
        "member_id": MEMBER,
        "type": "redeem",
        "occurred_at": "2026-11-03T10:00:00+08:00",
        "ref": "yacht",
    }
    r = api.client("admin").post("/api/events", json={"events": [bad, bill("fine", OTHER, "10.00"), bad]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["posted"] == 1 and out["duplicates"] == []
    assert [(x["index"], x["event_id"]) for x in out["rejected"]] == [(0, "pos-r2"), (2, "pos-r2")]
