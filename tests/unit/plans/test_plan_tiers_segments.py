"""tier_policy and segments: resolved values, every error at its position, warnings."""

from __future__ import annotations

from decimal import Decimal
from textwrap import dedent

import pytest

from weixi.plans.model import (
    ActivityRule,
    KeyAccount,
    StarRow,
    TierMeasure,
    TierPolicy,
    UpgradeTiming,
)

from .helpers import at, errors, load, one_error, warnings

TIERS = """\
tiers:
  - {id: standard, name: 普通会员, rank: 0}
  - {id: silver, name: 银牌会员, rank: 1, qualify: 1000}
  - {id: gold, name: 金牌会员, rank: 2, qualify: 5000}
"""  # lines 4-7


def test_tier_policy_defaults_and_thresholds():
    plan, found = load(TIERS + "tier_policy: {measure: points_earned}\n")
    assert found == []
    assert plan.tier_policy == TierPolicy(
        measure=TierMeasure.POINTS_EARNED,
        window_months=12,
        upgrade=UpgradeTiming.IMMEDIATE,
        review_months=(12,),
        grace_months=0,
        notice_days=30,
    )
    assert [plan.tier_policy.threshold(t) for t in plan.tiers] == [None, 1000, 5000]
    assert plan.segments is None


def test_spend_thresholds_are_yuan_resolved_to_fen():
    plan, found = load("""\
        tiers:
          - {id: standard, name: 普通会员, rank: 0, qualify: 0}
          - {id: silver, name: 银牌会员, rank: 1, qualify: "99.5"}
        tier_policy: {measure: spend_yuan, upgrade: review, review_months: [12, 6], grace_months: 2}
        """)
    assert found == []
    policy = plan.tier_policy
    assert (policy.upgrade, policy.review_months, policy.grace_months) == (UpgradeTiming.REVIEW, (6, 12), 2)
    assert [t.qualify for t in plan.tiers] == [0, Decimal("99.5")]
    assert [policy.threshold(t) for t in plan.tiers] == [0, 9950]


def test_segments_resolve():
    plan, found = load("""\
        segments:
          star_levels:
            tenure_years: [0, 2]
            table:
              - {arpu_yuan: 0, stars: [1, 2]}
              - {arpu_yuan: "49.5", stars: [3, 4]}
          value_pyramid: {cuts: {A: "0.5", B: "0.8", C: "0.95"}}
          activity: {active: {max_days_since: 30, min_touches: 3}, normal: {min_touches: 1}}
          rfm: {bins: 3}
          key_accounts:
            levels:
              - {id: diamond, name: 钻石, min_spend_yuan: 5000, min_tenure_years: 2}
              - {id: bronze, name: 青铜潜力}
        """)
    assert found == []
    seg = plan.segments
    assert seg.star_levels.arpu_months == 3 and seg.star_levels.tenure_years == (0, 2)
    assert seg.star_levels.rows == (StarRow(0, (1, 2)), StarRow(4950, (3, 4)))
    assert seg.value_pyramid.cuts == (("A", Decimal("0.5")), ("B", Decimal("0.8")), ("C", Decimal("0.95")))
    assert seg.value_pyramid.window_months == 12
    assert seg.activity.active == ActivityRule(30, 3) and seg.activity.normal == ActivityRule(None, 1)
    assert seg.activity.window_months == 3
    assert (seg.rfm.window_months, seg.rfm.bins) == (12, 3)
    assert seg.key_accounts.levels == (
        KeyAccount("diamond", "钻石", 500_000, None, 2),
        KeyAccount("bronze", "青铜潜力"),
    )


def test_unknown_keys_in_tier_policy_and_segments():
    found = errors(
        TIERS
        + dedent("""\
        tier_policy: {measure: points_earned, grace_month: 3}
        segments:
          pyramid: {}
          activity: {active: {max_days: 30}, normal: {max_days_since: 90}}
        """)
    )
    assert [(at(d), d.message) for d in found] == [
        ((8, 39), "unknown key 'grace_month' in tier_policy; did you mean 'grace_months'?"),
        ((10, 3), "unknown key 'pyramid' in segments; did you mean 'value_pyramid'?"),
        ((11, 23), "unknown key 'max_days' in activity grade; did you mean 'max_days_since'?"),
    ]


@pytest.mark.parametrize(
    "policy, position, expected",
    [
        (
            "{measure: balance}",
            (8, 24),
            "measure: unknown tier measure 'balance', expected one of points_earned, spend_yuan",
        ),
        ("{measure: points_earned, upgrade: at_once}", (8, 48), "upgrade: unknown upgrade timing 'at_once'"),
        ("{measure: points_earned, window_months: 0}", (8, 54), "window_months: must be a positive whole number"),
        ("{measure: points_earned, review_months: [0]}", (8, 55), "a review month must be from 1 to 12, got 0"),
        ("{measure: points_earned, review_months: []}", (8, 54), "review_months needs at least one month"),
        (
            "{measure: points_earned, review_months: [6, 6]}",
            (8, 58),
            "duplicate review month 6 (first at line 8, column 55)",
        ),
        ("{measure: points_earned, grace_months: -1}", (8, 53), "grace_months: must be zero or more, got -1"),
        ("{grace_months: 1}", (8, 14), "missing required key 'measure' in tier_policy"),
    ],
)
def test_tier_policy_errors(policy, position, expected):
    err = one_error(TIERS + f"tier_policy: {policy}\n")
    assert at(err) == position
    assert expected in err.message


def test_threshold_errors_all_in_one_pass():
    found = errors("""\
        tiers:
          - {id: standard, name: 普通会员, rank: 0, qualify: 10}
          - {id: silver, name: 银牌会员, rank: 1, qualify: "10.5"}
          - {id: gold, name: 金牌会员, rank: 2, qualify: 5}
          - {id: diamond, name: 钻石会员, rank: 3}
        tier_policy: {measure: points_earned}
        """)
    assert [(at(d), d.message) for d in found] == [
        ((5, 50), "tier 'standard' is the lowest tier, where every member starts: it takes no qualify (or 0), got 10"),
        ((6, 48), "qualify 10.5 of tier 'silver' is not a whole number of points"),
        (
            (7, 46),
            "qualify of tier 'gold' (rank 2) must be more than 10.5 of tier 'silver' (rank 1):"
            " thresholds increase with rank",
        ),
        (
            (8, 5),
            "tier 'diamond' needs qualify: the tier_policy evaluates every tier but the lowest"
            " (points_earned in points)",
        ),
    ]


def test_spend_threshold_must_be_whole_fen():
    err = one_error("""\
        tiers:
          - {id: standard, name: 普通会员, rank: 0}
          - {id: silver, name: 银牌会员, rank: 1, qualify: "100.005"}
        tier_policy: {measure: spend_yuan}
        """)
    assert at(err) == (6, 48)
    assert err.message == "qualify 100.005 of tier 'silver' is not a whole number of fen (at most 2 decimals)"


def test_qualify_needs_a_tier_policy_and_a_policy_needs_tiers():
    found = errors(TIERS)
    assert [(at(d), d.message) for d in found] == [
        ((6, 48), "tier 'silver' has qualify but the plan has no tier_policy (which measure, over which window)"),
        ((7, 46), "tier 'gold' has qualify but the plan has no tier_policy (which measure, over which window)"),
    ]
    err = one_error("tier_policy: {measure: spend_yuan}\n")
    assert at(err) == (4, 1)
    assert err.message == "tier_policy needs tiers to evaluate"


def test_star_table_shape():
    found = errors("""\
        segments:
          star_levels:
            tenure_years: [1, 3, 3]
            table:
              - {arpu_yuan: 10, stars: [1, 8]}
              - {arpu_yuan: 5, stars: [1, 2, 2]}
              - {arpu_yuan: "7.001", stars: [2, 3, 0]}
        """)
    assert [(at(d), d.message) for d in found] == [
        ((6, 20), "the first tenure column must be 0 so that every member has one"),
        ((6, 26), "tenure_years must be strictly ascending: 3 after 3"),
        ((8, 21), "the first row must have arpu_yuan 0 so that every member has one"),
        ((8, 32), "this row has 2 star levels for 3 tenure columns: one per tenure_years column"),
        ((8, 36), "a star level must be from 1 to 7, got 8"),
        ((9, 21), "arpu_yuan of the rows must be strictly ascending: 5 after 10"),
        ((10, 21), "arpu_yuan 7.001 is not a whole number of fen (at most 2 decimals)"),
        ((10, 44), "a star level must be from 1 to 7, got 0"),
    ]


def test_star_table_needs_rows_and_columns():
    found = errors("segments:\n  star_levels: {tenure_years: [], table: []}\n")
    assert [(at(d), d.message) for d in found] == [
        ((5, 31), "tenure_years needs at least one entry"),
        ((5, 42), "table needs at least one entry"),
    ]


@pytest.mark.parametrize(
    "cuts, position, expected",
    [
        ('{A: "0.5", B: "0.5", C: "0.9"}', (5, 39), "cuts must increase: B 0.5 is not more than A 0.5"),
        ('{A: "0.5", B: "0.8", C: 1}', (5, 49), "cut C must be less than 1 (a share of the total contribution), got 1"),
        ('{A: "0.50001", B: "0.8", C: "0.9"}', (5, 29), "cut A has more than 4 decimals: 0.50001"),
        ('{A: 0, B: "0.8", C: "0.9"}', (5, 29), "A: must be greater than zero, got 0"),
        ('{A: "0.5", B: "0.8"}', (5, 25), "missing required key 'C' in cuts"),
    ],
)
def test_value_pyramid_cuts(cuts, position, expected):
    err = one_error(f"segments:\n  value_pyramid: {{cuts: {cuts}}}\n")
    assert at(err) == position
    assert expected in err.message


def test_activity_rfm_and_key_account_errors():
    found = errors("""\
        segments:
          activity: {active: {}, normal: {max_days_since: -1}}
          rfm: {bins: 10}
          key_accounts:
            window_months: 6
            levels:
              - {id: diamond, name: 钻石, min_spend_yuan: "0.001"}
              - {id: gold, name: 黄金, min_active_months: 7}
              - {id: gold, name: 黄金2, min_spend_yuan: 1}
        """)
    assert [(at(d), d.message) for d in found] == [
        ((5, 22), "activity grade 'active' needs max_days_since or min_touches"),
        ((5, 51), "max_days_since: must be zero or more, got -1"),
        ((6, 15), "bins: the number of bins must be from 2 to 9, got 10"),
        ((10, 49), "min_spend_yuan 0.001 is not a whole number of fen (at most 2 decimals)"),
        ((11, 49), "min_active_months 7 is more than window_months 6: level 'gold' can never match"),
        ((12, 14), "duplicate key account id 'gold' (first defined at line 11, column 14)"),
    ]


def test_key_accounts_need_a_level():
    err = one_error("segments:\n  key_accounts: {levels: []}\n")
    assert at(err) == (5, 26)
    assert err.message == "key_accounts needs at least one level"


def test_warnings_for_tiers_and_segments():
    found = warnings(
        TIERS
        + dedent("""\
        tier_policy: {measure: points_earned, notice_days: 14}
        segments:
          star_levels:
            tenure_years: [0, 5]
            table:
              - {arpu_yuan: 0, stars: [2, 1]}
              - {arpu_yuan: 50, stars: [1, 3]}
          key_accounts:
            levels:
              - {id: everyone, name: 全部}
              - {id: diamond, name: 钻石, min_spend_yuan: 5000}
        """)
    )
    assert [(at(d), d.message) for d in found] == [
        (
            (8, 52),
            "no will_downgrade notice can be sent: with grace_months 0 a member is downgraded at the review"
            " close that finds them below",
        ),
        ((13, 31), "star levels go down with a longer tenure in this row"),
        ((14, 32), "star levels go down with a higher ARPU in this row"),
        (
            (18, 9),
            "key account level 'diamond' can never match: level 'everyone' before it has no condition and"
            " takes everyone left",
        ),
    ]
