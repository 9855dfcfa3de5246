"""Earning rules have names (issue 17 §1: "rule and reward ids show the plan's own `name`"): optional, the id when
absent, and checked like every display name of a plan (text on one line, not blank, at most 40 characters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from weixi.messages import render
from weixi.names import plan_names
from weixi.plans.loader import load_plan
from weixi.plans.values import NAME_MAX

from .helpers import at, load, one_error

EXAMPLES = Path(__file__).resolve().parents[3] / "plans" / "examples"
POINTS_PLANS = (
    "telecom-points",
    "service-points",
    "merchant-points",
    "points-carnival-points",
    "new-customer-campaign",
)


def test_a_rule_keeps_the_name_the_plan_gives_it_and_its_id_otherwise():
    plan, found = load("""\
        earning:
          - {id: bill, name: " 账单消费积分 ", type: spend, per_yuan: 10}
          - {id: recharge, type: recharge, points: 10, per_full_yuan: 100}
          - {id: first-double, name: 首单双倍积分, type: first_purchase, multiplier: 2}
        """)
    assert not found, [d.format() for d in found]
    assert [(r.id, r.name) for r in plan.earning] == [
        ("bill", "账单消费积分"),  # surrounding spaces dropped
        ("recharge", "recharge"),
        ("first-double", "首单双倍积分"),
    ]
    assert plan_names(plan)["rule"] == {"bill": "账单消费积分", "recharge": "recharge", "first-double": "首单双倍积分"}


@pytest.mark.parametrize(
    ("value", "code", "params"),
    [
        ('""', "plan_name_blank", {}),
        ('"   "', "plan_name_blank", {}),
        ("12", "plan_expected_type", {"expected": "text"}),
        ('"账单\\n消费积分"', "plan_name_multiline", {}),
        ('"' + "积" * (NAME_MAX + 1) + '"', "plan_name_too_long", {"length": NAME_MAX + 1, "max": NAME_MAX}),
    ],
)
def test_a_bad_rule_name_is_an_error_at_its_value(value, code, params):
    err = one_error(f"""\
        earning:
          - id: bill
            name: {value}
            type: spend
        """)
    assert (err.code, at(err)) == (code, (6, 11))
    assert params.items() <= err.params.items()
    assert err.params["key"] == "name"


def test_a_name_of_forty_characters_is_accepted():
    plan, found = load(f"""\
        earning:
          - {{id: bill, name: "{"积" * NAME_MAX}", type: spend}}
        """)
    assert not found and plan.earning[0].name == "积" * NAME_MAX


def test_tier_and_reward_names_are_checked_the_same_way():
    err = one_error("""\
        tiers:
          - {id: standard, name: "  ", rank: 0}
        """)
    assert (err.code, at(err)) == ("plan_name_blank", (5, 26))
    err = one_error(f"""\
        rewards:
          - {{id: gift, type: gift, name: "{"礼" * (NAME_MAX + 5)}", cost: 10}}
        """)
    assert err.code == "plan_name_too_long" and err.params["length"] == NAME_MAX + 5


def test_the_name_errors_read_in_both_languages():
    err = one_error(f"""\
        earning:
          - {{id: bill, type: spend, name: "{"积" * 41}"}}
        """)
    assert render(err, "en") == "name: a name may have at most 40 characters, this one has 41"
    assert render(err, "zh_CN") == "name：名称最多 40 个字，这里有 41 个字。"


@pytest.mark.parametrize("stem", POINTS_PLANS)
def test_every_earning_rule_of_the_example_points_plans_has_a_chinese_name(stem):
    plan, found = load_plan(EXAMPLES / f"{stem}.yaml")
    assert plan is not None, [d.format() for d in found]
    assert plan.earning
    for rule in plan.earning:
        assert rule.name != rule.id and any("\u4e00" <= ch <= "\u9fff" for ch in rule.name), rule


def test_the_shipped_plan_names_its_bill_and_recharge_rules():
    plan, _ = load_plan(EXAMPLES / "telecom-points.yaml")
    names = plan_names(plan)["rule"]
    assert names["bill"] == "账单消费积分" and names["recharge"] == "充值积分"
