"""Campaigns on a real database: the lifecycle, draws and their refusals, stock under racing processes,
chances bought with points, gifts, referrals with fraud checks, closing awards, evaluation and verification."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BACKENDS, ROOT
from tests.integration.helpers import event
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.campaigns import gifts, lottery_service, promotion
from weixi.campaigns import referral_service as referrals
from weixi.campaigns import report as reports
from weixi.campaigns import service as cs
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLES = ROOT / "plans" / "examples"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def campaign_text(
    members: list[str], extra: str = "", prizes: str | None = None, chances: str = "{grant: 2}", control: str = ""
) -> str:
    prizes = prizes or (
        "    - {id: gold, name: 金条, per_day: 1, value_yuan: 100}\n"
        "    - {id: pts, name: 50积分, per_day: 2, points: 50}\n"
    )
    return f"""kind: campaign
campaign: t
name: 测试活动
window: {{from: 2026-07-01, to: 2026-07-02}}
objectives:
  - {{id: people, metric: participants, target: 4}}
  - {{id: sales, metric: sales_yuan, target: 1000}}
audience:
  source: list
  members: [{", ".join(members)}]
{control}budget:
  - {{line: gifts, yuan: 500}}
  - {{line: points, points: 10000}}
lottery:
  chances: {chances}
  prizes:
{prizes}{extra}"""


def start(engine, text: str, when: str = "2026-06-20T09:00:00") -> str:
    c = cs.create(engine, text, "t.yaml", "alice", now=at(when))["campaign_id"]
    cs.act(engine, c, "submit", "alice", now=at(when))
    cs.act(engine, c, "approve", "bob", now=at(when))
    cs.act(engine, c, "start", "bob", now=at(when))
    return c


@pytest.fixture
def ledger(engine, tmp_path):
    apply_plan(engine, EXAMPLES / "telecom-points.yaml")
    post_events(engine, [event(f"b-{m}", m, "bill", "2026-06-01", 100_000) for m in ("a", "b", "c", "d", "poor")])
    return engine


def refusal(fn, *args, **kw) -> str:
    with pytest.raises(cs.CampaignError) as exc:
        fn(*args, **kw)
    return str(exc.value)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_draws_refusals_prizes_and_verification(ledger):
    engine = ledger
    c = start(engine, campaign_text(["a", "b", "c"]))
    assert "not running" not in refusal(lottery_service.draw, engine, c, "ghost", now=at("2026-07-01T10:00"))
    assert "unknown member ghost" in refusal(lottery_service.draw, engine, c, "ghost", now=at("2026-07-01T10:00"))
    assert "not in the audience" in refusal(lottery_service.draw, engine, c, "d", now=at("2026-07-01T10:00"))
    assert "window of t opens on 2026-07-01" in refusal(
        lottery_service.draw, engine, c, "a", now=at("2026-06-30T23:59")
    )
    got = [lottery_service.draw(engine, c, m, now=at("2026-07-01T10:00")) for m in ("a", "b", "c")]
    assert sorted(d["prize_id"] for d in got) == ["gold", "pts", "pts"]  # the day's box held exactly 3 tickets
    assert "no prizes left today (2026-07-01): all 3 tickets" in refusal(
        lottery_service.draw, engine, c, "a", now=at("2026-07-01T11:00")
    )
    lottery_service.draw(engine, c, "a", now=at("2026-07-02T10:00"))  # a new day, a new box
    assert "no chances left: member a holds 2 (2 granted), used 2" in refusal(
        lottery_service.draw, engine, c, "a", now=at("2026-07-02T11:00")
    )
    assert "ended on 2026-07-02" in refusal(lottery_service.draw, engine, c, "b", now=at("2026-07-03T10:00"))
    again = lottery_service.draw(engine, c, "b", now=at("2026-07-02T10:05"), request_id="r1")
    assert (
        lottery_service.draw(engine, c, "b", now=at("2026-07-02T10:06"), request_id="r1")["seq"] == again["seq"]
    )  # idempotent
    # points prizes are credited through the ledger, once
    for d in got + [again]:
        if d["prize_id"] == "pts":
            assert execute_rows(
                engine, f"SELECT points FROM journal WHERE event_id = 'campaign:t:draw:{d['seq']}'"
            ) == [50]
    assert "not revealed" in refusal(reports.verify_draws, engine, c)
    cs.act(engine, c, "close", "bob", now=at("2026-07-03T09:00"))
    assert reports.verify_draws(engine, c) == {
        "campaign_id": "t",
        "ok": True,
        "draws": 5,
        "commitment": cs.summary(engine, c)["commitment"],
        "problems": [],
    }
    with engine.begin() as conn:  # someone edits a recorded prize: the replay finds it
        execute(
            conn,
            "UPDATE campaign_draws SET prize_id = ? WHERE campaign_id = ? AND seq = 1",
            ["gold" if got[0]["prize_id"] != "gold" else "pts", c],
        )
    checked = reports.verify_draws(engine, c)
    assert not checked["ok"] and "draw 1 on 2026-07-01" in checked["problems"][0]["message"]
    assert verify(engine)[0] == []


def _racer(url, member, barrier, results):
    engine = make_engine(url)
    barrier.wait()
    try:
        results.put(("ok", member, lottery_service.draw(engine, "t", member, now=at("2026-07-01T10:00"))["prize_id"]))
    except cs.CampaignError as exc:
        results.put(("refused", member, str(exc)))
    except Exception as exc:  # anything else is a bug the test must show
        results.put(("error", member, repr(exc)))
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_racing_processes_never_oversell_the_last_prizes(db_url, ledger):
    engine = ledger
    members = [f"r{i:02d}" for i in range(16)]
    start(engine, campaign_text(members))  # 3 tickets a day, 16 members with 2 chances each
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(16), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(db_url, m, barrier, results)) for m in members]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [o for o in outcomes if o[0] == "error"] == []
    won = sorted(o[2] for o in outcomes if o[0] == "ok")
    assert won == ["gold", "pts", "pts"]
    assert sum("no prizes left today" in o[2] for o in outcomes if o[0] == "refused") == 13
    assert all(r["issued"] <= r["quantity"] for r in lottery_service.stock(engine, "t"))
    seqs = execute_rows(engine, "SELECT seq FROM campaign_draws WHERE campaign_id = 't' ORDER BY seq")
    assert seqs == [1, 2, 3]
    cs.act(engine, "t", "close", "bob", now=at("2026-07-03T09:00"))
    assert reports.verify_draws(engine, "t")["ok"]


def execute_rows(engine, sql, params=()):
    with engine.connect() as conn:
        return [r[0] for r in execute(conn, sql, params)]


def balance(engine, member):
    return int(execute_rows(engine, "SELECT balance FROM members WHERE member_id = ?", [member])[0])


def test_chances_from_spend_and_bought_with_points(ledger):
    engine = ledger
    text = campaign_text(
        ["a", "poor"],
        chances="{per_yuan: 100, buy_points: 40}",
        prizes="    - {id: pts, name: P, per_day: 50, points: 5}\n",
    )
    c = start(engine, text)
    post_events(engine, [event("bx", "a", "bill", "2026-07-01", 25_050)])  # 250.50 yuan: 2 chances
    assert lottery_service.chances(engine, c, "a")["from_spend"] == 2
    before = balance(engine, "a")
    bought = lottery_service.buy_chances(engine, c, "a", 2, request_id="k1", now=at("2026-07-01T10:00"))
    assert bought["left"] == 4 and balance(engine, "a") == before - 80
    lottery_service.buy_chances(
        engine, c, "a", 2, request_id="k1", now=at("2026-07-01T10:00")
    )  # a retry: no second charge
    assert balance(engine, "a") == before - 80 and lottery_service.chances(engine, c, "a")["left"] == 4
    post_events(engine, [event("spend-all", "poor", "adjust", "2026-07-01", points=-balance(engine, "poor"))])
    assert "not enough points" in refusal(lottery_service.buy_chances, engine, c, "poor", 1, now=at("2026-07-01T10:00"))


def test_gifts_stock_and_per_member_limit(ledger):
    engine = ledger
    text = campaign_text(
        ["a", "b", "c"], extra="gifts:\n  - {id: tea, name: 茶具, stock: 3, per_member: 2, value_yuan: 50}\n"
    )
    c = start(engine, text)
    gifts.claim_gift(engine, c, "a", "tea", 2, by="clerk", now=at("2026-07-01T10:00"))
    assert "already has 2 of tea: the limit is 2" in refusal(
        gifts.claim_gift, engine, c, "a", "tea", 1, by="clerk", now=at("2026-07-01T10:00")
    )
    assert "stock: tea has 1 left, asked 2" in refusal(
        gifts.claim_gift, engine, c, "b", "tea", 2, by="clerk", now=at("2026-07-01T10:00")
    )
    gifts.claim_gift(engine, c, "b", "tea", 1, by="clerk", now=at("2026-07-01T10:00"))
    report = reports.evaluate(engine, c)
    gift_line = next(l for l in report["budget"]["lines"] if l["line"] == "gifts")
    assert gift_line["actual_yuan"] == "150.00"  # 3 x 50 yuan


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_referrals_fraud_review_and_rewards(ledger):
    engine = ledger
    text = campaign_text(["a", "b", "c"], extra="referral: {referrer_points: 300}\n")
    c = start(engine, text)
    code_a = referrals.code(engine, c, "a", phone="13800000001", now=at("2026-06-20T09:00"))["code"]
    code_b = referrals.code(engine, c, "b", now=at("2026-06-20T09:00"))["code"]
    assert (
        referrals.refer(engine, c, code_a, "n1", phone="13900000001", device="dev-1", now=at("2026-07-01T10:00"))[
            "status"
        ]
        == "pending"
    )
    farm = referrals.refer(engine, c, code_a, "n2", device="dev-1", now=at("2026-07-01T10:00"))
    assert farm["status"] == "review" and farm["flags"] == ["same device as n1, also referred by a"]
    twin = referrals.refer(engine, c, code_a, "n3", phone="138 0000 0001", now=at("2026-07-01T10:00"))
    assert twin["flags"] == ["same phone as the referrer"]
    assert "already referred by a" in refusal(referrals.refer, engine, c, code_b, "n1", now=at("2026-07-01T10:00"))
    assert "unknown referral code" in refusal(referrals.refer, engine, c, "NOPE1234", "n9", now=at("2026-07-01T10:00"))
    # n1 registers and pays: qualified and clean -> 300 points to a; n2 waits in review
    post_events(
        engine,
        [
            event("s-n1", "n1", "signup", "2026-07-01"),
            event("p-n1", "n1", "bill", "2026-07-01", 1000),
            event("s-n2", "n2", "signup", "2026-07-01"),
            event("p-n2", "n2", "bill", "2026-07-01", 1000),
        ],
    )
    before = balance(engine, "a")
    assert referrals.settle(engine, c)["rewarded"] == 1
    assert balance(engine, "a") == before + 300
    assert [r["referee_id"] for r in referrals.queue(engine, c, "review")] == ["n2", "n3"]
    assert "another person must review" in refusal(referrals.review, engine, c, "n2", True, "a")
    assert referrals.review(engine, c, "n2", True, "auditor")["status"] == "rewarded"
    assert referrals.review(engine, c, "n3", False, "auditor", "same person")["status"] == "rejected"
    assert balance(engine, "a") == before + 600
    assert reports.evaluate(engine, c)["objectives"][0]["actual"] == "4"  # a, n1, n2, n3 took part


def test_close_awards_leaderboard_and_streaks_and_evaluation(ledger):
    engine = ledger
    text = campaign_text(
        ["a", "b", "c", "d"],
        control='  control: {share: "0.3"}\n',
        extra="leaderboard: {top: 2, rewards: [{rank: 1, points: 1000}, {rank: 2, points: 500}]}\n"
        "checkin_streaks: [{days: 2, points: 70}]\n",
    )
    c = start(engine, text)
    treatment = [m for m in "abcd" if not cs.control_group("t", m, cs.Decimal("0.3"))]
    post_events(
        engine,
        [event(f"x{m}", m, "bill", "2026-07-01", 100_000 * (i + 1)) for i, m in enumerate("abcd")]
        + [event(f"k{m}{d}", m, "checkin", f"2026-07-0{d}") for m in treatment[:1] for d in (1, 2)],
    )
    board = reports.leaderboard(engine, c)["rows"]
    assert [r["member_id"] for r in board] == sorted(treatment, key=lambda m: -"abcd".index(m))[:2]
    cs.act(engine, c, "close", "bob", now=at("2026-07-03T09:00"))
    awards = execute_rows(engine, "SELECT event_id || ':' || status FROM campaign_awards ORDER BY event_id")
    assert f"campaign:t:board:{board[0]['member_id']}:posted" in awards
    assert f"campaign:t:streak:2:{treatment[0]}:posted" in awards
    cs.act(engine, c, "evaluate", "carol", now=at("2026-07-04T09:00"))
    rep = reports.report(engine, c)
    assert rep["frozen"] and rep["status"] == "evaluated"
    assert rep["audience"]["treatment"] == len(treatment) and rep["audience"]["control"] == 4 - len(treatment)
    assert rep["points"]["by_source"]["leaderboard"] == 1500 and rep["points"]["by_source"]["streak"] == 70
    assert [s["action"] for s in rep["steps"]] == ["create", "submit", "approve", "start", "close", "evaluate"]
    assert [s["by"] for s in rep["steps"]][-1] == "carol"
    html_out = Path(engine.url.database).parent / "f.csv" if engine.url.database else None
    if html_out:
        got = reports.follow_ups(engine, c, html_out)
        assert got["tasks"] == 0  # this campaign has no follow-ups


def test_awards_are_never_dated_into_a_month_the_close_has_closed(ledger):
    """A leaderboard award is dated the campaign's last day, unless the monthly close has closed that month: its
    snapshot and balances are final, so the award is credited on the day it is posted (``weixi verify --data``
    found closed snapshots that no longer matched the ledger when awards were dated back into them)."""
    from weixi.adapters.ledger_repo import mark_closed
    from weixi.campaigns.awards import award_day
    from weixi.campaigns.store import campaign_today, parsed

    engine = ledger
    extra = "leaderboard: {top: 1, rewards: [{rank: 1, points: 1000}]}\n"
    c = start(engine, campaign_text(["a", "b"], extra=extra))
    post_events(engine, [event("xa", "a", "bill", "2026-07-01", 300_000), event("xb", "b", "bill", "2026-07-01", 1)])
    with engine.begin() as conn:
        mark_closed(conn, "2026-07", at("2026-08-02T09:00"))
    cs.act(engine, c, "close", "bob", now=at("2026-08-05T09:00"))
    days = execute_rows(engine, "SELECT day FROM events WHERE event_id LIKE 'campaign:t:board:%'")
    camp = parsed(*execute_rows_pair(engine, c))
    assert [str(d)[:10] for d in days] == [str(campaign_today(camp))]  # not 2026-07-02
    assert verify(engine)[0] == []
    window_end = camp.window.end  # 2026-07-02
    assert award_day(camp, None, today=window_end.replace(day=20)) == window_end  # month open: its last day
    assert str(award_day(camp, window_end.replace(day=31), today=window_end.replace(month=8, day=5))) == "2026-08-05"
    # closed through a month whose end is after today (a clock behind the close): the first open day
    assert str(award_day(camp, window_end.replace(day=31), today=window_end.replace(day=10))) == "2026-08-01"


def execute_rows_pair(engine, campaign_id):
    with engine.connect() as conn:
        return execute(conn, "SELECT content, source FROM campaigns WHERE campaign_id = ?", [campaign_id])[0]


def test_promotion_goes_through_the_outbox_within_the_contact_policy(ledger, tmp_path):
    from tests.e2e.cli_helpers import weixi
    from weixi.operations import service as operations

    engine = ledger
    data = tmp_path / "data"
    weixi("generate", "--members", "12", "--months", "1", "--seed", "3", "--out", data)
    members = [f"M{i:010d}" for i in range(1, 7)]
    channel = (
        'channels:\n  - {id: invite, channel: sms, send_on: 2026-06-30, template: "{name}您好,{campaign}7月1日开始"}\n'
    )
    c = start(engine, campaign_text(members, extra=channel))
    operations.record_consent(
        engine, members[0], "opt_out", "sms", "marketing", "SMS reply TD", at=at("2026-06-01T09:00")
    )
    early = promotion.promote(engine, c, data, now=at("2026-06-29T10:00"))
    assert early["channels"] == [] and early["queued"] == 0  # not due before send_on
    sent = promotion.promote(engine, c, data, now=at("2026-06-30T10:00"))
    assert sent["queued"] == 5 and sent["blocked"] == {"opt_out": 1}
    again = promotion.promote(engine, c, data, now=at("2026-06-30T11:00"))
    assert again["queued"] == 0 and again["already_queued"] == 5
    bodies = execute_rows(engine, "SELECT body FROM msg_outbox WHERE campaign = 't' ORDER BY member_id")
    assert len(bodies) == 5 and all(b.endswith("您好,测试活动7月1日开始") for b in bodies)
    suppressed = execute_rows(engine, "SELECT reason FROM campaign_messages WHERE status = 'suppressed'")
    assert len(suppressed) == 1 and suppressed[0].startswith("opt_out")
