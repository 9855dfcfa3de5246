"""Cancelling a campaign (issue 18 §1/§3): a campaign not yet ended is cancelled with its reason; a running one
draws, sells chances and hands out gifts no more, what it gave stays given (points in the ledger, the draws
verifiable with the seed revealed at the cancellation) and its report says cancelled, by whom and why."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.integration.test_campaigns import at, balance, campaign_text, execute_rows, ledger, start  # noqa: F401
from weixi.adapters.sql import execute
from weixi.campaigns import gifts, lottery_service
from weixi.campaigns import report as reports
from weixi.campaigns import service as cs
from weixi.campaigns.errors import CampaignError

GIFT = "gifts:\n  - {id: mug, name: 杯子, stock: 5, per_member: 1, value_yuan: 10}\n"


def code_of(fn, *args, **kw) -> tuple[str, dict]:
    with pytest.raises(CampaignError) as exc:
        fn(*args, **kw)
    return exc.value.code, exc.value.params


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_running_campaign_is_cancelled_and_what_it_gave_stays_given(ledger):  # noqa: F811
    engine = ledger
    c = start(engine, campaign_text(["a", "b", "c"], extra=GIFT, chances="{grant: 2, buy_points: 40}"))
    drawn = [lottery_service.draw(engine, c, m, now=at("2026-07-01T10:00")) for m in ("a", "b")]
    gifts.claim_gift(engine, c, "c", "mug", by="clerk", now=at("2026-07-01T10:30"))
    points = {m: balance(engine, m) for m in "abc"}

    assert code_of(cs.act, engine, c, "cancel", "bob", now=at("2026-07-01T12:00"))[0] == (
        "campaign_cancel_reason_missing"
    )
    assert code_of(cs.act, engine, c, "cancel", "bob", note="  ", now=at("2026-07-01T12:00"))[0] == (
        "campaign_cancel_reason_missing"
    )
    out = cs.act(engine, c, "cancel", "bob", note="门店装修", now=at("2026-07-01T12:00"))
    assert out["status"] == "cancelled" and out["seed"]  # the committed seed is revealed: the draws verify
    assert out["steps"][-1] | {"seq": 0} == {
        "seq": 0, "action": "cancel", "from": "running", "to": "cancelled", "by": "bob",
        "at": out["steps"][-1]["at"], "note": "门店装修",
    }  # fmt: skip

    # nothing more is drawn, bought or handed out; messages and referrals need a running campaign too
    code, params = code_of(lottery_service.draw, engine, c, "c", now=at("2026-07-01T13:00"))
    assert code == "campaign_not_running" and params["campaign_state"] == "cancelled"
    assert code_of(lottery_service.buy_chances, engine, c, "c", now=at("2026-07-01T13:00"))[0] == (
        "campaign_not_running"
    )
    assert code_of(gifts.claim_gift, engine, c, "a", "mug", by="clerk", now=at("2026-07-01T13:00"))[0] == (
        "campaign_not_running"
    )
    # what was given stays given: the prizes' points, the gift, the draws
    assert {m: balance(engine, m) for m in "abc"} == points
    assert len(execute_rows(engine, "SELECT seq FROM campaign_draws WHERE campaign_id = ?", [c])) == 2
    assert reports.verify_draws(engine, c)["ok"]

    rep = reports.report(engine, c)
    assert rep["status"] == "cancelled" and not rep["frozen"]
    assert rep["cancelled"]["by"] == "bob" and rep["cancelled"]["reason"] == "门店装修"
    assert sum(d["draws"] for d in rep["lottery"]["days"].values()) == len(drawn)
    assert rep["points"]["by_source"].get("prize", 0) == sum(50 for d in drawn if d["prize_id"] == "pts")
    assert "已取消 cancelled" in reports_html(engine, c)

    # a cancelled campaign cannot be cancelled, started, closed or evaluated
    for action in ("cancel", "start", "close", "evaluate"):
        code, params = code_of(cs.act, engine, c, action, "bob", note="again", now=at("2026-07-01T14:00"))
        assert code == "campaign_wrong_status" and params["campaign_next"] == "report", action


def test_its_messages_still_queued_are_not_sent(ledger):  # noqa: F811
    engine = ledger
    c = start(engine, campaign_text(["a", "b"]))
    with engine.begin() as conn:
        for outbox_id, member, status in ((1, "a", "sent"), (2, "b", "queued")):
            execute(
                conn,
                "INSERT INTO msg_outbox (message_id, idempotency_key, channel, recipient, member_id, body, purpose, "
                "campaign, status, attempts, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,0,?,?)",
                [outbox_id, f"campaign/t/invite/{member}", "sms", "13900000000", member, "您好", "marketing", c,
                 status, at("2026-06-30T09:00"), at("2026-06-30T09:00")],
            )  # fmt: skip
            execute(
                conn,
                "INSERT INTO campaign_messages (campaign_id, channel_id, member_id, status, outbox_id, at) "
                "VALUES (?,?,?,?,?,?)",
                [c, "invite", member, "queued", outbox_id, at("2026-06-30T09:00")],
            )
    cs.act(engine, c, "cancel", "bob", note="门店装修", now=at("2026-07-01T08:00"))
    assert execute_rows(engine, "SELECT status FROM msg_outbox ORDER BY message_id") == ["sent", "cancelled"]


def reports_html(engine, c) -> str:
    from weixi.campaigns.report_html import render

    return render(reports.report(engine, c))


def test_a_draft_or_approved_campaign_is_cancelled_and_a_closed_one_is_not(ledger):  # noqa: F811
    engine = ledger
    text = campaign_text(["a", "b"])
    draft = cs.create(engine, text, "t.yaml", "alice", now=at("2026-06-20T09:00"))["campaign_id"]
    out = cs.act(engine, draft, "cancel", "alice", note="重复创建", now=at("2026-06-20T10:00"))
    assert out["status"] == "cancelled" and out.get("seed") is None  # nothing was committed

    approved = cs.create(engine, text.replace("campaign: t", "campaign: t2"), "t2.yaml", "alice")["campaign_id"]
    cs.act(engine, approved, "submit", "alice", now=at("2026-06-20T09:00"))
    cs.act(engine, approved, "approve", "bob", now=at("2026-06-20T09:00"))
    out = cs.act(engine, approved, "cancel", "bob", note="预算取消", now=at("2026-06-21T09:00"))
    assert out["status"] == "cancelled" and out["seed"]  # the commitment was published: the seed is shown

    closed = cs.create(engine, text.replace("campaign: t", "campaign: t3"), "t3.yaml", "alice")["campaign_id"]
    for action, who in (("submit", "alice"), ("approve", "bob"), ("start", "bob")):
        cs.act(engine, closed, action, who, now=at("2026-06-20T09:00"))
    cs.act(engine, closed, "close", "bob", now=at("2026-07-03T09:00"))
    code, params = code_of(cs.act, engine, closed, "cancel", "bob", note="太晚", now=at("2026-07-04T09:00"))
    assert code == "campaign_wrong_status" and params["campaign_status"] == "closed"
