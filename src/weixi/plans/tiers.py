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
        Tier(id=tier_id, name=spec.get("name", ""), rank=spec.get("rank", 0),
             multiplier=spec.get("multiplier", Decimal(1)), qualify=spec.get("qualify"))
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
                    report.error(tier_specs[tier.id].at("qualify"),
                                 f"tier '{tier.id}' has qualify but the plan has no tier_policy"
                                 " (which measure, over which window)")
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
        report.error(plan_spec.key_at("tier_policy"), "tier_policy needs tiers to evaluate")
        return policy
    _thresholds(tiers, tier_specs, policy, report)
    if spec.get("notice_days", 0) > 0 and policy.grace_months == 0:
        report.warning(spec.at("notice_days"), "no will_downgrade notice can be sent: with grace_months 0 a member"
                                               " is downgraded at the review close that finds them below")
    return policy


def _review_months(spec: Spec, report: Report) -> tuple[int, ...]:
    if "review_months" not in spec.fields:
        return DEFAULT_REVIEW_MONTHS
    seen: dict[int, Val] = {}
    for item in spec.items("review_months"):
        if not 1 <= item.value <= 12:
            report.error(item.pos, f"a review month must be from 1 to 12, got {item.value}")
        elif item.value in seen:
            first = seen[item.value].pos
            report.error(item.pos, f"duplicate review month {item.value} (first at {checks.where(first)})")
        else:
            seen[item.value] = item
    if not spec.items("review_months"):
        report.error(spec.at("review_months"), "review_months needs at least one month: downgrades happen only"
                                               " at a review")
    return tuple(sorted(seen))


def _thresholds(tiers: tuple[Tier, ...], tier_specs: dict, policy: TierPolicy, report: Report) -> None:
    ordered = sorted(tiers, key=lambda t: t.rank)
    lowest, unit = ordered[0], UNIT[policy.measure]
    if lowest.qualify not in (None, 0):
        report.error(tier_specs[lowest.id].at("qualify"),
                     f"tier '{lowest.id}' is the lowest tier, where every member starts: it takes no qualify"
                     f" (or 0), got {lowest.qualify}")
    below = lowest
    for tier in ordered[1:]:
        spec = tier_specs[tier.id]
        if tier.qualify is None:
            report.error(spec.pos, f"tier '{tier.id}' needs qualify: the tier_policy evaluates every tier but"
                                   f" the lowest ({policy.measure.value} in {unit})")
            continue
        if not _whole(tier.qualify, policy.measure):
            what = "a whole number of points" if policy.measure is TierMeasure.POINTS_EARNED else \
                "a whole number of fen (at most 2 decimals)"
            report.error(spec.at("qualify"), f"qualify {tier.qualify} of tier '{tier.id}' is not {what}")
        floor = below.qualify or Decimal(0)
        if tier.qualify <= floor:
            report.error(spec.at("qualify"),
                         f"qualify of tier '{tier.id}' (rank {tier.rank}) must be more than {floor} of tier"
                         f" '{below.id}' (rank {below.rank}): thresholds increase with rank")
        below = tier


def _whole(value: Decimal, measure: TierMeasure) -> bool:
    units = value if measure is TierMeasure.POINTS_EARNED else value * 100
    return units == units.to_integral_value()
