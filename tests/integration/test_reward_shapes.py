"""The reward shapes seed 000 names, in plans/examples/points-activity-scheme.yaml: "每100积分可以兑换5元店内消费券",
"兑换100积分可获得9折优惠券一张", "100积分兑换1元", "现金红包"; points "根据消费金额或消费次数计算积分", "评论积分:对商品或服务
进行评论获得积分" and "会员生日当天获得额外积分奖励"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.integration.helpers import event
from weixi.ledger import queries, redemption
from weixi.ledger.posting import post_events
from weixi.plans.loader import load_plan_text
from weixi.plans.model import RewardType
from weixi.plans.service import apply_plan

PLAN = Path(__file__).resolve().parents[2] / "plans" / "examples" / "points-activity-scheme.yaml"


def _balance(engine, member: str, day: str) -> int:
    return queries.balance(engine, member, date.fromisoformat(day))["balance"]


def test_points_by_purchase_count_reviews_and_birthday(engine):
    apply_plan(engine, PLAN)
    post_events(engine, [event("b1", "m1", "bill", "2026-06-01", 12_000)])  # 120 yuan: 120 + one purchase 5
    assert _balance(engine, "m1", "2026-06-01") == 125
    post_events(engine, [event("b2", "m1", "bill", "2026-06-02", 900)])  # 9 yuan: 9, below the 10-yuan purchase
    assert _balance(engine, "m1", "2026-06-02") == 134
    post_events(
        engine, [event("b3", "m1", "bill", "2026-06-03", 1_000), event("b4", "m1", "bill", "2026-06-03", 1_000)]
    )
    assert _balance(engine, "m1", "2026-06-03") == 134 + 2 * (10 + 5)  # two purchases, two counts
    reviews = [event(f"r{i}", "m2", "review", "2026-06-05") for i in range(4)]
    post_events(engine, reviews)
    assert _balance(engine, "m2", "2026-06-05") == 60  # 20 a review, at most 3 a day (ours)
    post_events(engine, [event("bd", "m2", "birthday", "2026-06-06")])
    assert _balance(engine, "m2", "2026-06-06") == 160


def test_100_points_buy_a_5_yuan_voucher_a_9_zhe_coupon_or_1_yuan_and_600_a_red_packet(engine):
    apply_plan(engine, PLAN)
    post_events(engine, [event("b1", "m1", "bill", "2026-06-01", 100_000)])  # 1,000 yuan: 1,005 points
    at = event("x", "m1", "redeem", "2026-06-10").occurred_at
    voucher = redemption.redeem(engine, "m1", "voucher-5", at=at).redemption
    assert voucher["points"] == 100 and voucher["details"]["face_value_fen"] == 500
    assert voucher["details"]["codes"][0].startswith("XF5-")
    coupon = redemption.redeem(engine, "m1", "coupon-90", at=at).redemption
    assert coupon["points"] == 100 and coupon["details"]["percent_off"] == 10  # 9折
    assert "face_value_fen" not in coupon["details"] and coupon["details"]["codes"][0].startswith("ZK9-")
    credit = redemption.redeem(engine, "m1", "bill-1", at=at).redemption
    assert credit["points"] == 100 and credit["details"]["credit_fen"] == 100  # 100积分兑换1元
    packet = redemption.redeem(engine, "m1", "red-packet-5", at=at).redemption
    assert packet["points"] == 600 and packet["details"]["cash_fen"] == 500  # 现金红包 5.00 yuan
    assert _balance(engine, "m1", "2026-06-10") == 1_005 - 900
    with pytest.raises(redemption.RedemptionError):
        redemption.redeem(engine, "m1", "red-packet-5", at=at)  # one a month (and 105 points left)


def test_a_coupon_is_a_fixed_value_or_a_percentage_never_both_nor_neither():
    text = PLAN.read_text(encoding="utf-8")
    plan, _ = load_plan_text(text, "ok.yaml")
    kinds = {r.id: (r.type, r.face_value_fen, r.percent_off, r.cash_fen) for r in plan.rewards}
    assert kinds["voucher-5"] == (RewardType.COUPON, 500, 0, 0)
    assert kinds["coupon-90"] == (RewardType.COUPON, 0, 10, 0)
    assert kinds["red-packet-5"] == (RewardType.RED_PACKET, 0, 0, 500)
    both = text.replace("    percent_off: 10\n", "    percent_off: 10\n    face_value_yuan: 9\n")
    neither = text.replace("    percent_off: 10\n", "")
    over = text.replace("percent_off: 10", "percent_off: 100")
    for bad, code in ((both, "plan_coupon_value"), (neither, "plan_coupon_value"), (over, "plan_out_of_range")):
        plan, diagnostics = load_plan_text(bad, "bad.yaml")
        assert plan is None and code in [d.code for d in diagnostics if d.is_error], [d.code for d in diagnostics]
