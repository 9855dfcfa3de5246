"""The ledger's rules in memory (no database): earning, lots, redemption, reversal policies, caps."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from weixi.ledger.book import Book, Rejected
from weixi.ledger.events import Event
from weixi.ledger.state import RewardStock
from weixi.plans.model import (
    Cap,
    CheckinRule,
    ConsumptionOrder,
    Expiry,
    ExpiryRule,
    FixedRule,
    MultiplierRule,
    Period,
    Plan,
    RechargeRule,
    ReferralRule,
    ReversalPolicy,
    Reward,
    RewardType,
    SpendRule,
    StreakBonus,
    Tier,
    Window,
)

TZ = ZoneInfo("Asia/Shanghai")

# Seed 000 (电信积分运营方案): 每消费10元可获得1积分; 充值100元可获得10积分; 连续签到; 100积分 = 1元 话费抵扣
TELECOM = Plan(
    id="t",
    name="t",
    expiry=Expiry(ExpiryRule.MONTHS_AFTER, 12),
    tiers=(Tier("standard", "普通", 0), Tier("gold", "金卡", 2, Decimal("1.5"))),
    earning=(
        SpendRule("bill", ("bill",), points=Decimal(1), per_yuan=Decimal(10)),
        RechargeRule("recharge", ("recharge",), points=10, block_yuan=Decimal(100)),
        CheckinRule("checkin", ("checkin",), points=5, streak=(StreakBonus(every=7, bonus=20),)),
    ),
    rewards=(
        Reward("bill-credit", RewardType.BILL_CREDIT, "话费抵扣", cost=100, credit_fen=100),
        Reward("gift", RewardType.GIFT, "礼品", cost=10, stock=1, limit_per_member=1),
    ),
)


def ev(event_id, member, etype, day, amount=None, ref=None, points=None, **attrs):
    d = date.fromisoformat(day)
    fen = int(Decimal(amount) * 100) if amount is not None else None
    return Event(event_id, member, etype, datetime(d.year, d.month, d.day, 10, tzinfo=TZ), d, fen, points, ref, attrs)


def book(plan=TELECOM, **stock):
    b = Book(plan, 1)
    for reward_id, total in stock.items():
        b.s.stock[reward_id.replace("_", "-")] = RewardStock(reward_id.replace("_", "-"), total)
    return b


def balance(b, member):
    return b.s.members[member].balance


def test_bill_earns_one_point_per_ten_yuan_floored_per_bill():
    b = book()
    b.post(ev("b1", "m", "bill", "2026-01-05", "128.50"))
    b.post(ev("b2", "m", "bill", "2026-02-05", "9.99"))
    assert balance(b, "m") == 12  # 12.85 -> 12, 0.999 -> 0


def test_recharge_earns_ten_points_per_full_hundred_yuan():
    b = book()
    b.post(ev("r1", "m", "recharge", "2026-01-05", "150"))
    assert balance(b, "m") == 10  # seed: 充值100元可获得10积分; 150 yuan -> 10
    b.post(ev("r2", "m", "recharge", "2026-01-06", "200"))
    assert balance(b, "m") == 30


def test_checkin_streak_bonus_on_every_seventh_day_and_one_checkin_a_day():
    b = book()
    start = date(2026, 11, 1)
    for i in range(14):
        b.post(ev(f"c{i}", "m", "checkin", (start + timedelta(days=i)).isoformat()))
    assert balance(b, "m") == 14 * 5 + 2 * 20
    with pytest.raises(Rejected, match="already checked in"):
        b.post(ev("again", "m", "checkin", "2026-11-14"))
    b.post(ev("gap", "m", "checkin", "2026-11-20"))  # streak restarts
    assert b.s.members["m"].streak == 1


def test_lot_expires_twelve_months_after_the_day_earned():
    b = book()
    b.post(ev("b1", "m", "bill", "2026-03-15", "100"))
    (lot,) = b.changes.new_lots
    assert (lot.earned_on, lot.expires_on, lot.remaining) == (date(2026, 3, 15), date(2027, 3, 15), 10)


def test_redeem_takes_earliest_expiring_lots_first_and_records_them():
    b = book()
    b.post(ev("old", "m", "bill", "2025-06-01", "600"))  # 60, expires 2026-06-01
    b.post(ev("new", "m", "bill", "2026-01-01", "800"))  # 80, expires 2027-01-01
    b.post(ev("x", "m", "redeem", "2026-02-01", ref="bill-credit", qty=1))
    red = b.changes.redemptions[0]
    assert red.details["lots"] == [["old", 60], ["new", 40]]
    assert red.details["credit_fen"] == 100  # 100 points -> 1 yuan
    assert balance(b, "m") == 40


def test_expired_lots_cannot_be_spent_even_before_the_expiry_job_runs():
    b = book()
    b.post(ev("old", "m", "bill", "2025-01-01", "1000"))  # 100, expires 2026-01-01
    with pytest.raises(Rejected, match="not enough points: balance 0"):
        b.post(ev("x", "m", "redeem", "2026-01-01", ref="bill-credit"))


def test_rejected_redemption_changes_nothing():
    b = book()
    b.post(ev("b", "m", "bill", "2026-01-01", "500"))
    before = (balance(b, "m"), len(b.changes.entries))
    with pytest.raises(Rejected, match="needs 200"):
        b.post(ev("x", "m", "redeem", "2026-01-02", ref="bill-credit", qty=2))
    assert (balance(b, "m"), len(b.changes.entries)) == before
    assert b.changes.redemptions == [] and b.changes.coupons == []


def test_unknown_member_in_rejected_event_is_not_created():
    b = book()
    with pytest.raises(Rejected):
        b.post(ev("x", "ghost", "redeem", "2026-01-02", ref="bill-credit"))
    assert "ghost" not in b.s.members


def test_stock_and_per_member_limit():
    b = book(gift=1)
    for m in ("a", "b"):
        b.post(ev(f"b-{m}", m, "bill", "2026-01-01", "1000"))
    b.post(ev("x1", "a", "redeem", "2026-01-02", ref="gift"))
    with pytest.raises(Rejected, match="stock: gift has 0 left"):
        b.post(ev("x2", "b", "redeem", "2026-01-02", ref="gift"))
    assert b.s.stock["gift"].issued == 1


def test_duplicate_event_changes_nothing():
    b = book()
    b.post(ev("b1", "m", "bill", "2026-01-05", "100"))
    assert b.post(ev("b1", "m", "bill", "2026-01-05", "100")) == "duplicate"
    assert balance(b, "m") == 10


def test_refund_reverses_exactly_the_points_the_event_earned():
    b = book()
    b.post(ev("b1", "m", "bill", "2026-01-05", "100"))
    b.post(ev("b2", "m", "bill", "2026-01-06", "250"))
    b.post(ev("f1", "m", "refund", "2026-01-07", ref="b2"))
    assert balance(b, "m") == 10
    with pytest.raises(Rejected, match="already reversed"):
        b.post(ev("f2", "m", "refund", "2026-01-08", ref="b2"))


def test_partial_refund_reverses_pro_rata():
    b = book()
    b.post(ev("b1", "m", "bill", "2026-01-05", "200"))  # 20
    b.post(ev("f1", "m", "refund", "2026-01-07", "50", ref="b1"))  # a quarter -> 5
    assert balance(b, "m") == 15
    with pytest.raises(Rejected, match="more than its 200 yuan"):
        b.post(ev("f2", "m", "refund", "2026-01-08", "151", ref="b1"))
    b.post(ev("f3", "m", "refund", "2026-01-08", "150", ref="b1"))  # the rest -> all that is left
    assert balance(b, "m") == 0


def _spent_then_refunded(policy):
    plan = Plan(**{**TELECOM.__dict__, "reversal_policy": policy})
    b = book(plan)
    b.post(ev("b1", "m", "bill", "2026-01-05", "1000"))  # 100
    b.post(ev("b2", "m", "bill", "2026-01-06", "300"))  # 30
    b.post(ev("x", "m", "redeem", "2026-01-07", ref="bill-credit"))  # takes 100 from b1 (earlier expiry)
    b.post(ev("f", "m", "refund", "2026-01-08", ref="b1"))  # b1's 100 were spent
    return b


def test_reversal_clawback_takes_from_other_lots_then_records_debt():
    b = _spent_then_refunded(ReversalPolicy.CLAWBACK)
    m = b.s.members["m"]
    assert (m.balance, m.debt) == (0, 70)
    kinds = [e.kind for e in b.changes.entries if e.event_id == "f"]
    assert kinds == ["clawback", "debt"]


def test_reversal_negative_lets_balance_go_below_zero_and_later_earnings_fill_it():
    b = _spent_then_refunded(ReversalPolicy.NEGATIVE)
    assert balance(b, "m") == 30 - 100
    b.post(ev("b3", "m", "bill", "2026-02-01", "500"))  # 50 fills the hole
    assert balance(b, "m") == -20
    with pytest.raises(Rejected, match="not enough points"):
        b.post(ev("x2", "m", "redeem", "2026-02-02", ref="gift"))


def test_reversal_debt_keeps_balance_and_repays_from_later_earnings():
    b = _spent_then_refunded(ReversalPolicy.DEBT)
    m = b.s.members["m"]
    assert (m.balance, m.debt) == (30, 100)
    b.post(ev("b3", "m", "bill", "2026-02-01", "500"))  # 50 repays debt
    assert (m.balance, m.debt) == (30, 50)


def test_tier_multiplier_from_attrs():
    plan = Plan(
        **{
            **TELECOM.__dict__,
            "earning": TELECOM.earning + (MultiplierRule("tierx", (), kind="tier", applies_to=("bill",)),),
        }
    )
    b = book(plan)
    b.post(ev("b1", "m", "bill", "2026-01-05", "300", tier="gold"))
    assert balance(b, "m") == 45  # 30 x 1.5


def test_signup_first_purchase_double_and_campaign_cap_and_budget():
    plan = Plan(
        id="n",
        name="n",
        earning=(
            FixedRule("signup", ("signup",), points=100),
            SpendRule("spend", ("bill",), points=Decimal(1), per_yuan=Decimal(1)),
            MultiplierRule("first", (), kind="first_purchase", multiplier=Decimal(2), applies_to=("spend",)),
            MultiplierRule(
                "dbl",
                (),
                kind="campaign",
                multiplier=Decimal(2),
                window=Window(date(2026, 12, 1), date(2026, 12, 31)),
                per_member_cap=50,
                budget=70,
            ),
        ),
    )
    b = book(plan)
    b.post(ev("s", "a", "signup", "2026-11-01"))
    b.post(ev("b1", "a", "bill", "2026-11-02", "30"))  # first order doubled
    assert balance(b, "a") == 100 + 60
    b.post(ev("b2", "a", "bill", "2026-12-02", "40"))  # campaign +40
    b.post(ev("b3", "a", "bill", "2026-12-03", "40"))  # campaign +10 (per-member cap 50)
    assert balance(b, "a") == 160 + 80 + 50
    b.post(ev("b4", "b", "bill", "2026-12-03", "40"))  # first purchase +40, campaign: budget 70 - 50 = 20
    assert balance(b, "b") == 40 + 40 + 20
    with pytest.raises(Rejected, match="already signed up"):
        b.post(ev("s2", "a", "signup", "2026-11-05"))


def test_caps_cut_points_per_day():
    plan = Plan(id="c", name="c", earning=(SpendRule("spend", ("bill",)),), caps=(Cap("daily", Period.DAY, 100),))
    b = book(plan)
    b.post(ev("b1", "m", "bill", "2026-01-01", "80"))
    b.post(ev("b2", "m", "bill", "2026-01-01", "80"))
    b.post(ev("b3", "m", "bill", "2026-01-02", "80"))
    assert balance(b, "m") == 100 + 80
    assert "over cap daily" in [e for e in b.changes.entries if e.event_id == "b2"][0].note


def test_referral_awards_when_referee_registers_and_pays_in_any_order():
    plan = Plan(
        id="r", name="r", earning=(ReferralRule("ref", ("referral",), points=100), SpendRule("spend", ("bill",)))
    )
    b = book(plan)
    b.post(ev("r1", "alice", "referral", "2026-01-01", ref="bob"))
    assert balance(b, "alice") == 0
    b.post(ev("p", "bob", "bill", "2026-01-02", "10"))
    assert balance(b, "alice") == 0  # paid but not registered
    b.post(ev("s", "bob", "signup", "2026-01-03"))
    assert balance(b, "alice") == 100
    with pytest.raises(Rejected, match="already referred"):
        b.post(ev("r2", "carol", "referral", "2026-01-04", ref="bob"))


def test_registration_required_rejects_events_before_signup():
    plan = Plan(id="r", name="r", registration_required=True, earning=(SpendRule("spend", ("bill",)),))
    b = book(plan)
    with pytest.raises(Rejected, match="has not signed up"):
        b.post(ev("b", "m", "bill", "2026-01-01", "10"))
    b.post(ev("s", "m", "signup", "2026-01-01"))
    with pytest.raises(Rejected, match="has not signed up"):  # an event id's outcome is final
        b.post(ev("b", "m", "bill", "2026-01-01", "10"))
    b.post(ev("b2", "m", "bill", "2026-01-01", "10"))
    assert balance(b, "m") == 10


def test_cancel_returns_points_to_the_very_lots():
    b = book()
    b.post(ev("old", "m", "bill", "2025-06-01", "600"))
    b.post(ev("new", "m", "bill", "2026-01-01", "800"))
    b.post(ev("x", "m", "redeem", "2026-02-01", ref="bill-credit"))
    red = b.changes.redemptions[0]
    b.cancel_redemption(red, [tuple(t) for t in red.details["lots"]], date(2026, 2, 2), "fulfilment_failed")
    lots = {l.id: l.remaining for l in b.s.lots["m"]}
    assert lots == {"old": 60, "new": 80}


def test_consumption_order_earliest_earned():
    plan = Plan(**{**TELECOM.__dict__, "consumption_order": ConsumptionOrder.EARLIEST_EARNED})
    b = book(plan)
    b.post(ev("a", "m", "adjust", "2026-01-01", points=50, expires_on="2027-12-31"))
    b.post(ev("b", "m", "adjust", "2026-01-02", points=100, expires_on="2026-06-01"))
    b.post(ev("x", "m", "redeem", "2026-02-01", ref="bill-credit"))
    assert b.changes.redemptions[0].details["lots"] == [["a", 50], ["b", 50]]
