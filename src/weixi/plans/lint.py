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
        report.warning(pos, "points never expire: outstanding points stay a liability forever"
                            " (set expiry, or write 'expiry: never' on purpose and accept this warning)")
    rule_specs = {item.value.get("id"): item.value for item in spec.items("earning")}
    tier_specs = {item.value.get("id"): item.value for item in spec.items("tiers")}
    has_tier_rule = any(r.kind == "tier" for r in plan.multipliers())
    if not has_tier_rule:
        for tier in plan.tiers:
            if tier.multiplier != 1:
                report.warning(tier_specs[tier.id].at("multiplier"),
                               f"tier '{tier.id}' has multiplier {tier.multiplier} but no tier_multiplier rule uses it")
    for rule in plan.earning:
        _rule(rule, rule_specs[rule.id], plan, report)
    reward_specs = {item.value.get("id"): item.value for item in spec.items("rewards")}
    for reward in plan.rewards:
        reward_spec = reward_specs[reward.id]
        if reward.stock == 0:
            report.warning(reward_spec.at("stock"), f"reward '{reward.id}' has stock 0 and can never be redeemed")
        if reward.window.end is not None and reward.window.end < TOO_OLD:
            report.warning(reward_spec.at("window"), f"reward '{reward.id}' window ends {reward.window.end}:"
                                                     " it can never be redeemed")


def _rule(rule, spec: Spec, plan: Plan, report: Report) -> None:
    if rule.window.end is not None and rule.window.end < TOO_OLD:
        report.warning(spec.at("window"), f"rule '{rule.id}' window ends {rule.window.end}: it can never award")
    if not isinstance(rule, MultiplierRule):
        return
    if not rule.applies_to:
        written = "applies_to" in spec.fields
        reason = "applies_to names no base rule" if written else "there is no spend or recharge rule"
        report.warning(spec.pos, f"rule '{rule.id}' can never award: {reason}")
    elif rule.kind == "tier" and all(t.multiplier == 1 for t in plan.tiers):
        report.warning(spec.pos, f"rule '{rule.id}' can never award: no tier has a multiplier other than 1")
    elif rule.kind != "tier" and rule.multiplier == 1:
        report.warning(spec.at("multiplier"), f"rule '{rule.id}' can never award: multiplier 1 adds no points")
