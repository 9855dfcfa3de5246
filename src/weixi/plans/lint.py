"""Warnings: plans that load but probably do not do what their author meant (no I/O)."""

from __future__ import annotations

from datetime import date

from weixi.plans.diagnostics import Report
from weixi.plans.model import ExpiryRule, MultiplierRule, Plan
from weixi.plans.spec import Spec

TOO_OLD = date(2000, 1, 1)  # a window that ends before this is almost surely a typo


def lint(spec: Spec, plan: Plan, report: Report) -> None:
    if plan.expiry.rule is ExpiryRule.NEVER:
        pos = spec.key_at("expiry") if "expiry" in spec.fields else spec.key_at("plan")
        report.warning(pos, "plan_points_never_expire")
    rule_specs = {item.value.get("id"): item.value for item in spec.items("earning")}
    tier_specs = {item.value.get("id"): item.value for item in spec.items("tiers")}
    has_tier_rule = any(r.kind == "tier" for r in plan.multipliers())
    if not has_tier_rule:
        for tier in plan.tiers:
            if tier.multiplier != 1:
                report.warning(
                    tier_specs[tier.id].at("multiplier"),
                    "plan_tier_multiplier_unused",
                    tier=tier.id,
                    multiplier=tier.multiplier,
                )
    for rule in plan.earning:
        _rule(rule, rule_specs[rule.id], plan, report)
    reward_specs = {item.value.get("id"): item.value for item in spec.items("rewards")}
    for reward in plan.rewards:
        reward_spec = reward_specs[reward.id]
        if reward.stock == 0:
            report.warning(reward_spec.at("stock"), "plan_reward_no_stock", reward=reward.id)
        if reward.window.end is not None and reward.window.end < TOO_OLD:
            report.warning(
                reward_spec.at("window"), "plan_reward_window_ended", reward=reward.id, end=reward.window.end
            )


def _rule(rule, spec: Spec, plan: Plan, report: Report) -> None:
    if rule.window.end is not None and rule.window.end < TOO_OLD:
        report.warning(spec.at("window"), "plan_rule_window_ended", rule=rule.id, end=rule.window.end)
    if not isinstance(rule, MultiplierRule):
        return
    if not rule.applies_to:
        written = "applies_to" in spec.fields
        report.warning(spec.pos, "plan_rule_no_targets" if written else "plan_rule_no_base_rule", rule=rule.id)
    elif rule.kind == "tier" and all(t.multiplier == 1 for t in plan.tiers):
        report.warning(spec.pos, "plan_rule_no_tier_multiplier", rule=rule.id)
    elif rule.kind != "tier" and rule.multiplier == 1:
        report.warning(spec.at("multiplier"), "plan_rule_multiplier_one", rule=rule.id)
