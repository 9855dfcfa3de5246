"""Issue 16, item 1: a ``request_id`` (idempotency key) belongs to the member and the operation it was sent for.

The attacks: a member sends the ``request_id`` a clerk used for another member's coupon and reads that
redemption and its coupon codes; a member burns an id first so that the clerk's real redemption under it fails
forever; the same id with another reward or quantity answers with the first redemption; a campaign draw's id
returns another member's prize and MAC. The safe answers: another member's use of the same string is a key of its
own (it neither sees nor blocks the first); the same key with another body is 409 ``request_id_reused`` and says
nothing about the first; a retry with the same body gets the same redemption (200, ``duplicate: true``).
"""

from __future__ import annotations

import pytest

from tests.api.conftest import MEMBER, OTHER, ROOT
from tests.api.test_campaigns_api import campaign_file, running
from tests.e2e.cli_helpers import weixi_json
from tests.security.conftest import assert_envelope
from weixi.adapters.writer import redeem_event
from weixi.campaigns import gifts, lottery_service
from weixi.campaigns import service as cs
from weixi.ledger import redemption
from weixi.ledger.verify import verify
from weixi.plans import service as plans

SERVICE_PLAN = ROOT / "plans" / "examples" / "service-points.yaml"  # coupon-20 (2000 points) and coupon-5 (500)


def coupon_ledger(api, points: dict[str, str]):
    plans.apply_plan(api.engine, SERVICE_PLAN)  # 1 point a yuan
    for member, yuan in points.items():
        api.post_points(member, yuan, f"bill-{member}")


def redeem(client, member: str, reward: str, request_id: str, qty: int = 1):
    return client.post(
        "/api/redemptions", json={"member_id": member, "reward_id": reward, "qty": qty, "request_id": request_id}
    )


def test_a_member_reusing_a_clerks_request_id_never_sees_that_redemption(api):
    coupon_ledger(api, {OTHER: "5000.00", MEMBER: "5000.00"})
    clerk, member = api.client("clerk"), api.client("member")
    first = redeem(clerk, OTHER, "coupon-20", "pos-2001")
    assert first.status_code == 201, first.text
    victim = first.json()
    r = redeem(member, MEMBER, "coupon-20", "pos-2001")
    assert r.status_code == 201, r.text  # the member's own key: its own redemption, its own points
    mine = r.json()
    assert mine["member_id"] == MEMBER and mine["duplicate"] is False
    assert victim["redemption_id"] not in r.text and OTHER not in r.text
    assert not set(victim["details"]["codes"]) & set(mine["details"]["codes"])
    # the clerk's retry still gets the clerk's redemption, unchanged
    again = redeem(clerk, OTHER, "coupon-20", "pos-2001")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["redemption_id"] == victim["redemption_id"]
    assert again.json()["details"]["codes"] == victim["details"]["codes"]
    assert verify(api.engine)[0] == []


def test_a_member_who_uses_an_id_first_cannot_block_the_real_redemption(api):
    coupon_ledger(api, {OTHER: "5000.00", MEMBER: "100.00"})
    member, clerk = api.client("member"), api.client("clerk")
    refused = redeem(member, MEMBER, "coupon-20", "pos-2002")  # 100 points: refused, and the refusal is final
    assert_envelope(refused, 409, "not_enough_points")
    real = redeem(clerk, OTHER, "coupon-20", "pos-2002")
    assert real.status_code == 201, real.text
    assert real.json()["member_id"] == OTHER and "not enough points" not in real.text


def test_the_same_key_with_another_body_is_409_and_reveals_nothing(api):
    coupon_ledger(api, {MEMBER: "5000.00"})
    member = api.client("member")
    first = redeem(member, MEMBER, "coupon-20", "app-9")
    assert first.status_code == 201, first.text
    codes = first.json()["details"]["codes"]
    for reward, qty in (("coupon-5", 1), ("coupon-20", 2)):
        err = assert_envelope(redeem(member, MEMBER, reward, "app-9", qty), 409, "request_id_reused")
        assert not err["details"]
        text = str(err)
        assert first.json()["redemption_id"] not in text and not any(c in text for c in codes)
        assert "coupon-20" not in err["message"]
    retry = redeem(member, MEMBER, "coupon-20", "app-9")
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicate"] is True and retry.json()["details"]["codes"] == codes
    balance = member.get(f"/api/members/{MEMBER}/balance").json()["balance"]
    assert balance == 5000 - 2000  # one redemption, whatever was sent under its key


def test_a_refused_key_with_another_body_is_409_request_id_reused(api):
    coupon_ledger(api, {MEMBER: "600.00"})
    member = api.client("member")
    err = assert_envelope(redeem(member, MEMBER, "coupon-20", "app-10"), 409, "not_enough_points")
    assert "not enough points" in err["message"]
    same = assert_envelope(redeem(member, MEMBER, "coupon-20", "app-10"), 409, "not_enough_points")
    assert same["message"] == err["message"] and same["params"] == err["params"]  # a retry gets the same answer
    other = assert_envelope(redeem(member, MEMBER, "coupon-5", "app-10"), 409, "request_id_reused")
    assert "not enough points" not in other["message"]


def test_the_cli_path_scopes_the_key_to_the_member_too(api):
    coupon_ledger(api, {OTHER: "5000.00", MEMBER: "5000.00"})
    db = api.engine.url.database
    theirs = weixi_json("redeem", OTHER, "coupon-20", "--request-id", "R-1", db=db)
    mine = weixi_json("redeem", MEMBER, "coupon-20", "--request-id", "R-1", db=db)
    assert mine["duplicate"] is False and mine["member_id"] == MEMBER
    assert mine["redemption_id"] != theirs["redemption_id"] and mine["details"]["codes"] != theirs["details"]["codes"]
    again = weixi_json("redeem", OTHER, "coupon-20", "--request-id", "R-1", db=db)
    assert again == {**theirs, "duplicate": True}
    reused = weixi_json("redeem", OTHER, "coupon-5", "--request-id", "R-1", db=db, expect=1)
    assert reused["error"]["code"] == "request_id_reused"
    assert "already used for another request" in reused["error"]["message"]
    assert theirs["redemption_id"] not in str(reused) and "coupon-20" not in str(reused)
    # the service the CLI and the console call says the same
    try:
        redemption.redeem(api.engine, OTHER, "coupon-20", qty=2, request_id="R-1")
    except redemption.RequestReused:
        pass
    else:
        raise AssertionError("the same key with another qty was accepted")


def test_a_draw_request_id_is_the_members_own(api):
    cid = running(api)
    member, clerk = api.client("member"), api.client("clerk")
    first = clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": OTHER, "request_id": "tap-1"})
    assert first.status_code == 201, first.text
    theirs = first.json()
    r = member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER, "request_id": "tap-1"})
    assert r.status_code == 201, r.text  # a draw of its own
    mine = r.json()
    assert mine["member_id"] == MEMBER and mine["seq"] != theirs["seq"]
    assert theirs["mac"] not in r.text and OTHER not in r.text
    retry = member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER, "request_id": "tap-1"})
    assert retry.status_code == 200 and retry.json()["seq"] == mine["seq"] and retry.json()["mac"] == mine["mac"]


def test_a_member_who_draws_first_with_an_id_cannot_block_another_members_draw(api):
    cid = running(api)
    member, clerk = api.client("member"), api.client("clerk")
    assert (
        member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER, "request_id": "kiosk-7"}).status_code
        == 201
    )
    r = clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": OTHER, "request_id": "kiosk-7"})
    assert r.status_code == 201, r.text
    assert r.json()["member_id"] == OTHER


def test_another_merchant_is_another_body_even_in_the_same_batch(api):
    plans.apply_plan(api.engine, ROOT / "plans" / "examples" / "merchant-points.yaml")  # 1 point a yuan
    api.post_points(MEMBER, "500.00", "seed")
    clerk = api.client("clerk")
    body = {
        "member_id": MEMBER,
        "reward_id": "merchant-spend",
        "qty": 100,
        "request_id": "till-5",
        "merchant": "heyuan-supermarket",
    }
    assert clerk.post("/api/redemptions", json=body).status_code == 201
    assert_envelope(
        clerk.post("/api/redemptions", json={**body, "merchant": "heyuan-cinema"}), 409, "request_id_reused"
    )
    # two requests under one key in one writer batch: the first redeems, the other body is refused
    committer = api.app.state.committer
    first = redeem_event(committer, MEMBER, "merchant-spend", 50, "till-6", {"merchant": "heyuan-pharmacy"})
    other = redeem_event(committer, MEMBER, "merchant-spend", 60, "till-6", {"merchant": "heyuan-pharmacy"})
    posted, refused, retried = committer.post([first, other, first])
    assert (posted.status, retried.status) == ("posted", "duplicate")
    assert refused.status == "rejected" and refused.field == "request_id" and refused.redemption is None
    assert api.client("member").get(f"/api/members/{MEMBER}/balance").json()["balance"] == 500 - 100 - 50


def test_chances_and_gifts_keys_are_the_members_own(api):
    api.post_points(MEMBER, "1000.00", "seed-a")  # 100 points each
    api.post_points(OTHER, "1000.00", "seed-b")
    text = campaign_file(extra="gifts:\n  - {id: tea, name: 茶具, stock: 5, per_member: 3, value_yuan: 50}\n")
    cid = running(api, text.replace("chances: {grant: 1}", "chances: {grant: 1, buy_points: 40}"))
    engine = api.engine
    theirs = lottery_service.buy_chances(engine, cid, OTHER, 2, request_id="k1")
    mine = lottery_service.buy_chances(
        engine, cid, MEMBER, 1, request_id="k1"
    )  # the same string: the member's own purchase
    assert (mine["duplicate"], mine["left"], mine["points"]) == (False, 2, 40)
    assert lottery_service.chances(engine, cid, OTHER)["left"] == 3 and theirs["event_id"] != mine["event_id"]
    again = lottery_service.buy_chances(engine, cid, OTHER, 2, request_id="k1")
    assert again["duplicate"] is True and again["left"] == 3
    with pytest.raises(cs.CampaignError) as exc:
        lottery_service.buy_chances(engine, cid, OTHER, 1, request_id="k1")
    assert exc.value.code == "campaign_request_id_reused"
    balances = {m: api.client("admin").get(f"/api/members/{m}/balance").json()["balance"] for m in (MEMBER, OTHER)}
    assert balances == {MEMBER: 100 - 40, OTHER: 100 - 80}

    gifts.claim_gift(engine, cid, OTHER, "tea", 2, by="clerk", request_id="g1")
    gifts.claim_gift(engine, cid, MEMBER, "tea", 1, by="clerk", request_id="g1")  # not swallowed by the other's claim
    gifts.claim_gift(engine, cid, OTHER, "tea", 2, by="clerk", request_id="g1")  # a retry hands out nothing more
    with pytest.raises(cs.CampaignError) as exc:
        gifts.claim_gift(engine, cid, OTHER, "tea", 1, by="clerk", request_id="g1")
    assert exc.value.code == "campaign_request_id_reused"
    assert {s["item"]: s["issued"] for s in lottery_service.stock(engine, cid) if s["day"] == "*"} == {"tea": 3}


def test_the_same_caller_sending_its_key_for_another_member_is_409_and_reveals_nothing(api):
    """A point-of-sale that sends ``pos-3001`` for L0002 and then, by mistake or on purpose, the same key for
    another member gets 409 ``request_id_reused``: the key names one request of that caller."""
    coupon_ledger(api, {OTHER: "5000.00", MEMBER: "5000.00"})
    clerk = api.client("clerk")
    first = redeem(clerk, OTHER, "coupon-20", "pos-3001")
    assert first.status_code == 201, first.text
    r = redeem(clerk, MEMBER, "coupon-20", "pos-3001")
    err = assert_envelope(r, 409, "request_id_reused")
    assert first.json()["redemption_id"] not in r.text and OTHER not in r.text
    assert not any(c in r.text for c in first.json()["details"]["codes"])
    # nothing was taken from the second member; another caller (the admin) may still use the string for them
    assert api.client("admin").get(f"/api/members/{MEMBER}/balance").json()["balance"] == 5000
    assert redeem(api.client("admin"), MEMBER, "coupon-20", "pos-3001").status_code == 201
    assert err["message"]
