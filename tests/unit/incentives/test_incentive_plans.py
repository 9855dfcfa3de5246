"""Incentive plans in `weixi plan check`: the seeds' numbers, and the errors the checker must catch."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from weixi.incentives.model import IncentivePlan
from weixi.plans.loader import check_files, load_plan, load_plan_text

EXAMPLES = Path(__file__).resolve().parents[3] / "plans" / "examples"
SEED = EXAMPLES / "seed-as-written"
INCENTIVE = [
    "retention-2016",
    "cs-reward-scorecard",
    "ob-discipline",
    "referral-rewards",
    "postal-maintenance",
    "maintenance-scorecard",
    "member-maintenance-split",
    "cs-annual-award",
]


def load(name):
    plan, found = load_plan(EXAMPLES / f"{name}.yaml")
    assert found == [], [d.format() for d in found]
    assert isinstance(plan, IncentivePlan)
    return plan


@pytest.mark.parametrize("name", INCENTIVE)
def test_every_incentive_example_checks_clean(name):
    assert load(name).id == name


def test_all_examples_together_have_no_overlap():
    assert [d.format() for d in check_files(sorted(EXAMPLES.glob("*.yaml")))] == []


def test_retention_2016_seed_numbers():
    plan = load("retention-2016")
    assert str(plan.valid.start) == "2016-01-01" and plan.replaces == "retention-2015"
    mobile = plan.rule("mobile-phone-for-credit")
    assert (mobile.expiring_units, mobile.non_expiring_units, mobile.kpi_only) == (1, Decimal("0.5"), True)
    clerk, other = mobile.schedule_for("clerk"), mobile.schedule_for("grid_manager")
    assert [clerk.yuan_for(n) for n in (1, 5, 6, 9)] == [20, 20, 40, 40]  # 营业员5户内20元, 超出40元
    assert [other.yuan_for(n) for n in (1, 2, 3)] == [20, 20, 40]  # 其它人员2户内20元, 超出40元
    assert {e.id for e in mobile.exclusions} == {"secondary-card", "no-monthly-rent", "redo-subsidy", "not-active-4g"}
    prepay = plan.rule("broadband-prepay")
    assert prepay.schedule_for("intern").yuan_for(7) == 20  # 所有员工20元/户
    fiber = plan.rule("fiber-migration")
    assert fiber.cash == () and fiber.non_expiring_units == Decimal("0.5")  # 光纤平移0.5个宽带效能


def test_retention_2016_credits_the_roles_the_notice_names():
    """ "中心经理、网格经理、装维经理、营业员办理购机送费优惠" / "…宽带老客户光纤平移" / "中心经理、网格人员、营业员办理单宽带
    老客户预存网费送费优惠 … 所有员工办理预存网费送费优惠奖励20元/户"."""
    plan = load("retention-2016")
    four = ("center_manager", "grid_manager", "maintenance_manager", "clerk")
    assert plan.rule("mobile-phone-for-credit").roles == four and plan.rule("fiber-migration").roles == four
    prepay = plan.rule("broadband-prepay")
    assert prepay.roles is None  # every employee is paid the 20 yuan ...
    assert prepay.unit_roles == ("center_manager", "grid_manager", "grid_staff", "clerk")  # ... units for these
    (single,) = prepay.exclusions  # 单宽带老客户
    assert (single.id, single.unless, single.conditions[0].field) == ("not-broadband-only", True, "broadband_only")
    (active,) = [e for e in plan.rule("mobile-phone-for-credit").exclusions if e.id == "not-active-4g"]
    assert [(c.field, set(c.values)) for c in active.conditions] == [("network", {"4G", "5G"}), ("active", {True})]


def test_unit_roles_and_the_broadband_only_condition_are_checked():
    text = (
        "plan: p\nkind: incentive\nname: P\nvalid: {from: 2016-01-01}\norders:\n  - id: r\n"
        "    business: broadband_prepay\n"
        "    units: {measure: broadband, expiring: 1, non_expiring: 0.5, roles: [grid_stuff]}\n"
        "    exclude:\n      - {id: x, unless: {broadband_only: maybe}, reason: r}\n"
    )
    plan, found = load_plan_text(text, "p.yaml")
    assert plan is None and [d.line for d in found] == [8, 10]
    assert "unknown role 'grid_stuff'" in found[0].message and "did you mean 'grid_staff'" in found[0].message
    assert "broadband_only: expected true or false" in found[1].message


def test_cs_scorecard_seed_weights_are_reported_at_the_weights_line():
    plan, found = load_plan(SEED / "cs-reward-scorecard.yaml")
    assert plan is None
    (error,) = found
    assert (error.line, error.column, error.severity) == (10, 1, "error")
    assert "weights add up to 120%, not 100%" in error.message and "bonus_weights" in error.message


def test_cs_scorecard_corrected_uses_a_bonus_weight():
    card = load("cs-reward-scorecard").scorecard
    weights = {m.id: (m.weight, m.bonus) for m in card.metrics}
    assert weights["satisfaction"] == (50, False) and weights["target_completion"] == (30, False)
    assert weights["over_achievement"] == (20, True)
    assert [(a.id, a.top) for a in card.awards.ranks] == [("excellent", 10), ("good", 30)]
    assert card.awards.improvement.id == "improvement" and card.awards.rest.id == "encouragement"


def test_maintenance_seed_bands_leave_a_gap_between_4_and_5():
    plan, found = load_plan(SEED / "maintenance-scorecard.yaml")
    assert plan is None
    (error,) = found
    assert error.line == 11  # the grades line
    assert "leave scores above 4 and below 5 without a grade" in error.message


def test_maintenance_corrected_bands_and_bonus_tables():
    card = load("maintenance-scorecard").scorecard
    grade = lambda s: next(b.grade for b in card.bands if b.contains(Decimal(s)))  # noqa: E731
    assert [grade(s) for s in ("10", "9", "8.99", "7", "5", "4.5", "0")] == [
        "excellent",
        "excellent",
        "good",
        "good",
        "fair",
        "poor",
        "poor",
    ]
    assert card.bonus_row("team_leader").yuan == {"excellent": 500, "good": 300, "fair": 200, "poor": 0}
    assert card.bonus_row("maintenance_worker").yuan == {"excellent": 300, "good": 200, "fair": 100, "poor": 0}


HEAD = "plan: p\nkind: scorecard\nname: P\nvalid: {from: 2016-01-01}\nscale: 10\n"


def test_weights_need_percent_signs():
    plan, found = load_plan_text(HEAD + "weights: {a: 60%, b: 40}\n", "p.yaml")
    assert [(d.line, d.column) for d in found] == [(6, 22)]
    assert "percentage with a % sign" in found[0].message


def test_overlapping_bands_are_reported():
    text = HEAD + "weights: {a: 100%}\ngrades:\n  - {id: hi, min: 5}\n  - {id: lo, max: 6}\n"
    plan, found = load_plan_text(text, "p.yaml")
    assert any("overlaps" in d.message for d in found), found


def test_unknown_role_is_an_error_at_its_position():
    text = (
        "plan: p\nkind: incentive\nname: P\nvalid: {from: 2016-01-01}\norders:\n  - id: r\n"
        "    business: broadband_prepay\n    cash:\n      - roles: [clerck]\n        tiers: [{yuan: 20}]\n"
    )
    plan, found = load_plan_text(text, "p.yaml")
    (error,) = found
    assert (error.line, error.column) == (9, 17)
    assert "unknown role 'clerck'" in error.message and "did you mean 'clerk'" in error.message


def test_cash_tiers_that_leave_households_unpaid():
    text = (
        "plan: p\nkind: incentive\nname: P\nvalid: {from: 2016-01-01}\norders:\n  - id: r\n"
        "    business: broadband_prepay\n    cash:\n      - roles: [other]\n        tiers: [{upto: 5, yuan: 20}]\n"
    )
    plan, found = load_plan_text(text, "p.yaml")
    assert plan is None and "households beyond 5 get no tier" in found[0].message


def test_unknown_condition_field_and_value():
    text = (
        "plan: p\nkind: incentive\nname: P\nvalid: {from: 2016-01-01}\norders:\n  - id: r\n"
        "    business: phone_for_credit\n    units: {measure: mobile, expiring: 1, non_expiring: 0.5}\n"
        "    exclude:\n      - {id: x, if: {crad: secondary}, reason: r}\n"
        "      - {id: y, if: {network: 6G}, reason: r}\n"
    )
    plan, found = load_plan_text(text, "p.yaml")
    assert [(d.line, "crad" in d.message or "6G" in d.message) for d in found] == [(10, True), (11, True)]


def test_overlapping_validity_across_files(tmp_path):
    body = (
        "kind: incentive\nname: P\nvalid: {from: %s}\norders:\n  - id: r\n    business: broadband_prepay\n"
        "    cash:\n      - roles: [other]\n        tiers: [{yuan: 20}]\n"
    )
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text("plan: retention-2015\n" + body % "2015-01-01", encoding="utf-8")
    new.write_text("plan: retention-2016\n" + body % "2016-01-01", encoding="utf-8")
    (error,) = check_files([old, new])
    assert error.file == str(new) and error.line == 4
    assert "overlaps plan 'retention-2015'" in error.message and "broadband_prepay from 2016-01-01" in error.message
    new.write_text("plan: retention-2016\nreplaces: retention-2015\n" + body % "2016-01-01", encoding="utf-8")
    assert check_files([old, new]) == []  # replacing ends the old plan the day before


def test_unknown_kind_is_reported():
    plan, found = load_plan_text("plan: p\nkind: bonus\nname: P\nvalid: {from: 2016-01-01}\n", "p.yaml")
    assert plan is None and "unknown kind 'bonus'" in found[0].message


def test_points_plans_still_load_with_or_without_kind():
    plan, found = load_plan_text("plan: p\nkind: points\nname: P\nexpiry: never\n", "p.yaml")
    assert plan is not None and plan.id == "p"


def test_an_incentive_plan_error_has_a_code_params_and_its_line_and_column():
    from weixi.messages import render

    text = HEAD + "weights: {a: 60%, b: 30%}\ngrades:\n  - {id: hi, min: 5}\n  - {id: lo, max: 6}\n"
    plan, found = load_plan_text(text, "p.yaml")
    coded = {(d.code, d.line, d.column): d for d in found}
    weights = coded[("incentive_weights_under_100", 6, 1)]
    assert weights.params == {"total": "90%", "parts": "a 60% + b 30%"}
    assert (
        weights.message == "weights add up to 90%, not 100% (a 60% + b 30%): raise a weight or add the missing metric"
    )
    assert render(weights, "zh_CN") == "权重合计为 90%,不是 100%(a 60% + b 30%):请提高某项权重或补上缺少的指标。"
    overlap = next(d for d in found if d.code == "incentive_grade_overlap")
    assert (overlap.line, overlap.params["grade"], overlap.params["other"]) == (8, "hi", "lo")
    assert [d.to_json()["code"] for d in found] == [d.code for d in found]


def test_an_incentive_plan_problem_in_chinese_names_no_english_but_the_plans_own_ids():
    from weixi.messages import render

    text = (
        "plan: p\nkind: incentive\nname: P\nvalid: {from: 2016-01-01}\norders:\n  - id: r\n"
        "    business: broadband_prepay\n    cash:\n      - roles: [other]\n        tiers: [{upto: 5, yuan: 20}]\n"
    )
    plan, found = load_plan_text(text, "p.yaml")
    (error,) = found
    assert (error.code, error.line, error.params) == ("incentive_tiers_leave_households", 10, {"upto": 5})
    assert render(error, "zh_CN") == "超过 5 户的部分没有对应档位:请以一个不写上限的档位结尾(若确实不计酬,金额写 0)。"
