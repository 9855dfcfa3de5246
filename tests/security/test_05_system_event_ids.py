"""Issue 16, item 5: client event ids cannot take the ids the ledger mints for itself (``reverse:``, ``redeem:``,
``checkin:``, ``campaign:``, ``incentive-referral-``, ``deficit:``), and an admin reversal either reverses the
points or answers 409 saying why — never 200 ``duplicate`` for a reversal that did not happen."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.api.conftest import MEMBER, OTHER, assert_envelope
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events

TZ = ZoneInfo("Asia/Shanghai")


def bill(event_id: str, member: str = MEMBER, yuan: str = "500.00") -> dict:
    return {
        "event_id": event_id,
        "member_id": member,
        "type": "bill",
        "occurred_at": "2026-11-01T10:00:00+08:00",
        "amount": yuan,
    }


def balance(client, member: str = MEMBER) -> int:
    return client.get(f"/api/members/{member}/balance").json()["balance"]


def test_a_clerk_cannot_preempt_the_admins_reversal(api):
    clerk, admin = api.client("clerk"), api.client("admin")
    assert clerk.post("/api/events", json={"events": [bill("FRAUD-b1")]}).json()["posted"] == 1
    assert balance(admin) == 50
    # the attack: the clerk takes the reversal's id first, with a one-fen bill
    r = clerk.post("/api/events", json={"events": [bill("reverse:FRAUD-b1", yuan="0.01")]})
    assert r.status_code == 200
    out = r.json()
    assert out["posted"] == 0
    [rejection] = out["rejected"]
    assert rejection["field"] == "event_id" and "reserved" in rejection["reason"]
    # the admin's reversal happens
    rev = admin.post("/api/events/FRAUD-b1/reverse")
    assert rev.status_code == 200 and rev.json()["duplicate"] is False
    assert balance(admin) == 0


def test_every_system_prefix_is_refused_in_any_case(api):
    clerk = api.client("clerk")
    day = datetime.now(TZ).date()
    ids = [
        "reverse:b9",
        "redeem:pos-2001",
        f"checkin:{MEMBER}:{day}",
        "campaign:spring:chances:x",
        "incentive-referral-R1",
        f"deficit:{MEMBER}",
        "REDEEM:pos-2002",
    ]
    out = clerk.post("/api/events", json={"events": [bill(i, yuan="1.00") for i in ids]}).json()
    assert out["posted"] == 0
    assert [(r["event_id"], r["field"]) for r in out["rejected"]] == [(i, "event_id") for i in ids]
    # the ids stay free for the ledger: the member's check-in and a redemption under pos-2001 still work
    member = api.client("member")
    checkin = member.post(f"/api/members/{MEMBER}/checkin")
    assert checkin.status_code == 201 and checkin.json()["duplicate"] is False and checkin.json()["points"] > 0
    api.post_points(MEMBER, "1000.00", "seed")
    redeemed = clerk.post(
        "/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit", "request_id": "pos-2001"}
    )
    assert redeemed.status_code == 201, redeemed.text


def test_a_reversal_id_taken_before_the_fix_is_409_not_a_duplicate(api):
    """A ledger that already holds a foreign event under ``reverse:X`` (posted before ids were checked): the
    reversal of X is refused with the reason, the points stay visible as not reversed, and nothing is audited."""
    admin = api.client("admin")
    api.post_points(OTHER, "500.00", "FRAUD-b2")
    at = datetime(2026, 11, 2, 10, tzinfo=TZ)
    squatter = Event("reverse:FRAUD-b2", OTHER, "bill", at, at.date(), amount_fen=1)
    assert post_events(api.engine, [squatter]).posted == 1
    before = balance(admin, OTHER)
    err = assert_envelope(admin.post("/api/events/FRAUD-b2/reverse"), 409, "reversal_id_taken")
    assert "FRAUD-b2 was not reversed" in err["message"]
    assert balance(admin, OTHER) == before
    audit = admin.get("/api/audit", params={"action": "event.reverse"}).json()
    assert [e for e in audit["entries"] if e["subject"] == "FRAUD-b2"] == []
