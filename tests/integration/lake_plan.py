"""The points plan the lake-ledger tests post with: bill, mobile and recharge rules, tier multipliers, one gift; and
the members' rows over both stores, which the tests compare between a SQL-store and a lake-store ledger."""

from weixi.adapters.sql import execute
from weixi.close.ledger_bridge import balances

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


def balances_of(engine) -> dict[str, int]:
    """Per member, the balance over both stores: the SQL balance (the SQL ledger's lots) and the lake's unfolded
    points (earned, less what the lake expired)."""
    table = balances(engine)
    return dict(zip(table.column("member_id").to_pylist(), table.column("points_balance").to_pylist()))


def member_rows(engine) -> list[tuple]:
    """(member_id, tier, first_spend_on, paid, balance, debt) per member in member order, the balance over both
    stores (:func:`balances_of`)."""
    both = balances_of(engine)
    with engine.connect() as conn:
        rows = execute(conn, "SELECT member_id, tier, first_spend_on, paid, debt FROM members ORDER BY member_id")
    return [(m, tier, first, paid, both[m], debt) for m, tier, first, paid, debt in rows]


def richest(engine) -> str:
    """The member with the highest balance over both stores (the lowest id among equals)."""
    return min(balances_of(engine).items(), key=lambda kv: (-kv[1], kv[0]))[0]
