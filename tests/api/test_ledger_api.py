"""The ledger through the API: post, redeem and see the balance fall, retries, cancel, reverse, statement,
check-in, expiring points, catalogue stock."""

from __future__ import annotations

from datetime import date

from tests.api.conftest import MEMBER, assert_envelope
from weixi.ledger.verify import verify


def balance(client, member=MEMBER) -> int:
    return client.get(f"/api/members/{member}/balance").json()["balance"]


def test_post_events_keeps_good_rows_and_locates_bad_ones(api):
    admin = api.client("admin")
    events = [
        {
            "event_id": "b1",
            "member_id": MEMBER,
            "type": "bill",
            "occurred_at": "2026-11-01T10:00:00+08:00",
            "amount": "128.50",
        },
        {"event_id": "b2", "member_id": MEMBER, "type": "bill", "occurred_at": "2026-11-02", "amount": "1.005"},
        {
            "event_id": "r1",
            "member_id": MEMBER,
            "type": "recharge",
            "occurred_at": "2026-11-03T12:00:00",
            "amount": "100",
        },
    ]
    r = admin.post("/api/events", json={"events": events})
    assert r.status_code == 200
    out = r.json()
    assert out["posted"] == 2 and out["plan_version"] == 1
    assert out["rejected"] == [
        {
            "index": 1,
            "event_id": "b2",
            "field": "amount",
            "reason": "amount: amount 1.005 has fractions of a fen: at most 2 decimal places",
            "code": "amount_fraction_of_fen",
            "params": {"amount": "1.005"},
        }
    ]
    again = admin.post("/api/events", json={"events": events}).json()
    assert again["posted"] == 0 and sorted(again["duplicates"]) == ["b1", "r1"]
    # 128.50 yuan at 10 yuan a point rounds down to 12; recharge 100 yuan gives 10 (the plan's rebate)
    assert balance(admin) == 22


def test_member_redeems_and_the_balance_falls_and_stock_is_taken(api):
    api.post_points(MEMBER, "25000.00", "big-bill")  # 2500 points
    member = api.client("member")
    stock_before = {r["reward_id"]: r for r in member.get("/api/catalogue").json()["rewards"]}["gift-book"]
    assert stock_before["stock_left"] == 500 and stock_before["cost"] == 2000
    r = member.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "gift-book", "request_id": "app-1"})
    assert r.status_code == 201, r.text
    red = r.json()
    assert red["points"] == 2000 and red["status"] == "fulfilled" and red["details"]["lots"] == [["big-bill", 2000]]
    assert balance(member) == 500
    stock = {r["reward_id"]: r for r in member.get("/api/catalogue").json()["rewards"]}["gift-book"]
    assert stock["stock_left"] == 499 and stock["issued"] == 1
    retry = member.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "gift-book", "request_id": "app-1"})
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert retry.json()["redemption_id"] == red["redemption_id"]
    assert balance(member) == 500
    history = member.get(f"/api/members/{MEMBER}/redemptions").json()["redemptions"]
    assert [h["redemption_id"] for h in history] == [red["redemption_id"]]
    assert member.get(f"/api/redemptions/{red['redemption_id']}").json()["points"] == 2000
    mismatches, _ = verify(api.engine)
    assert mismatches == []


def test_cancel_after_failed_fulfilment_returns_the_points(api):
    api.post_points(MEMBER, "2000.00", "b1")
    clerk = api.client("clerk")
    red = clerk.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit", "qty": 2}).json()
    assert balance(clerk) == 0
    r = clerk.post(f"/api/redemptions/{red['redemption_id']}/cancel", json={"reason": "fulfilment_failed"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert balance(clerk) == 200
    err = assert_envelope(
        clerk.post(f"/api/redemptions/{red['redemption_id']}/cancel", json={}), 409, "redemption_not_fulfilled"
    )
    assert "already cancelled" in err["message"]
    assert_envelope(clerk.post("/api/redemptions/none/cancel", json={}), 404)


def test_final_redemptions_cannot_be_cancelled_for_other_reasons(api):
    api.post_points(MEMBER, "1000.00", "b1")
    admin = api.client("admin")
    red = admin.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit"}).json()
    err = assert_envelope(
        admin.post(f"/api/redemptions/{red['redemption_id']}/cancel", json={"reason": "changed mind"}),
        409,
        "redemption_final",
    )
    assert "final" in err["message"]


def test_reverse_takes_back_what_an_event_earned_once(api):
    api.post_points(MEMBER, "500.00", "b1")
    admin = api.client("admin")
    r = admin.post("/api/events/b1/reverse")
    assert r.status_code == 200 and r.json() == {
        "event_id": "b1",
        "reversal": "reverse:b1",
        "member_id": MEMBER,
        "duplicate": False,
    }
    assert balance(admin) == 0
    assert admin.post("/api/events/b1/reverse").json()["duplicate"] is True
    assert_envelope(admin.post("/api/events/nope/reverse"), 404)
    st = admin.get(f"/api/members/{MEMBER}/statement").json()
    assert [(l["kind"], l["points"]) for l in st["lines"]][0] == ("earn", 50)
    assert st["totals"]["earned"] == 50 and st["totals"]["reversed"] == 50 and st["closing_balance"] == 0


def test_statement_period_filters_and_bad_range(api):
    api.post_points(MEMBER, "100.00", "b1")
    admin = api.client("admin")
    st = admin.get(f"/api/members/{MEMBER}/statement", params={"from": "2026-11-02"}).json()
    assert st["opening_balance"] == 10 and st["lines"] == []
    assert_envelope(
        admin.get(f"/api/members/{MEMBER}/statement", params={"from": "2026-12-01", "to": "2026-11-01"}), 422
    )


def test_checkin_once_a_day(api):
    member = api.client("member")
    first = member.post(f"/api/members/{MEMBER}/checkin")
    assert first.status_code == 201 and first.json()["points"] == 5
    again = member.post(f"/api/members/{MEMBER}/checkin")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert balance(member) == 5


def test_expiring_points_across_members(api):
    api.post_points(MEMBER, "1000.00", "b1")  # earned 2026-11-01, expires 12 months later
    api.post_points("M0000000009", "300.00", "b2")
    manager = api.client("manager")
    today = date.fromisoformat(manager.get(f"/api/members/{MEMBER}/balance").json()["at"])
    expires = date(2027, 11, 1)
    days = (expires - today).days
    assert days > 0, "the fixture's bill must still be unexpired"
    soon = manager.get("/api/lots/expiring", params={"within_days": days}).json()
    assert soon["points"] == 130 and soon["members"] == 2
    assert soon["top"][0] == {"member_id": MEMBER, "points": 100, "first_expiry": "2027-11-01", "lots": 1}
    assert manager.get("/api/lots/expiring", params={"within_days": days - 1}).json()["points"] == 0


def test_redeem_an_unknown_reward_is_404(api):
    assert_envelope(
        api.client("admin").post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "yacht"}),
        404,
        "unknown_reward",
    )


def test_plans_check_apply_and_versions(api):
    from tests.api.conftest import ROOT

    admin = api.client("admin")
    bad = admin.post("/api/plans/check", json={"text": "plan: x\nname: y\nearning: 3\n", "filename": "x.yaml"}).json()
    assert bad["ok"] is False
    assert {"file": "x.yaml", "line": 3, "column": 10, "severity": "error"}.items() <= [
        d for d in bad["diagnostics"] if d["severity"] == "error"
    ][0].items()
    err = assert_envelope(
        admin.post("/api/plans/apply", json={"text": "plan: x\n", "filename": "x.yaml"}), 422, "plan_invalid"
    )
    assert any(d["line"] == 1 and "name" in d["message"] for d in err["details"])
    text = (ROOT / "plans" / "examples" / "service-points.yaml").read_text(encoding="utf-8")
    r = admin.post("/api/plans/apply", json={"text": text, "filename": "service-points.yaml"})
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["new"] is True
    assert admin.post("/api/plans/apply", json={"text": text, "filename": "service-points.yaml"}).status_code == 200
    versions = admin.get("/api/plans/versions").json()["versions"]
    assert [(v["version"], v["active"]) for v in versions] == [(2, True), (1, False)]
    assert admin.get("/api/plans/versions/2").json()["content"] == text
    assert_envelope(admin.get("/api/plans/versions/9"), 404)
