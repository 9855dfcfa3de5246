"""Pure mechanics: lifecycle rules, referral fraud checks, leaderboard ties, streaks, lift and ROI, budget burn."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from weixi.campaigns import budget, leaderboard, referrals, stats, streaks
from weixi.campaigns.lifecycle import LifecycleError, transition
from weixi.campaigns.model import BudgetLine, Campaign, Leaderboard, RankReward, Risk, StreakReward, Window

START, END = date(2026, 7, 1), date(2026, 7, 31)


def step(action, status, actor="bob", today=date(2026, 6, 20)):
    return transition(action, status, actor, "alice", "alice", today, START, END)


def test_lifecycle_order_and_four_eyes():
    assert step("submit", "draft", "alice") == "submitted"
    assert step("approve", "submitted") == "approved"
    with pytest.raises(LifecycleError, match="another person must approve"):
        step("approve", "submitted", "alice")
    with pytest.raises(LifecycleError, match="cannot start a campaign that is draft; next step: submit"):
        step("start", "draft")
    with pytest.raises(LifecycleError, match="window ended on 2026-07-31"):
        step("start", "approved", today=date(2026, 8, 1))
    assert step("reject", "submitted") == "draft"
    assert step("close", "running", today=date(2026, 8, 1)) == "closed"
    assert step("evaluate", "closed") == "evaluated"


def test_referral_fraud_checks():
    fp = lambda v: referrals.fingerprint(b"k", "phone", v)  # noqa: E731
    assert fp("138 0000 0000") == fp("13800000000") != fp("13800000001")
    me = referrals.Identity("new", phone=fp("13800000000"), device="d1")
    found = referrals.flags(
        "old", me, [referrals.Identity("old", phone=fp("13800000000"))], [referrals.Identity("other", device="d1")], {}
    )
    assert found == ["same phone as the referrer", "same device as other, also referred by old"]
    assert referrals.flags("x", referrals.Identity("x"), [], [], {}) == ["self-referral: the referee is the referrer"]
    ring = referrals.flags("c", referrals.Identity("a"), [], [], {"b": "a", "c": "b"})
    assert ring == ["referral ring: a → b → c → a"]
    assert referrals.flags("c", referrals.Identity("d"), [], [], {"b": "a", "c": "b"}) == []
    code = referrals.code_for(b"k", "camp", "m1")
    assert (
        len(code) == 8 and set(code) <= set(referrals.CODE_ALPHABET) and code != referrals.code_for(b"k", "camp", "m2")
    )


def test_leaderboard_ties_share_a_rank_and_its_reward():
    board = Leaderboard(3, (RankReward(1, 1, 100), RankReward(2, 3, 50)))
    rows = leaderboard.rank(board, [("a", 90), ("b", 70), ("c", 70), ("d", 70), ("e", 10), ("z", 0)])
    assert [(r.rank, r.member_id, r.reward) for r in rows] == [(1, "a", 100), (2, "b", 50), (2, "c", 50), (2, "d", 50)]


def test_streaks():
    days = [START + timedelta(days=i) for i in (0, 1, 2, 4, 5, 6, 7, 8, 9, 10)]
    assert streaks.longest_run(days) == 7
    assert streaks.rewards_for(7, (StreakReward(7, 100), StreakReward(21, 500))) == [StreakReward(7, 100)]


def test_lift_interval_and_roi_are_exact_decimals():
    # treatment: 100 members spending 0 or 200 fen alternately; control: 100 members at 0 or 100 fen
    t = stats.Group(100, 50 * 200, 50 * 200 * 200)
    c = stats.Group(100, 50 * 100, 50 * 100 * 100)
    lift = stats.lift(t, c)
    assert lift.difference == 50 and lift.relative == 1  # 100 vs 50 fen a member: +100%
    assert lift.low < 50 < lift.high and lift.significant
    assert str(lift.high - lift.difference) == str(lift.difference - lift.low)  # symmetric
    roi = stats.roi(lift, "spend", Decimal("0.5"), 1000)
    assert roi.incremental_fen == 5000 and roi.margin_fen == 2500 and roi.roi == Decimal("1.5")
    none = stats.lift(t, stats.Group(0, 0, 0))
    assert none.low is None and "no control group" in none.note


def test_budget_burn_values_points_at_the_cost_per_point():
    c = Campaign("c", "C", Window(START, END), budget=(BudgetLine("gifts", 100_000), BudgetLine("points", 0, 150_000)))
    rows = budget.burn(c, Decimal("1"), {"gifts": 25_000, "venue": 500}, 10_830)
    by = {r.line: r for r in rows}
    assert by["points"].planned_fen == 150_000 and by["points"].actual_fen == 10_830
    assert by["gifts"].burn == Decimal("0.25") and by["venue"].planned_fen == 0  # spent without a budget line
    assert budget.points_fen(3, Decimal("0.5")) == 2  # half up
    matrix = budget.risk_matrix((Risk("x", "safety", "d", 3, 4),))
    assert matrix[2][3] == ["x"] and Risk("x", "safety", "d", 3, 4).level == "medium"
