"""Issue 16, item 6: time. Events dated after now (beyond 5 minutes of clock skew) are rejected; a spend takes
only lots earned on or before its day and not expired by then — nor by today, however far back it is dated;
an event dated in a closed month is refused; ``weixi verify`` checks the time order of every spend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.api.conftest import MEMBER, OTHER
from tests.e2e.cli_helpers import events_csv, weixi, weixi_json
from weixi.adapters.sql import execute
from weixi.close.run import close_month
from weixi.ledger.verify import verify

TZ = ZoneInfo("Asia/Shanghai")


def event(event_id: str, etype: str, when: str, member: str = MEMBER, **fields) -> dict:
    return {"event_id": event_id, "member_id": member, "type": etype, "occurred_at": when, **fields}


def balance(client, member: str = MEMBER, at: str | None = None) -> int:
    query = f"?at={at}" if at else ""
    return client.get(f"/api/members/{member}/balance{query}").json()["balance"]


def test_a_bill_dated_in_the_future_is_rejected_and_cannot_be_spent(api):
    admin = api.client("admin")
    now = datetime.now(timezone.utc)
    out = admin.post(
        "/api/events",
        json={
            "events": [
                event("future-bill", "bill", "2030-01-01T10:00:00+08:00", amount="5000.00"),
                event("later-today", "bill", (now + timedelta(hours=2)).isoformat(), amount="5000.00"),
                event("skewed", "bill", (now + timedelta(minutes=3)).isoformat(), amount="100.00"),
            ]
        },
    ).json()
    assert out["posted"] == 1  # 3 minutes ahead is clock skew
    assert [(r["event_id"], r["field"]) for r in out["rejected"]] == [
        ("future-bill", "occurred_at"),
        ("later-today", "occurred_at"),
    ]
    assert "in the future" in out["rejected"][0]["reason"]
    spend = admin.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit", "qty": 5})
    assert spend.status_code == 409
    # the skewed bill's day in the plan's zone: 3 minutes before midnight in Beijing, it is already tomorrow's bill
    skewed_day = (now + timedelta(minutes=3)).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert balance(admin, at=skewed_day) == 10


def test_a_spend_dated_back_cannot_take_points_earned_later(api):
    admin = api.client("admin")
    api.post_points(MEMBER, "1000.00", "earned-2026")  # 100 points earned 2026-11-01
    out = admin.post(
        "/api/events",
        json={
            "events": [
                event("back-2020", "redeem", "2020-01-01T10:00:00+08:00", ref="bill-credit"),
                event("back-adjust", "adjust", "2020-01-01T10:00:00+08:00", points=-100, attrs={"reason": "test"}),
            ]
        },
    ).json()
    assert out["posted"] == 0
    assert all("not enough points" in r["reason"] for r in out["rejected"]), out
    assert balance(admin) == 100


def test_points_expired_since_cannot_be_spent_by_back_dating(api):
    """A lot earned 2025-06-01 expires 2026-06-01 (months_after: 12); today is later, even if the expiry job has
    not run yet. A redemption dated 2026-05-31 must not reach it."""
    admin = api.client("admin")
    assert datetime.now(TZ).date() > datetime(2026, 6, 1).date()
    posted = admin.post(
        "/api/events",
        json={"events": [event("old-bill", "bill", "2025-06-01T10:00:00+08:00", member=OTHER, amount="1000.00")]},
    ).json()
    assert posted["posted"] == 1
    out = admin.post(
        "/api/events",
        json={"events": [event("back-redeem", "redeem", "2026-05-31T10:00:00+08:00", member=OTHER, ref="bill-credit")]},
    ).json()
    assert out["posted"] == 0 and "not enough points" in out["rejected"][0]["reason"]
    mismatches, _ = verify(api.engine)
    assert mismatches == []


def test_events_dated_in_a_closed_month_are_refused(operator_api, tmp_path):
    api = operator_api
    close_month(api.engine, api.data_dir, "2026-08")
    admin, clerk = api.client("admin"), api.client("clerk")
    out = admin.post(
        "/api/events",
        json={
            "events": [
                event("late-aug", "bill", "2026-08-20T10:00:00+08:00", amount="100.00"),
                event("last-aug", "bill", "2026-08-31T23:59:00+08:00", amount="100.00"),
                event("first-sep", "bill", "2026-09-01T00:00:00+08:00", amount="100.00"),
            ]
        },
    ).json()
    assert out["posted"] == 1
    assert [(r["event_id"], r["field"]) for r in out["rejected"]] == [
        ("late-aug", "occurred_at"),
        ("last-aug", "occurred_at"),
    ]
    assert "closed month" in out["rejected"][0]["reason"]
    # not recorded as the id's outcome: the same id dated in the open month is the correction
    fixed = clerk.post(
        "/api/events", json={"events": [event("late-aug", "bill", "2026-09-02T10:00:00+08:00", amount="100.00")]}
    ).json()
    assert fixed["posted"] == 1
    # an event of August posted before the close is still a duplicate, not a refusal
    again = admin.post(
        "/api/events", json={"events": [event("first-sep", "bill", "2026-09-01T00:00:00+08:00", amount="100.00")]}
    ).json()
    assert again["duplicates"] == ["first-sep"]
    # the CLI refuses the same rows and quarantines them
    db = api.engine.url.database
    path = events_csv(
        tmp_path / "late.csv",
        [
            ("cli-aug", MEMBER, "bill", "2026-08-05", "10.00", None, None),
            ("cli-sep", MEMBER, "bill", "2026-09-05", "10.00", None, None),
        ],
    )
    result = weixi_json("events", "post", path, db=db)
    assert (result["posted"], result["rejected"]) == (1, 1)
    assert "closed month" in result["rejections"][0]["reason"]
    # the close itself keeps working: the next month accrues and closes
    assert close_month(api.engine, api.data_dir, "2026-09")["status"] == "closed"


def test_verify_reports_a_spend_out_of_time_order(api, tmp_path):
    api.post_points(MEMBER, "1000.00", "earned-nov")
    admin = api.client("admin")
    assert admin.post("/api/redemptions", json={"member_id": MEMBER, "reward_id": "bill-credit"}).status_code == 201
    assert verify(api.engine)[0] == []
    with api.engine.begin() as conn:  # a journal written before the fix: the redemption dated 2020
        execute(conn, "UPDATE journal SET day = ? WHERE kind = 'redeem'", ["2020-01-01"])
    mismatches, _ = verify(api.engine)
    assert [(m.what, m.key) for m in mismatches] == [("spend-time", "earned-nov")]
    assert "before the lot was earned" in mismatches[0].describe()
    out = weixi("verify", db=api.engine.url.database, expect=1).output
    assert "spend-time earned-nov" in out
