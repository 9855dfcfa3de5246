"""The points plan the lake-ledger tests post with: bill, mobile and recharge rules, tier multipliers, one gift."""

GOLD = "  - {id: gold, name: G, rank: 2, multiplier: 1.5, qualify: 60}\n"


def lake_plan(plan_id: str, expiry_months: int = 2, gold: bool = True) -> str:
    return f"""\
plan: {plan_id}
name: lake
expiry: {{end_of_month_after: {expiry_months}}}
tiers:
  - {{id: standard, name: S, rank: 0}}
  - {{id: silver, name: Si, rank: 1, multiplier: 1.2, qualify: 20}}
{GOLD if gold else ""}tier_policy: {{measure: points_earned, window_months: 12, upgrade: immediate, review_months: [12], grace_months: 3}}
earning:
  - {{id: bill, type: spend, points: 1, per_yuan: 10}}
  - {{id: mobile, type: spend, points: 1.5, per_yuan: 7, rounding: half_up, service_types: [mobile]}}
  - {{id: recharge, type: recharge, points: 10, per_full_yuan: 30}}
  - {{id: tier-bonus, type: tier_multiplier, applies_to: [bill, mobile, recharge]}}
rewards:
  - {{id: gift, type: gift, name: cup, cost: 50}}
"""
