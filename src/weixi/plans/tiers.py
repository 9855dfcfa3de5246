"""Resolve the tiers and the tier policy (qualification, review, grace, notice) into dataclasses (no I/O)."""

from __future__ import annotations

from decimal import Decimal

from weixi.plans import checks
from weixi.plans.diagnostics import Report
from weixi.plans.model import Tier, TierMeasure, TierPolicy, UpgradeTiming
from weixi.plans.spec import Spec, Val

DEFAULT_REVIEW_MONTHS = (12,)
UNIT = {TierMeasure.POINTS_EARNED: "points", TierMeasure.SPEND_YUAN: "yuan"}


def resolve_tiers(items: tuple[Val, ...], report: Report) -> tuple[Tier, ...]:
    by_id = checks.unique(items, "id", "tier id", report)
    checks.unique(items, "rank", "tier rank", report)
    return tuple(
        Tier(
            id=tier_id,
            name=spec.get("name", ""),
            rank=spec.get("rank", 0),
            multiplier=spec.get("multiplier", Decimal(1)),
            qualify=spec.get("qualify"),
        )
        for tier_id, spec in by_id.items()
    )


def resolve_tier_policy(plan_spec: Spec, tiers: tuple[Tier, ...], report: Report) -> TierPolicy | None:
    """The tier policy; every tier but the lowest needs a ``qualify`` threshold, increasing with rank."""
    spec: Spec | None = plan_spec.get("tier_policy")
    tier_specs = {item.value.get("id"): item.value for item in plan_spec.items("tiers")}
    if spec is None:
        if "tier_policy" not in plan_spec.present:
            for tier in tiers:
                if tier.qualify is not None:
                    report.error(tier_specs[tier.id].at("qualify"), "plan_qualify_without_policy", tier=tier.id)
        return None
    measure = TierMeasure(spec.get("measure", TierMeasure.POINTS_EARNED.value))
    policy = TierPolicy(
        measure=measure,
        window_months=spec.get("window_months", 12),
        upgrade=UpgradeTiming(spec.get("upgrade", UpgradeTiming.IMMEDIATE.value)),
        review_months=_review_months(spec, report),
        grace_months=spec.get("grace_months", 0),
        notice_days=spec.get("notice_days", 30),
    )
    if not tiers:
        report.error(plan_spec.key_at("tier_policy"), "plan_tier_policy_no_tiers")
        return policy
    _thresholds(tiers, tier_specs, policy, report)
    if spec.get("notice_days", 0) > 0 and policy.grace_months == 0:
        report.warning(spec.at("notice_days"), "plan_notice_without_grace")
    return policy


def _review_months(spec: Spec, report: Report) -> tuple[int, ...]:
    if "review_months" not in spec.fields:
        return DEFAULT_REVIEW_MONTHS
    seen: dict[int, Val] = {}
    for item in spec.items("review_months"):
        if not 1 <= item.value <= 12:
            report.error(item.pos, "plan_review_month_out_of_range", value=item.value)
        elif item.value in seen:
            first = seen[item.value].pos
            report.error(item.pos, "plan_review_month_twice", value=item.value, line=first.line, column=first.column)
        else:
            seen[item.value] = item
    if not spec.items("review_months"):
        report.error(spec.at("review_months"), "plan_no_review_months")
    return tuple(sorted(seen))


def _thresholds(tiers: tuple[Tier, ...], tier_specs: dict, policy: TierPolicy, report: Report) -> None:
    ordered = sorted(tiers, key=lambda t: t.rank)
    lowest, unit = ordered[0], UNIT[policy.measure]
    if lowest.qualify not in (None, 0):
        report.error(
            tier_specs[lowest.id].at("qualify"), "plan_lowest_tier_qualify", tier=lowest.id, value=lowest.qualify
        )
    below = lowest
    for tier in ordered[1:]:
        spec = tier_specs[tier.id]
        if tier.qualify is None:
            report.error(spec.pos, "plan_tier_needs_qualify", tier=tier.id, measure=policy.measure.value, unit=unit)
            continue
        if not _whole(tier.qualify, policy.measure):
            what = "whole_points" if policy.measure is TierMeasure.POINTS_EARNED else "whole_fen"
            report.error(spec.at("qualify"), "plan_qualify_not_whole", value=tier.qualify, tier=tier.id, what=what)
        floor = below.qualify or Decimal(0)
        if tier.qualify <= floor:
            report.error(
                spec.at("qualify"),
                "plan_qualify_not_increasing",
                tier=tier.id,
                rank=tier.rank,
                floor=floor,
                below=below.id,
                below_rank=below.rank,
            )
        below = tier


def _whole(value: Decimal, measure: TierMeasure) -> bool:
    units = value if measure is TierMeasure.POINTS_EARNED else value * 100
    return units == units.to_integral_value()
