"""Campaign files through `weixi plan check`: the seed examples load with the seeds' numbers; mistakes are located."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

import weixi.cli  # noqa: F401
from weixi.campaigns.model import Campaign
from weixi.cli.app import app
from weixi.plans.loader import load_plan, load_plan_text

EXAMPLES = Path(__file__).resolve().parents[3] / "plans" / "examples"
runner = CliRunner()


def load(name: str) -> Campaign:
    c, found = load_plan(EXAMPLES / f"{name}.yaml")
    assert found == [], [d.format() for d in found]
    assert isinstance(c, Campaign)
    return c


def check(text: str) -> list[str]:
    _, found = load_plan_text(text, "c.yaml")
    return [d.format() for d in found]


BASE = """kind: campaign
campaign: c
name: C
window: {from: 2026-07-01, to: 2026-07-31}
objectives:
  - {id: p, metric: participants, target: 100}
audience: {source: ledger}
budget:
  - {line: gifts, yuan: 100}
"""


def test_anniversary_prize_table_per_day():
    c = load("anniversary-draw")
    assert (c.window.start, c.window.end) == (date(2015, 6, 21), date(2015, 6, 22))  # 6月21日及6月22日
    table = [(p.name.split()[0], p.per_day, p.value_fen // 100) for p in c.lottery.prizes]
    assert table == [
        ("特等奖", 1, 10000),
        ("一等奖", 1, 3000),
        ("二等奖", 2, 1000),
        ("三等奖", 3, 800),
        ("四等奖", 4, 500),
        ("五等奖", 5, 350),
        ("六等奖", 6, 200),
        ("七等奖", 6, 50),
        ("回馈奖", 20, 40),
        ("幸运奖", 100, 40),
        ("纪念奖", 50, 40),
    ]
    assert len(c.lottery.prizes) == 11 and c.lottery.tickets_per_day() == 198
    assert sum(p.per_day * p.value_fen for p in c.lottery.prizes) == 2_945_000  # 29,450 yuan a day
    assert next(b for b in c.budget if b.line == "gifts").fen == 5_890_000  # two days


def test_anniversary_as_written_reports_198_against_200():
    result = runner.invoke(app, ["plan", "check", str(EXAMPLES / "seed-as-written" / "anniversary-draw.yaml")])
    assert result.exit_code == 1
    line = next(l for l in result.output.splitlines() if "daily_total" in l)
    assert ":50:16: error:" in line  # the daily_total line of the file
    assert "says 200 prizes a day but the 11 prize levels add up to 198" in line and "2 missing" in line


def test_new_customer_month_draw_per_100_yuan_and_points_rules():
    c = load("new-customer-month")
    assert c.lottery.per_yuan == 100  # 每消费100元,可获得1次抽奖机会
    assert c.points_rules == ("signup", "first-order-double")
    assert {o.metric for o in c.objectives} >= {"new_members", "repurchase_rate", "points_issued", "satisfaction"}
    assert [r.category for r in c.risks] == ["technical", "safety", "fraud", "public_opinion"]


def test_points_carnival_has_the_four_forms():
    c = load("points-carnival")  # 积分抽奖, 积分兑换 (the points plan's rewards), 积分排行榜, 积分分享
    assert c.lottery.chance_points == 200 and c.leaderboard.top == 10 and c.referral.referrer_points == 300
    assert c.leaderboard.reward_for(1) == 20000 and c.leaderboard.reward_for(3) == 10000
    assert c.leaderboard.reward_for(11) == 0
    assert c.points_rules == ("carnival-double",)


def test_midyear_gratitude_gifts_and_old_brings_new():
    c = load("midyear-gratitude")
    assert (c.window.start, c.window.end) == (date(2015, 6, 13), date(2015, 6, 30))
    assert c.gift("zongzi").stock == 200  # 80 + 100 + 20 盒
    assert c.gift("movie-tickets").value_fen == 6000 and c.gift("tea-set").value_fen == 5000  # 60元, 50元
    assert c.gift("phone-stand").per_visit == 5  # 每次领取不超过5个: per visit, not per campaign (issue 20 §9)
    assert (c.referral.referrer_gift, c.referral.referee_gift) == ("movie-tickets", "tea-set")
    assert c.referral.require_registration and not c.referral.require_payment
    assert c.channels[0].channel == "sms"


def test_all_campaign_examples_check_clean_together():
    files = [
        str(EXAMPLES / f"{n}.yaml")
        for n in (
            "anniversary-draw",
            "new-customer-month",
            "points-carnival",
            "midyear-gratitude",
            "points-carnival-points",
            "scratch-cards",
        )
    ]
    result = runner.invoke(app, ["plan", "check", *files])
    assert result.exit_code == 0, result.output


def test_located_errors():
    text = (
        BASE.replace("target: 100}", "target: 100}\n  - {id: r, metric: activity_rate, target: 60}")
        + """risks:
  - {id: x, category: safety, description: d, likelihood: 5, impact: 4}
lottery:
  chances: {}
  prizes:
    - {id: a, name: A, per_day: 1, value_yuan: 10}
    - {id: a, name: B, per_day: 2}
"""
    )
    found = check(text)
    assert any("c.yaml:7:" in f and "target 60 of a rate must be a share" in f for f in found), found
    assert any("risk 'x' is high (5 x 4 = 20): it needs a response" in f for f in found), found
    assert any("duplicate prize 'a'" in f for f in found), found
    assert any("chances: say how members get them" in f for f in found), found


def test_points_given_need_a_points_line_and_unknown_columns_are_named():
    text = (
        BASE.replace(
            "audience: {source: ledger}", "audience:\n  source: snapshot\n  where: {tier: [gold], stars: {min: 5}}"
        )
        + "leaderboard: {top: 3, rewards: [{rank: 1, points: 10}]}\n"
    )
    found = check(text)
    assert any("unknown snapshot column 'stars'" in f and "star_level" in f for f in found), found
    assert any("budget has no points line" in f for f in found), found


def test_window_and_budget_mistakes():
    found = check(BASE.replace("to: 2026-07-31", "to: 2026-06-30") + "  - {line: gifts, yuan: 5}\n")
    assert any("window ends (2026-06-30) before it starts (2026-07-01)" in f for f in found), found
    found = check(BASE + "  - {line: gifts, yuan: 5}\n")
    assert any("c.yaml:10:12: error: budget line 'gifts' appears twice" in f for f in found), found
