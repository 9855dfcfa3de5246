"""Warnings: the plan loads, but probably not as meant."""

from __future__ import annotations

from weixi.plans.loader import load_plan_text

from .helpers import at, load, warnings


def test_points_that_never_expire_warn_at_the_plan_key():
    plan, found = load_plan_text("plan: p\nname: P\n", "p.yaml")
    assert plan is not None
    assert [(at(d), d.severity) for d in found] == [((1, 1), "warning")]
    assert "never expire" in found[0].message


def test_explicit_never_still_warns_at_the_expiry_key():
    plan, found = load_plan_text("plan: p\nname: P\nexpiry: never\n", "p.yaml")
    assert plan is not None
    assert at(found[0]) == (3, 1)
    assert "never expire" in found[0].message


def test_tier_multiplier_without_tier_multiplier_rule():
    found = warnings("""\
        tiers:
          - {id: standard, name: 普通, rank: 0}
          - {id: gold, name: 金卡, rank: 1, multiplier: "1.5"}
        earning:
          - {id: bill, type: spend}
        """)
    assert [(at(d), d.message) for d in found] == [
        ((6, 47), "tier 'gold' has multiplier 1.5 but no tier_multiplier rule uses it"),
    ]


def test_tier_multiplier_rule_without_multipliers_never_awards():
    found = warnings("""\
        tiers:
          - {id: standard, name: 普通, rank: 0}
        earning:
          - {id: bill, type: spend}
          - {id: tiers, type: tier_multiplier}
        """)
    assert len(found) == 1
    assert at(found[0]) == (8, 5)
    assert "can never award" in found[0].message


def test_multiplier_with_nothing_to_multiply():
    found = warnings("""\
        earning:
          - {id: survey, type: action, on: [survey], points: 5}
          - {id: first, type: first_purchase, multiplier: 2}
        """)
    assert len(found) == 1
    assert at(found[0]) == (6, 5)
    assert "no spend or recharge rule" in found[0].message


def test_multiplier_of_one_never_awards():
    found = warnings("""\
        earning:
          - {id: bill, type: spend}
          - {id: first, type: first_purchase, multiplier: 1}
        """)
    assert [at(d) for d in found] == [(6, 51)]
    assert "multiplier 1 adds no points" in found[0].message


def test_window_wholly_before_2000_never_awards():
    plan, found = load("""\
        earning:
          - {id: bill, type: spend, window: {from: 1999-01-01, to: 1999-12-31}}
        rewards:
          - {id: g, type: gift, name: G, cost: 1, window: {to: 1990-01-01}}
        """)
    assert plan is not None
    assert [(at(d), d.severity) for d in found] == [((5, 37), "warning"), ((7, 51), "warning")]
    assert "can never award" in found[0].message
    assert "can never be redeemed" in found[1].message


def test_stock_zero_can_never_be_redeemed():
    found = warnings("""\
        rewards:
          - {id: g, type: gift, name: G, cost: 1, stock: 0}
        """)
    assert [at(d) for d in found] == [(5, 50)]
    assert "stock 0" in found[0].message
