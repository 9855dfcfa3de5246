"""What the resolver builds: types, exact decimals, fen, defaults and expiry forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from weixi.plans.loader import load_plan, load_plan_text
from weixi.plans.model import (
    CheckinRule,
    ConsumptionOrder,
    Expiry,
    ExpiryRule,
    FixedRule,
    MultiplierRule,
    Period,
    RechargeRule,
    ReferralRule,
    ReversalPolicy,
    RewardType,
    Rounding,
    SpendRule,
    StreakBonus,
    Window,
)

from .helpers import load


def clean(body: str):
    plan, found = load(body)
    assert found == [], [d.format() for d in found]
    return plan


def test_decimals_are_exact_from_the_source_text():
    plan = clean("""\
        cost_per_point: 0.01
        tiers:
          - {id: a, name: A, rank: 0, multiplier: 1.1}
          - {id: b, name: B, rank: 1, multiplier: "1.20"}
          - {id: c, name: C, rank: 2, multiplier: 3}
        earning:
          - {id: bill, type: spend, points: 0.3, per_yuan: 1e1}
          - {id: tiers, type: tier_multiplier}
          - {id: camp, type: campaign, multiplier: 1.1, window: {from: 2026-01-01, to: 2026-01-31}}
        """)
    multipliers = [t.multiplier for t in plan.tiers]
    assert multipliers == [Decimal("1.1"), Decimal("1.20"), Decimal(3)]
    assert all(isinstance(m, Decimal) for m in multipliers)
    assert str(plan.tiers[0].multiplier) == "1.1"  # not 1.100000000000000088817841970012523
    bill = plan.earning[0]
    assert bill.points == Decimal("0.3") and bill.per_yuan == Decimal(10)
    assert plan.earning[2].multiplier == Decimal("1.1")
    assert plan.cost_per_point_fen == Decimal(1)


@pytest.mark.parametrize(
    "written, fen",
    [('"0.01"', Decimal(1)), ("0.01", Decimal(1)), ("1", Decimal(100)), ('"0.008"', Decimal("0.8"))],
)
def test_cost_per_point_yuan_to_fen(written, fen):
    plan = clean(f"cost_per_point: {written}\n")
    assert plan.cost_per_point_fen == fen


def test_default_cost_per_point_is_one_fen():
    assert clean("").cost_per_point_fen == Decimal(1)


def test_reward_money_in_fen():
    plan = clean("""\
        rewards:
          - {id: credit, type: bill_credit, name: 话费, cost: 100, credit_yuan: 1}
          - {id: coupon, type: coupon, name: 券, cost: 500, face_value_yuan: "5.5", code_prefix: X}
          - id: shops
            type: merchant
            name: 商户
            cost: 1
            merchants:
              - {id: a, name: A, settle_yuan_per_point: "0.008"}
              - {id: b, name: B, settle_yuan_per_point: 0.01}
        """)
    credit, coupon, shops = plan.rewards
    assert credit.type is RewardType.BILL_CREDIT and credit.credit_fen == 100
    assert coupon.face_value_fen == 550 and coupon.code_prefix == "X"
    assert [m.settle_fen_per_point for m in shops.merchants] == [Decimal("0.8"), Decimal(1)]


@pytest.mark.parametrize(
    "written, expiry",
    [
        ("never", Expiry(ExpiryRule.NEVER, 0)),
        ("{days_after: 365}", Expiry(ExpiryRule.DAYS_AFTER, 365)),
        ("{months_after: 12}", Expiry(ExpiryRule.MONTHS_AFTER, 12)),
        ("{end_of_month_after: 0}", Expiry(ExpiryRule.END_OF_MONTH_AFTER, 0)),
        ("{end_of_year_after: 1}", Expiry(ExpiryRule.END_OF_YEAR_AFTER, 1)),
    ],
)
def test_expiry_forms(written, expiry):
    plan, found = load_plan_text(f"plan: p\nname: P\nexpiry: {written}\n", "p.yaml")
    assert plan is not None
    assert plan.expiry == expiry


def test_rule_types_map_to_dataclasses_with_defaults():
    plan = clean("""\
        tiers:
          - {id: gold, name: 金卡, rank: 1, multiplier: 2}
        earning:
          - {id: bill, type: spend}
          - {id: rc, type: recharge, points: 10, per_full_yuan: 100}
          - {id: ci, type: checkin, points: 5, streak: [{every: 7, bonus: 20}, {on_day: 3, bonus: 5}]}
          - {id: act, type: action, on: [survey, share, survey], points: 50, limit: {per_day: 1, ever: 9}}
          - {id: su, type: signup, points: 100}
          - {id: bd, type: birthday, points: 88, rounding: ceil}
          - {id: ref, type: referral, points: 100, requires: [registration]}
          - {id: fp, type: first_purchase, multiplier: 2, applies_to: [bill]}
          - {id: tm, type: tier_multiplier}
          - id: camp
            type: campaign
            multiplier: 2
            window: {from: 2026-07-01, to: 2026-07-31}
            audience: {members: new}
            per_member_cap: 500
            budget: 100000
        """)
    bill, rc, ci, act, su, bd, ref, fp, tm, camp = plan.earning
    assert isinstance(bill, SpendRule) and bill.events == ("bill",) and bill.points == 1 and bill.per_yuan == 1
    assert bill.rounding is Rounding.FLOOR and bill.window == Window()
    assert isinstance(rc, RechargeRule) and rc.points == 10 and rc.block_yuan == 100 and rc.events == ("recharge",)
    assert isinstance(ci, CheckinRule) and ci.streak == (StreakBonus(every=7, bonus=20), StreakBonus(on_day=3, bonus=5))
    assert isinstance(act, FixedRule) and act.events == ("survey", "share")
    assert (act.limit_per_day, act.limit_per_month, act.limit_ever) == (1, None, 9)
    assert isinstance(su, FixedRule) and su.events == ("signup",) and su.points == 100
    assert bd.events == ("birthday",) and bd.rounding is Rounding.CEIL
    assert isinstance(ref, ReferralRule) and ref.require_registration and not ref.require_payment
    assert isinstance(fp, MultiplierRule) and fp.kind == "first_purchase" and fp.applies_to == ("bill",)
    assert fp.events == ("bill",)
    assert tm.kind == "tier" and tm.applies_to == ("bill", "rc")  # default: every spend and recharge rule
    assert camp.kind == "campaign" and camp.window == Window(date(2026, 7, 1), date(2026, 7, 31))
    assert camp.audience.new_members_only and not camp.audience.existing_members_only
    assert (camp.per_member_cap, camp.budget) == (500, 100000)
    assert [r.id for r in plan.rules_for("bill")] == ["bill"]
    assert [r.id for r in plan.multipliers()] == ["fp", "tm", "camp"]


def test_referral_requires_both_by_default():
    ref = clean("earning:\n  - {id: ref, type: referral, points: 100}\n").earning[0]
    assert ref.require_registration and ref.require_payment


def test_plan_level_values_and_reward_options():
    plan = clean("""\
        description: 描述
        timezone: Asia/Urumqi
        registration_required: true
        consumption_order: earliest_earned
        reversal_policy: debt
        tiers:
          - {id: gold, name: 金卡, rank: 2}
        caps:
          - {id: daily, per: day, max: 500}
          - {id: monthly, per: month, max: 300, rules: [survey]}
        earning:
          - {id: survey, type: action, on: [survey], points: 50}
        rewards:
          - id: lounge
            type: privilege
            name: 贵宾厅
            cost: 800
            privilege: lounge
            days: 30
            stock: 10
            limit: {per_member: 2, per_day: 1, per_month: 1}
            tiers: [gold]
            window: {from: 2026-01-01}
            refundable: true
          - {id: draw, type: lottery, name: 抽奖, cost: 100}
        """)
    assert plan.id == "p" and plan.name == "P" and plan.description == "描述"
    assert plan.timezone == "Asia/Urumqi" and plan.registration_required
    assert plan.consumption_order is ConsumptionOrder.EARLIEST_EARNED
    assert plan.reversal_policy is ReversalPolicy.DEBT
    assert [(c.id, c.period, c.max_points, c.rules) for c in plan.caps] == [
        ("daily", Period.DAY, 500, ()),
        ("monthly", Period.MONTH, 300, ("survey",)),
    ]
    lounge, draw = plan.rewards
    assert (lounge.privilege, lounge.duration_days, lounge.stock) == ("lounge", 30, 10)
    assert (lounge.limit_per_member, lounge.limit_per_day, lounge.limit_per_month) == (2, 1, 1)
    assert lounge.tiers == ("gold",) and lounge.refundable and lounge.window == Window(date(2026, 1, 1), None)
    assert draw.type is RewardType.LOTTERY and draw.chances == 1 and draw.stock is None and not draw.refundable


def test_load_plan_reads_a_file_and_sets_source(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("plan: p\nname: 方案\nexpiry: {days_after: 30}\n", encoding="utf-8")
    plan, found = load_plan(path)
    assert found == []
    assert plan.source == str(path) and plan.name == "方案"


def test_load_plan_missing_file(tmp_path):
    plan, found = load_plan(tmp_path / "nope.yaml")
    assert plan is None
    assert [(d.line, d.column, d.severity) for d in found] == [(1, 1, "error")]
    assert "cannot read" in found[0].message


def test_load_plan_not_utf8(tmp_path):
    path = tmp_path / "gbk.yaml"
    path.write_bytes("plan: p\nname: 方案\n".encode("gbk"))
    plan, found = load_plan(path)
    assert plan is None and "not UTF-8" in found[0].message
