"""A lottery's points in the member's history are said in the reader's language (issue 18 §2, "On a Chinese page:
no snake_case code, no English sentence"): the ledger keeps a code and its parameters for a prize won and for
chances bought (``weixi.campaigns.lottery_service``), and member 360 and /me render them in Chinese or English with
the campaign's and the prize's own names; notes stored as English sentences before keep rendering, in either
language."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.console import operator as op
from tests.console.test_campaign_pages import campaign_file
from weixi.adapters.sql import execute
from weixi.campaigns import lottery_service, service
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.members.member360 import history_details, ledger_note

ZONE = ZoneInfo("Asia/Shanghai")
CID = "points-draw"


def points_draw(app) -> str:
    """A running draw whose box holds only the 50-point prize, with chances for sale at 10 points each."""
    text = campaign_file(CID).replace("    - {id: gold, name: 金条, per_day: 1, value_yuan: 100}\n", "")
    text = text.replace(
        "{id: pts, name: 50积分, per_day: 1, points: 50}", "{id: pts, name: 50积分, per_day: 5, points: 50}"
    )
    text = text.replace("chances: {grant: 1}", "chances: {grant: 1, buy_points: 10}")
    engine = app.state.engine
    service.create(engine, text, f"{CID}.yaml", "analyst")
    service.act(engine, CID, "submit", "analyst")
    service.act(engine, CID, "approve", "admin")
    service.act(engine, CID, "start", "admin")
    return CID


def history_row(page: str, event_id: str) -> str:
    found = re.search(rf'<td class="event" title="{re.escape(event_id)}">(.*?)</td>', page, re.S)
    assert found, event_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def english(console, role):
    c = console(role)
    c.http.cookies.set("weixi_lang", "en")
    return c


def test_a_prize_and_chances_bought_are_stored_as_codes_and_said_in_each_language(console, app):
    engine = app.state.engine
    points_draw(app)
    won = lottery_service.draw(engine, CID, op.MEMBER)
    assert won["prize_id"] == "pts" and won["points"] == 50
    lottery_service.buy_chances(engine, CID, op.MEMBER, 2, request_id="buy-1")
    with engine.connect() as conn:
        rows = dict(
            execute(
                conn,
                "SELECT event_id, attrs FROM events WHERE member_id = ? AND event_id LIKE ?",
                [op.MEMBER, f"campaign:{CID}:%"],
            )
        )
    prize_event = f"campaign:{CID}:draw:{won['seq']}"
    chances_event = next(e for e in rows if ":chances:" in e)
    prize_attrs, chances_attrs = json.loads(rows[prize_event]), json.loads(rows[chances_event])
    # codes and parameters, not sentences
    assert chances_attrs == {
        "reason": "lottery_chances",
        "note": "lottery_chances",
        "campaign": CID,
        "chances": 2,
        "points_each": 10,
    }
    prefix, stored = prize_attrs["reason"].split(": ", 1)  # the award's note behind "campaign <id>: "
    assert prefix == f"campaign {CID}"
    assert json.loads(stored) == {
        "note": "lottery_prize",
        "campaign": CID,
        "seq": won["seq"],
        "prize": "pts",
        "prize_name": "50积分",
    }
    assert ledger_note(prize_attrs) == {
        "code": "lottery_prize",
        "campaign_id": CID,
        "seq": won["seq"],
        "prize": "50积分",
    }
    details = history_details(engine, op.MEMBER)["events"]
    assert details[prize_event]["note"]["campaign"] == f"周年抽奖 {CID}" and details[prize_event]["reason"] is None

    zh = console("admin").get(f"/members/{op.MEMBER}").text
    assert history_row(zh, prize_event).endswith(f"「周年抽奖 {CID}」第 {won['seq']} 次抽奖：50积分")
    assert history_row(zh, chances_event).endswith(f"「周年抽奖 {CID}」购买抽奖机会 2 次")
    assert "lottery_" not in zh and "campaign " + CID not in zh
    en = english(console, "admin").get(f"/members/{op.MEMBER}").text
    assert history_row(en, prize_event).endswith(f"lottery draw {won['seq']} of 周年抽奖 {CID}: 50积分")
    assert history_row(en, chances_event).endswith(f"2 lottery chances bought in 周年抽奖 {CID}")

    me = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", console("member").get("/me").text))
    assert f"「周年抽奖 {CID}」第 {won['seq']} 次抽奖：50积分" in me and f"「周年抽奖 {CID}」购买抽奖机会 2 次" in me
    me_en = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", english(console, "member").get("/me").text))
    assert f"lottery draw {won['seq']} of 周年抽奖 {CID}: 50积分" in me_en
    assert f"2 lottery chances bought in 周年抽奖 {CID}" in me_en


def test_notes_stored_as_english_sentences_before_keep_rendering_in_both_languages(console, app):
    """Before the codes, the award note was "draw 3: <prize>" and the chances "<n> lottery chance(s) at <p> points",
    each behind "campaign <id>: " in the ledger's reason."""
    engine = app.state.engine
    points_draw(app)
    at = datetime.now(ZONE) - timedelta(hours=1)
    old = [
        Event(
            f"campaign:{CID}:draw:7",
            op.MEMBER,
            "adjust",
            at,
            at.date(),
            points=50,
            attrs={"reason": f"campaign {CID}: draw 7: 50积分"},
        ),  # fmt: skip
        Event(
            f"campaign:{CID}:chances:old",
            op.MEMBER,
            "adjust",
            at,
            at.date(),
            points=-30,
            attrs={"reason": f"campaign {CID}: 3 lottery chance(s) at 10 points"},
        ),  # fmt: skip
        Event("staff-adjust-1", op.MEMBER, "adjust", at, at.date(), points=5, attrs={"reason": "网络故障补偿"}),
    ]
    result = post_events(engine, old)
    assert not result.rejected
    zh = console("admin").get(f"/members/{op.MEMBER}").text
    assert history_row(zh, f"campaign:{CID}:draw:7").endswith(f"「周年抽奖 {CID}」第 7 次抽奖：50积分")
    assert history_row(zh, f"campaign:{CID}:chances:old").endswith(f"「周年抽奖 {CID}」购买抽奖机会 3 次")
    assert history_row(zh, "staff-adjust-1").endswith("网络故障补偿")  # a person's reason: as written
    assert "lottery chance(s)" not in zh and f"campaign {CID}:" not in zh
    en = english(console, "admin").get(f"/members/{op.MEMBER}").text
    assert history_row(en, f"campaign:{CID}:draw:7").endswith(f"lottery draw 7 of 周年抽奖 {CID}: 50积分")
    assert history_row(en, f"campaign:{CID}:chances:old").endswith(f"3 lottery chances bought in 周年抽奖 {CID}")
    me = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", console("member").get("/me").text))
    assert f"「周年抽奖 {CID}」第 7 次抽奖：50积分" in me and "lottery chance(s)" not in me


def test_the_other_awards_english_notes_are_said_in_each_language_too(console, app):
    """The leaderboard's, streaks' and referrals' award notes as campaigns/closing.py and referral_service.py write
    them ("leaderboard rank 1 (300 points earned)", "7-day check-in streak (longest 9)", "referral of M (referrer)")."""
    engine = app.state.engine
    points_draw(app)
    at = datetime.now(ZONE) - timedelta(hours=1)
    notes = {
        f"campaign:{CID}:board:{op.MEMBER}": "leaderboard rank 1 (1200 points earned)",
        f"campaign:{CID}:streak:7:{op.MEMBER}": "7-day check-in streak (longest 9)",
        f"campaign:{CID}:referral:{op.OTHER}:referrer": f"referral of {op.OTHER} (referrer)",
    }
    events = [
        Event(eid, op.MEMBER, "adjust", at, at.date(), points=10, attrs={"reason": f"campaign {CID}: {note}"})
        for eid, note in notes.items()
    ]
    assert not post_events(engine, events).rejected
    ids = list(notes)
    zh = console("admin").get(f"/members/{op.MEMBER}").text
    assert history_row(zh, ids[0]).endswith(f"「周年抽奖 {CID}」排行榜第 1 名（获得 1,200 积分）")
    assert history_row(zh, ids[1]).endswith(f"「周年抽奖 {CID}」连续签到 7 天")
    assert history_row(zh, ids[2]).endswith(f"「周年抽奖 {CID}」推荐新会员奖励")
    en = english(console, "admin").get(f"/members/{op.MEMBER}").text
    assert history_row(en, ids[0]).endswith(f"leaderboard rank 1 of 周年抽奖 {CID} (1,200 points earned)")
    assert history_row(en, ids[1]).endswith(f"7-day check-in streak in 周年抽奖 {CID}")
    assert history_row(en, ids[2]).endswith(f"inviting a new member in 周年抽奖 {CID}")
    assert op.OTHER not in history_row(en, ids[2])  # the referee's id is not shown


def test_a_note_that_is_no_campaign_code_is_not_read_as_one():
    assert ledger_note({"reason": "campaign x: referral of M1 (referee)"}) == {
        "code": "campaign_referral",
        "campaign_id": "x",
        "role": "referee",
    }
    assert ledger_note({"reason": "campaign x: goodwill after a complaint"}) is None  # a sentence of no code
    assert ledger_note({"reason": "campaign x: {not json}"}) is None
    assert ledger_note({"reason": 'campaign x: {"note": "other"}'}) is None
    assert ledger_note({"note": "lottery_chances"}) is None  # no campaign: nothing to name
    assert ledger_note({}) is None
