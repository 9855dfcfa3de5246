"""A campaign's closing awards in the member's history are said in the reader's language (issue 18 §2, "On a
Chinese page: no snake_case code, no English sentence"): the leaderboard's, the check-in streaks' and the referrals'
points keep a code and its parameters in the ledger (``weixi.campaigns.closing``, ``referral_service``), and member
360 and /me render them in Chinese or English with the campaign's own name; notes stored as English sentences before
keep rendering, in either language."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.console import operator as op
from tests.console.test_lottery_notes import english, history_row
from weixi.adapters.sql import execute
from weixi.campaigns import referral_service as referrals
from weixi.campaigns import service
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.members.member360 import history_details, ledger_note

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(ZONE).date()
CID = "close-awards"
NAME = f"夏日冲榜 {CID}"
REFEREE = "N0000000001"  # a new member who joins through MEMBER's code


def at(days_ago: int, hour: int = 10) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), ZONE)


def campaign_text() -> str:
    """Three days ended yesterday: the top earner wins 1,000 points, a 2-day check-in streak 70, an invitation 300 to
    the referrer and 100 to the new member."""
    return f"""kind: campaign
campaign: {CID}
name: {NAME}
window: {{from: {TODAY - timedelta(days=3)}, to: {TODAY - timedelta(days=1)}}}
objectives:
  - {{id: people, metric: participants, target: 2}}
audience:
  source: list
  members: [{op.MEMBER}, {op.OTHER}]
budget:
  - {{line: points, points: 10000}}
leaderboard: {{top: 1, rewards: [{{rank: 1, points: 1000}}]}}
checkin_streaks: [{{days: 2, points: 70}}]
referral: {{referrer_points: 300, referee_points: 100}}
"""


def event(event_id: str, member: str, kind: str, days_ago: int, amount_fen: int | None = None) -> Event:
    when = at(days_ago)
    return Event(event_id, member, kind, when, when.date(), amount_fen)


def closed_campaign(app) -> dict[str, str]:
    """The campaign run and closed the real way; the award event ids by what they are."""
    engine = app.state.engine
    service.create(engine, campaign_text(), f"{CID}.yaml", "analyst", now=at(4))
    service.act(engine, CID, "submit", "analyst", now=at(4))
    service.act(engine, CID, "approve", "admin", now=at(4))
    service.act(engine, CID, "start", "admin", now=at(3, 9))
    code = referrals.code(engine, CID, op.MEMBER, now=at(3))["code"]
    assert referrals.refer(engine, CID, code, REFEREE, now=at(2))["status"] == "pending"
    posted = post_events(
        engine,
        [
            event("award-bill-1", op.MEMBER, "bill", 2, 150_000),
            event("award-bill-2", op.OTHER, "bill", 2, 10_000),
            *(event(f"award-checkin-{d}", op.MEMBER, "checkin", d) for d in (3, 2, 1)),
            event("award-signup", REFEREE, "signup", 2),
            event("award-paid", REFEREE, "bill", 2, 5_000),
        ],
    )
    assert not posted.rejected, posted.rejected
    service.act(engine, CID, "close", "admin", now=at(0, 9))
    with engine.connect() as conn:
        status = dict(execute(conn, "SELECT event_id, status FROM campaign_awards WHERE campaign_id = ?", [CID]))
    ids = {
        "board": f"campaign:{CID}:board:{op.MEMBER}",
        "streak": f"campaign:{CID}:streak:2:{op.MEMBER}",
        "referrer": f"campaign:{CID}:referral:{REFEREE}:referrer",
        "referee": f"campaign:{CID}:referral:{REFEREE}:referee",
    }
    assert status == {eid: "posted" for eid in ids.values()}
    return ids


def stored_reasons(engine, event_ids) -> dict[str, str]:
    marks = ", ".join("?" for _ in event_ids)
    with engine.connect() as conn:
        rows = execute(conn, f"SELECT event_id, attrs FROM events WHERE event_id IN ({marks})", list(event_ids))
    return {eid: json.loads(attrs)["reason"] for eid, attrs in rows}


def stored_note(reason: str) -> dict:
    prefix, note = reason.split(": ", 1)  # the award's note behind "campaign <id>: "
    assert prefix == f"campaign {CID}"
    return json.loads(note)


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_closing_and_referral_awards_are_stored_as_codes_and_said_in_each_language(console, app):
    engine = app.state.engine
    ids = closed_campaign(app)
    reasons = stored_reasons(engine, ids.values())
    with engine.connect() as conn:  # what the plan credited in the window (the bill, the check-ins): the board's
        sql = "SELECT sum(points) FROM journal WHERE member_id = ? AND kind = 'earn' AND day >= ? AND day <= ?"
        earned = int(execute(conn, sql, [op.MEMBER, TODAY - timedelta(days=3), TODAY - timedelta(days=1)])[0][0])
    shown = f"{earned:,}"
    # codes and parameters, not sentences
    assert stored_note(reasons[ids["board"]]) == {
        "note": "campaign_leaderboard",
        "campaign": CID,
        "rank": 1,
        "points": earned,
    }
    assert stored_note(reasons[ids["streak"]]) == {"note": "campaign_streak", "campaign": CID, "days": 2, "longest": 3}
    assert stored_note(reasons[ids["referrer"]]) == {
        "note": "campaign_referral",
        "campaign": CID,
        "referee": REFEREE,
        "role": "referrer",
    }
    assert stored_note(reasons[ids["referee"]])["role"] == "referee"
    assert ledger_note({"reason": reasons[ids["board"]]}) == {
        "code": "campaign_leaderboard",
        "campaign_id": CID,
        "rank": 1,
        "points": earned,
    }
    assert ledger_note({"reason": reasons[ids["streak"]]}) == {
        "code": "campaign_streak",
        "campaign_id": CID,
        "days": 2,
        "longest": 3,
    }
    assert ledger_note({"reason": reasons[ids["referee"]]}) == {
        "code": "campaign_referral",
        "campaign_id": CID,
        "role": "referee",
    }
    details = history_details(engine, op.MEMBER)["events"]
    assert details[ids["board"]]["note"]["campaign"] == NAME and details[ids["board"]]["reason"] is None

    zh = console("admin").get(f"/members/{op.MEMBER}").text
    assert history_row(zh, ids["board"]).endswith(f"「{NAME}」排行榜第 1 名（获得 {shown} 积分）")
    assert history_row(zh, ids["streak"]).endswith(f"「{NAME}」连续签到 2 天")
    assert history_row(zh, ids["referrer"]).endswith(f"「{NAME}」推荐新会员奖励")
    seen = text_of(zh)  # what a person reads (the event ids stay in the rows' titles)
    assert "campaign_" not in seen and f"campaign {CID}" not in seen and REFEREE not in seen
    en = english(console, "admin").get(f"/members/{op.MEMBER}").text
    assert history_row(en, ids["board"]).endswith(f"leaderboard rank 1 of {NAME} ({shown} points earned)")
    assert history_row(en, ids["streak"]).endswith(f"2-day check-in streak in {NAME}")
    assert history_row(en, ids["referrer"]).endswith(f"inviting a new member in {NAME}")
    assert "campaign_" not in text_of(en) and REFEREE not in text_of(en)

    # the new member's own points for joining by the invitation, on their page
    assert history_row(console("admin").get(f"/members/{REFEREE}").text, ids["referee"]).endswith(
        f"「{NAME}」受邀入网奖励"
    )
    referee_en = english(console, "admin").get(f"/members/{REFEREE}").text
    assert history_row(referee_en, ids["referee"]).endswith(f"joining by invitation in {NAME}")

    me = text_of(console("member").get("/me").text)
    assert f"「{NAME}」排行榜第 1 名（获得 {shown} 积分）" in me
    assert f"「{NAME}」连续签到 2 天" in me and f"「{NAME}」推荐新会员奖励" in me
    assert "campaign_" not in me and '{"note"' not in me
    me_en = text_of(english(console, "member").get("/me").text)
    assert f"leaderboard rank 1 of {NAME} ({shown} points earned)" in me_en
    assert f"2-day check-in streak in {NAME}" in me_en and f"inviting a new member in {NAME}" in me_en


def test_old_english_award_notes_keep_rendering_on_member_360_and_me(console, app):
    """Before the codes, closing.py wrote "leaderboard rank 1 (300 points earned)" and "2-day check-in streak
    (longest 3)", referral_service.py "referral of <referee> (referrer)", each behind "campaign <id>: "."""
    engine = app.state.engine
    service.create(engine, campaign_text(), f"{CID}.yaml", "analyst", now=at(4))
    when = at(1)
    old = {
        f"campaign:{CID}:board:{op.MEMBER}": "leaderboard rank 2 (800 points earned)",
        f"campaign:{CID}:streak:2:{op.MEMBER}": "2-day check-in streak (longest 5)",
        f"campaign:{CID}:referral:{REFEREE}:referrer": f"referral of {REFEREE} (referrer)",
    }
    events = [
        Event(eid, op.MEMBER, "adjust", when, when.date(), points=10, attrs={"reason": f"campaign {CID}: {note}"})
        for eid, note in old.items()
    ]
    assert not post_events(engine, events).rejected
    board, streak, referral = old
    zh = console("admin").get(f"/members/{op.MEMBER}").text
    assert history_row(zh, board).endswith(f"「{NAME}」排行榜第 2 名（获得 800 积分）")
    assert history_row(zh, streak).endswith(f"「{NAME}」连续签到 2 天")
    assert history_row(zh, referral).endswith(f"「{NAME}」推荐新会员奖励")
    assert "points earned" not in text_of(zh) and f"campaign {CID}:" not in text_of(zh)
    en = english(console, "admin").get(f"/members/{op.MEMBER}").text
    assert history_row(en, board).endswith(f"leaderboard rank 2 of {NAME} (800 points earned)")
    assert history_row(en, streak).endswith(f"2-day check-in streak in {NAME}")
    me = text_of(console("member").get("/me").text)
    assert f"「{NAME}」排行榜第 2 名（获得 800 积分）" in me and f"「{NAME}」推荐新会员奖励" in me
    assert "points earned" not in me and "referral of" not in me
    me_en = text_of(english(console, "member").get("/me").text)
    assert f"2-day check-in streak in {NAME}" in me_en


def test_an_award_code_without_its_parameters_is_not_read_as_one():
    assert ledger_note({"reason": 'campaign x: {"note":"campaign_streak","days":2,"longest":4}'}) == {
        "code": "campaign_streak",
        "campaign_id": "x",
        "days": 2,
        "longest": 4,
    }
    assert ledger_note({"reason": 'campaign x: {"note":"campaign_leaderboard","rank":1}'}) is None  # no points
    assert ledger_note({"reason": 'campaign x: {"note":"campaign_referral"}'}) is None  # no role
    assert ledger_note({"reason": 'campaign x: {"note":"campaign_unknown","rank":1}'}) is None
    assert ledger_note({"reason": 'campaign x: ["campaign_streak"]'}) is None


def test_the_apis_statement_gives_an_award_note_as_its_code_and_parameters(console, app):
    ids = closed_campaign(app)
    lines = console("admin").get(f"/api/members/{op.MEMBER}/statement").json()["lines"]
    board = next(line for line in lines if line["event"] == ids["board"])
    assert board["campaign_note"]["code"] == "campaign_leaderboard" and board["campaign_note"]["rank"] == 1
    assert not any("campaign_note" in line for line in lines if line["kind"] == "earn")  # a bill's rule note stays
