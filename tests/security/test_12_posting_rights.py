"""Issue 16, item 12: posting rights go by event type. ``adjust`` needs ``points:adjust`` (admin), a reason
(``attrs.reason``) and leaves an audit row; ``refund`` through ``POST /api/events`` needs ``events:reverse``
(the roles that may reverse) and is audited as a reversal. The short path (weixi.api.fastpath) answers the same."""

from __future__ import annotations

from tests.api.conftest import MEMBER, OTHER, assert_envelope


def fast(api) -> int:
    return getattr(api.app.state, "fast_writes", 0)


def adjust(event_id: str, points: int, **attrs) -> dict:
    return {
        "event_id": event_id,
        "member_id": MEMBER,
        "type": "adjust",
        "occurred_at": "2026-11-05T10:00:00+08:00",
        "points": points,
        **({"attrs": attrs} if attrs else {}),
    }


def refund(event_id: str, ref: str, member: str = MEMBER) -> dict:
    return {
        "event_id": event_id,
        "member_id": member,
        "type": "refund",
        "occurred_at": "2026-11-05T10:00:00+08:00",
        "ref": ref,
    }


def balance(client, member: str = MEMBER) -> int:
    """The member's balance; 0 for a member the ledger has never seen."""
    r = client.get(f"/api/members/{member}/balance")
    return 0 if r.status_code == 404 else r.json()["balance"]


def test_a_clerk_cannot_create_points_or_reverse_events(api):
    api.post_points(OTHER, "500.00", "bill-o1")  # 50 points for OTHER; the admin token is now cached
    clerk = api.client("clerk")
    assert clerk.get("/api/auth/me").status_code == 200  # the clerk's token cached: the short path answers
    before = fast(api)
    err = assert_envelope(
        clerk.post("/api/events", json={"events": [adjust("mint", 10**9, reason="x")]}), 403, "event_type_forbidden"
    )
    assert err["details"] == [
        {
            "index": 0,
            "event_id": "mint",
            "field": "type",
            "reason": "adjust events need the points:adjust permission",
            "code": "permission_required",
            "params": {"event_type": "adjust", "permission": "points:adjust"},
        }
    ]
    err = assert_envelope(
        clerk.post(
            "/api/events",
            json={
                "events": [
                    {
                        "event_id": "ok-bill",
                        "member_id": MEMBER,
                        "type": "bill",
                        "occurred_at": "2026-11-05",
                        "amount": "10.00",
                    },
                    refund("undo-o1", "bill-o1", OTHER),
                ]
            },
        ),
        403,
        "event_type_forbidden",
    )
    assert err["details"][0]["index"] == 1 and "events:reverse" in err["details"][0]["reason"]
    assert fast(api) == before + 2
    # nothing of either request posted
    admin = api.client("admin")
    assert balance(admin) == 0 and balance(admin, OTHER) == 50
    # the full app (a clerk token not yet cached) answers the same
    fresh = api.client("clerk")
    api.app.state.auth_cache.clear()
    assert_envelope(
        fresh.post("/api/events", json={"events": [adjust("mint-2", 5, reason="x")]}), 403, "event_type_forbidden"
    )
    assert balance(admin) == 0


def test_an_admin_adjustment_needs_a_reason_and_is_audited(api):
    admin = api.client("admin")
    out = admin.post(
        "/api/events",
        json={
            "events": [
                adjust("no-reason", 100),
                adjust("blank", 100, reason=" "),
                adjust("goodwill-1", 100, reason="complaint 4411 goodwill"),
            ]
        },
    )
    assert out.status_code == 200
    body = out.json()
    assert body["posted"] == 1
    assert [(r["event_id"], r["field"]) for r in body["rejected"]] == [("no-reason", "attrs"), ("blank", "attrs")]
    assert balance(admin) == 100
    entries = admin.get("/api/audit", params={"action": "points.adjust"}).json()["entries"]
    assert [(e["username"], e["subject"], e["detail"]) for e in entries] == [
        ("admin", MEMBER, {"event_id": "goodwill-1", "points": 100, "reason": "complaint 4411 goodwill"})
    ]
    # a duplicate changes nothing and writes no second row
    admin.post("/api/events", json={"events": [adjust("goodwill-1", 100, reason="complaint 4411 goodwill")]})
    assert len(admin.get("/api/audit", params={"action": "points.adjust"}).json()["entries"]) == 1


def test_an_admin_refund_through_events_is_audited_as_a_reversal(api):
    api.post_points(OTHER, "500.00", "bill-o2")
    admin = api.client("admin")
    out = admin.post("/api/events", json={"events": [refund("refund-o2", "bill-o2", OTHER)]}).json()
    assert out["posted"] == 1
    assert balance(admin, OTHER) == 0
    entries = admin.get("/api/audit", params={"action": "event.reverse"}).json()["entries"]
    assert [(e["subject"], e["detail"]["refund"]) for e in entries] == [("bill-o2", "refund-o2")]
