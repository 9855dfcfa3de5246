"""Plans the integration tests apply, written in the plan language."""

TELECOM = """\
plan: telecom-test
name: 测试计划
expiry: {{months_after: 12}}
reversal_policy: {policy}
tiers:
  - {{id: standard, name: 普通, rank: 0}}
  - {{id: gold, name: 金卡, rank: 1, multiplier: 1.5}}
earning:
  - {{id: bill, type: spend, points: 1, per_yuan: 10}}
  - {{id: recharge, type: recharge, points: 10, per_full_yuan: 100}}
  - {{id: checkin, type: checkin, points: 5, streak: [{{every: 7, bonus: 20}}]}}
  - {{id: tier-bonus, type: tier_multiplier, applies_to: [bill]}}
rewards:
  - {{id: bill-credit, type: bill_credit, name: 话费抵扣, cost: 100, credit_yuan: 1}}
  - {{id: gift, type: gift, name: 保温杯, cost: 50, stock: {stock}}}
  - {{id: coupon, type: coupon, name: 9折券, cost: 20, face_value_yuan: 5, code_prefix: WX}}
  - {{id: mall, type: merchant, name: 商户消费, cost: 1, merchants: [{{id: m1, name: 超市, settle_yuan_per_point: "0.008"}}]}}
"""


def telecom(tmp_path, policy="clawback", stock=3, name="plan.yaml"):
    path = tmp_path / name
    path.write_text(TELECOM.format(policy=policy, stock=stock), encoding="utf-8")
    return path
