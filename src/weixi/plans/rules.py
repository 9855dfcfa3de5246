"""Resolve earning-rule specs into :class:`EarnRule` dataclasses (no I/O)."""

from __future__ import annotations

from decimal import Decimal

from weixi.plans import checks
from weixi.plans.diagnostics import Report
from weixi.plans.model import (
    Audience,
    CheckinRule,
    EarnRule,
    FixedRule,
    MultiplierRule,
    PurchaseCountRule,
    RechargeRule,
    ReferralRule,
    Rounding,
    SpendRule,
    StreakBonus,
)
from weixi.plans.schema import ACTION_EVENTS, BASE_RULE_TYPES, MULTIPLIER_RULE_TYPES
from weixi.plans.spec import Spec, Val

DEFAULT_EVENTS = {
    "spend": ("bill",),
    "recharge": ("recharge",),
    "purchase_count": ("bill",),
    "checkin": ("checkin",),
    "signup": ("signup",),
    "birthday": ("birthday",),
    "referral": ("referral",),
}
MULTIPLIER_KIND = {"first_purchase": "first_purchase", "tier_multiplier": "tier", "campaign": "campaign"}
DEFAULT_TARGET_TYPES = ("spend", "recharge")  # what applies_to means when absent


def resolve_rules(items: tuple[Val, ...], tier_ids, report: Report) -> tuple[EarnRule, ...]:
    by_id = checks.unique(items, "id", "rule id", report)
    types = {rule_id: spec.get("type") for rule_id, spec in by_id.items()}
    base: dict[str, EarnRule] = {}
    for spec in (item.value for item in items):
        if spec.get("type") in BASE_RULE_TYPES and by_id.get(spec.get("id")) is spec:
            base[spec.get("id")] = _base_rule(spec, report)
    rules: list[EarnRule] = []
    for spec in (item.value for item in items):
        rule_type, rule_id = spec.get("type"), spec.get("id")
        if rule_id is None or by_id.get(rule_id) is not spec:
            continue  # invalid or duplicate: already reported
        if rule_type in BASE_RULE_TYPES:
            rules.append(base[rule_id])
        elif rule_type in MULTIPLIER_RULE_TYPES:
            rules.append(_multiplier_rule(spec, types, base, tier_ids, report))
    return tuple(rules)


def _common(spec: Spec, events: tuple[str, ...], report: Report) -> dict:
    limit = spec.get("limit") or Spec(spec.pos)
    return {
        "id": spec.get("id"),
        "name": spec.get("name") or spec.get("id"),
        "events": events,
        "rounding": Rounding(spec.get("rounding", "floor")),
        "window": checks.window(spec.get("window"), report),
        "limit_per_day": limit.get("per_day"),
        "limit_per_month": limit.get("per_month"),
        "limit_ever": limit.get("ever"),
    }


def _events(spec: Spec) -> tuple[str, ...]:
    written = tuple(dict.fromkeys(item.value for item in spec.items("on")))
    return written if "on" in spec.fields else DEFAULT_EVENTS.get(spec.get("type"), ())


def _base_rule(spec: Spec, report: Report) -> EarnRule:
    rule_type = spec.get("type")
    events = _events(spec)
    if rule_type == "action":
        for item in spec.items("on"):
            if item.value not in ACTION_EVENTS:
                report.error(item.pos, "plan_action_event", events=list(ACTION_EVENTS), value=item.value)
        if "on" in spec.fields and not events:
            report.error(spec.at("on"), "plan_action_no_events")
    common = _common(spec, events, report)
    points = spec.get("points", 0)
    if rule_type == "spend":
        return SpendRule(
            **common,
            points=spec.get("points", Decimal(1)),
            per_yuan=spec.get("per_yuan", Decimal(1)),
            service_types=tuple(dict.fromkeys(i.value for i in spec.items("service_types"))),
        )
    if rule_type == "purchase_count":
        return PurchaseCountRule(**common, points=points, min_fen=checks.whole_fen(spec, "min_yuan", report))
    if rule_type == "recharge":
        return RechargeRule(**common, points=points, block_yuan=spec.get("per_full_yuan", Decimal(100)))
    if rule_type == "checkin":
        streak = tuple(_streak(item.value) for item in spec.items("streak"))
        return CheckinRule(**common, points=points, streak=streak)
    if rule_type == "referral":
        requires = {item.value for item in spec.items("requires")} if "requires" in spec.fields else None
        return ReferralRule(
            **common,
            points=points,
            require_registration=requires is None or "registration" in requires,
            require_payment=requires is None or "payment" in requires,
        )
    return FixedRule(**common, points=points)  # action, signup, birthday


def _streak(spec: Spec) -> StreakBonus:
    return StreakBonus(every=spec.get("every"), on_day=spec.get("on_day"), bonus=spec.get("bonus", 0))


def _multiplier_rule(spec: Spec, types: dict, base: dict[str, EarnRule], tier_ids, report: Report) -> MultiplierRule:
    rule_type = spec.get("type")
    if "applies_to" in spec.fields:
        targets = checks.references(spec, "applies_to", types, "rule id", report)
        for item in spec.items("applies_to"):
            if types.get(item.value) in MULTIPLIER_RULE_TYPES:
                report.error(item.pos, "plan_applies_to_multiplier", rule=item.value)
        targets = tuple(t for t in targets if t in base)
    else:
        targets = tuple(rule_id for rule_id, rule_type_ in types.items() if rule_type_ in DEFAULT_TARGET_TYPES)
    events = (
        _events(spec)
        if "on" in spec.fields
        else tuple(dict.fromkeys(event for target in targets for event in base[target].events))
    )
    window = spec.get("window")
    if rule_type == "campaign" and window is not None and not {"from", "to"} <= set(window.fields):
        report.error(window.pos, "plan_campaign_window_open")
    multiplier = spec.get("multiplier", Decimal(1))
    if rule_type != "tier_multiplier" and multiplier < 1:
        report.error(spec.at("multiplier"), "plan_multiplier_below_one", multiplier=multiplier)
    audience = spec.get("audience") or Spec(spec.pos)
    members = audience.get("members", "all")
    return MultiplierRule(
        **_common(spec, events, report),
        kind=MULTIPLIER_KIND[rule_type],
        applies_to=targets,
        multiplier=multiplier,
        audience=Audience(
            tiers=checks.references(audience, "tiers", tier_ids, "tier", report),
            new_members_only=members == "new",
            existing_members_only=members == "existing",
        ),
        per_member_cap=spec.get("per_member_cap"),
        budget=spec.get("budget"),
    )
