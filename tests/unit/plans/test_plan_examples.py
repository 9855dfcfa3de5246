"""The example plans load clean and carry the seed's numbers (seed 000_fce1d1bed68df496)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from weixi.plans.loader import load_plan
from weixi.plans.model import (
    CheckinRule,
    ExpiryRule,
    FixedRule,
    MultiplierRule,
    RechargeRule,
    ReferralRule,
    ReversalPolicy,
    RewardType,
    SpendRule,
    StreakBonus,
    TierMeasure,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "plans" / "examples"
NAMES = ["telecom-points", "service-points", "new-customer-campaign", "merchant-points"]


def load(name: str):
    plan, found = load_plan(EXAMPLES / f"{name}.yaml")
    assert found == [], [d.format() for d in found]
    return plan


def rule(plan, rule_id):
    return next(r for r in plan.earning if r.id == rule_id)


@pytest.mark.parametrize("name", NAMES)
def test_example_loads_without_errors_or_warnings(name):
    plan = load(name)
    assert plan.id == name
    assert plan.source.endswith(f"{name}.yaml")


def test_telecom_points_seed_numbers():
    plan = load("telecom-points")
    bill = rule(plan, "bill")  # 每消费10元可获得1积分
    assert isinstance(bill, SpendRule) and bill.events == ("bill",)
    assert (bill.points, bill.per_yuan) == (1, 10) and bill.rounding.value == "floor"
    recharge = rule(plan, "recharge")  # 充值100元可获得10积分
    assert isinstance(recharge, RechargeRule) and (recharge.points, recharge.block_yuan) == (10, 100)
    checkin = rule(plan, "checkin")  # 连续签到
    assert isinstance(checkin, CheckinRule) and checkin.points == 5
    assert checkin.streak == (StreakBonus(every=7, bonus=20),)
    tier_bonus = rule(plan, "tier-bonus")
    assert isinstance(tier_bonus, MultiplierRule) and tier_bonus.kind == "tier" and tier_bonus.applies_to == ("bill",)
    assert [t.multiplier for t in plan.tiers] == [1, Decimal("1.2"), Decimal("1.5"), 2]
    assert [t.name for t in plan.tiers] == ["普通会员", "银卡会员", "金卡会员", "钻石会员"]
    credit = plan.reward("bill-credit")  # 100积分兑换1元
    assert credit.type is RewardType.BILL_CREDIT and (credit.cost, credit.credit_fen) == (100, 100)
    boost = plan.reward("speed-boost")  # VIP特权: 加速上网
    assert boost.type is RewardType.PRIVILEGE and boost.duration_days == 30
    assert any(r.type is RewardType.GIFT for r in plan.rewards)
    assert (plan.expiry.rule, plan.expiry.n) == (ExpiryRule.MONTHS_AFTER, 12)
    assert plan.reversal_policy is ReversalPolicy.CLAWBACK
    assert plan.cost_per_point_fen == 1


def test_service_points_seed_numbers():
    plan = load("service-points")
    purchase = rule(plan, "purchase")  # 每消费1元可获得1积分
    assert isinstance(purchase, SpendRule) and (purchase.points, purchase.per_yuan) == (1, 1)
    survey = rule(plan, "survey")  # 每参与一次可获得50积分
    assert isinstance(survey, FixedRule) and survey.events == ("survey",) and survey.points == 50
    referral = rule(plan, "referral")  # 每成功推荐一个新客户可获得100积分
    assert isinstance(referral, ReferralRule) and referral.points == 100
    assert referral.require_registration and referral.require_payment
    share = rule(plan, "share")
    assert share.events == ("share",) and share.limit_per_day == 1
    assert rule(plan, "activity").events == ("activity",)
    assert (plan.expiry.rule, plan.expiry.n) == (ExpiryRule.MONTHS_AFTER, 24)  # 积分的有效期为两年
    assert [t.rank for t in plan.tiers] == [0, 1, 2]
    coupons = [r for r in plan.rewards if r.type is RewardType.COUPON]
    assert coupons and all(c.face_value_fen > 0 for c in coupons)


def test_new_customer_campaign_seed_numbers():
    plan = load("new-customer-campaign")
    signup = rule(plan, "signup")  # 新客户注册成功后,即可获得100积分
    assert isinstance(signup, FixedRule) and signup.events == ("signup",) and signup.points == 100
    spend = rule(plan, "spend")  # 消费金额按照1:1的比例获得积分
    assert isinstance(spend, SpendRule) and (spend.points, spend.per_yuan) == (1, 1)
    assert plan.caps == ()  # 上不封顶
    double = rule(plan, "first-order-double")  # 首单消费金额双倍积分
    assert isinstance(double, MultiplierRule) and double.kind == "first_purchase"
    assert double.multiplier == 2 and double.applies_to == ("spend",)
    lottery = plan.reward("lottery")  # 每消费100元,可获得1次抽奖机会
    assert lottery.type is RewardType.LOTTERY and (lottery.cost, lottery.chances) == (100, 1)
    gifts = [r for r in plan.rewards if r.type is RewardType.GIFT]
    assert gifts and all(g.stock and not g.refundable for g in gifts)  # 数量有限; 不可退款
    assert all(r.window.start and r.window.end for r in plan.earning)


def test_merchant_points_seed_numbers():
    plan = load("merchant-points")
    assert isinstance(rule(plan, "bill"), SpendRule)
    (merchant,) = [r for r in plan.rewards if r.type is RewardType.MERCHANT]
    assert merchant.cost == 1
    assert 2 <= len(merchant.merchants) <= 3
    assert [m.settle_fen_per_point for m in merchant.merchants] == [Decimal(1), Decimal("0.9"), Decimal("0.8")]


def test_telecom_points_tiers_and_segments_seed_numbers():
    plan = load("telecom-points")  # seed 002_d08f4bdc0e8b9d5f for tiers and segments
    policy = plan.tier_policy  # tiers by points earned, never by the balance
    assert policy.measure is TierMeasure.POINTS_EARNED and policy.window_months == 12
    assert (policy.review_months, policy.grace_months, policy.notice_days) == ((12,), 3, 30)
    assert [t.qualify for t in plan.tiers] == [None, 120, 200, 300]
    seg = plan.segments
    stars = seg.star_levels  # "对5-7星级客户": stars 1 to 7 from ARPU x tenure
    assert stars.tenure_years == (0, 1, 3, 5) and stars.rows[-1].stars[-1] == 7 and stars.rows[0].stars[0] == 1
    assert [r.arpu_fen for r in stars.rows] == [0, 5_000, 10_000, 20_000, 40_000]
    assert dict(seg.value_pyramid.cuts)["B"] == Decimal("0.8")  # "80%的销售额来自于20%的老客户"
    assert seg.activity.active.max_days_since == 30 and seg.activity.normal.max_days_since == 90
    assert [level.id for level in seg.key_accounts.levels] == ["diamond", "gold", "silver", "bronze"]  # 钻石…青铜
    assert seg.key_accounts.levels[-1].min_spend_fen is None  # 潜在客户: everyone left
