"""How many points an event earns under a plan: base rules, multipliers, limits and caps.

Pure functions over the plan, the event, the member's state and a counter lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Callable

from weixi.ledger.events import Event
from weixi.ledger.state import MemberState, period_key
from weixi.plans.model import (
    CheckinRule,
    EarnRule,
    FixedRule,
    MultiplierRule,
    Plan,
    PurchaseCountRule,
    RechargeRule,
    ReferralRule,
    Rounding,
    SpendRule,
)

_ROUNDING = {Rounding.FLOOR: ROUND_FLOOR, Rounding.CEIL: ROUND_CEILING, Rounding.HALF_UP: ROUND_HALF_UP}
SPEND_TYPES = ("bill", "recharge")

Counter = Callable[[str, str, str], int]  # (member_id, key, period_key) -> value


@dataclass
class Contribution:
    rule_id: str
    points: int
    note: str = ""
    base_rule: str | None = None  # for a multiplier's extra points: the rule it multiplied


def round_points(value: Decimal, rounding: Rounding) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[rounding]))


def rule_limit_hit(rule: EarnRule, member_id: str, day, counter: Counter) -> str | None:
    key = "n:" + rule.id
    for period, limit in (("day", rule.limit_per_day), ("month", rule.limit_per_month), ("ever", rule.limit_ever)):
        if limit is not None and counter(member_id, key, period_key(period, day)) >= limit:
            return f"limit of {limit} per {period} reached for rule {rule.id}"
    return None


def base_points(rule: EarnRule, event: Event, member: MemberState) -> tuple[int, str]:
    """Points of one rule for one event, before multipliers, limits and caps, with how they were computed."""
    if isinstance(rule, SpendRule):
        if rule.service_types and event.attrs.get("service_type") not in rule.service_types:
            return 0, ""
        yuan = Decimal(event.amount_fen or 0) / 100
        raw = yuan * rule.points / rule.per_yuan
        return round_points(raw, rule.rounding), f"{yuan} yuan x {rule.points}/{rule.per_yuan} ({rule.rounding.value})"
    if isinstance(rule, PurchaseCountRule):  # 根据消费次数计算积分: per purchase, whatever its amount
        if (event.amount_fen or 0) < max(rule.min_fen, 1):
            return 0, ""
        return rule.points, f"1 purchase x {rule.points}"
    if isinstance(rule, RechargeRule):
        yuan = Decimal(event.amount_fen or 0) / 100
        blocks = int(yuan // rule.block_yuan)
        return blocks * rule.points, f"{blocks} full blocks of {rule.block_yuan} yuan x {rule.points}"
    if isinstance(rule, CheckinRule):
        points, note = rule.points, f"check-in day {member.streak}"
        for bonus in rule.streak:
            if (bonus.every and member.streak % bonus.every == 0) or (bonus.on_day and member.streak == bonus.on_day):
                points += bonus.bonus
                note += f" +{bonus.bonus} streak bonus"
        return points, note
    if isinstance(rule, (FixedRule, ReferralRule)):
        return rule.points, event.type
    return 0, ""


def applicable_rules(plan: Plan, event: Event) -> list[EarnRule]:
    rules = [r for r in plan.rules_for(event.type) if r.window.contains(event.day)]
    if event.type == "referral":
        return []  # referral points are awarded when the referee qualifies, not on the referral event
    return rules


def multiplier_applies(mult: MultiplierRule, base_rule: EarnRule, plan: Plan) -> bool:
    if mult.applies_to:
        return base_rule.id in mult.applies_to
    return isinstance(base_rule, (SpendRule, RechargeRule))


def audience_matches(mult: MultiplierRule, member: MemberState, tier_id: str | None) -> bool:
    aud = mult.audience
    if aud.tiers and tier_id not in aud.tiers:
        return False
    signed_in_window = member.signed_up_on is not None and mult.window.contains(member.signed_up_on)
    if aud.new_members_only and not signed_in_window:
        return False
    if aud.existing_members_only and signed_in_window:
        return False
    return True


def multiplier_extras(
    plan: Plan, event: Event, member: MemberState, base: list[tuple[EarnRule, Contribution]], counter: Counter
) -> list[Contribution]:
    """Extra points from first-purchase, tier and campaign multipliers (campaign caps and budget applied)."""
    extras: list[Contribution] = []
    tier = plan.tier(member.tier) or plan.default_tier()
    for mult in plan.multipliers():
        if not mult.window.contains(event.day):
            continue
        if mult.kind == "first_purchase":
            if event.type not in SPEND_TYPES or member.first_spend_on is not None:
                continue
            factor, why = mult.multiplier, "first purchase"
        elif mult.kind == "tier":
            if tier is None or tier.multiplier == 1:
                continue
            factor, why = tier.multiplier, f"tier {tier.id}"
        else:
            if not audience_matches(mult, member, tier.id if tier else None):
                continue
            factor, why = mult.multiplier, f"campaign {mult.id}"
        for rule, contrib in base:
            if contrib.points <= 0 or not multiplier_applies(mult, rule, plan):
                continue
            extra = round_points(Decimal(contrib.points) * (factor - 1), mult.rounding)
            if extra <= 0:
                continue
            note = f"{why}: {contrib.points} x ({factor} - 1)"
            if mult.kind == "campaign":
                extra, trim = _campaign_trim(mult, member.member_id, extra, counter, extras)
                note += trim
                if extra <= 0:
                    continue
            extras.append(Contribution(mult.id, extra, note, base_rule=rule.id))
    return extras


def _campaign_trim(
    mult: MultiplierRule, member_id: str, extra: int, counter: Counter, so_far: list[Contribution]
) -> tuple[int, str]:
    pending = sum(c.points for c in so_far if c.rule_id == mult.id)
    note = ""
    if mult.per_member_cap is not None:
        room = mult.per_member_cap - counter(member_id, "camp:" + mult.id, "E") - pending
        if extra > room:
            extra, note = max(room, 0), f"; per-member cap {mult.per_member_cap} reached"
    if mult.budget is not None:
        room = mult.budget - counter("*", "camp:" + mult.id, "E") - pending
        if extra > room:
            extra, note = max(room, 0), f"; campaign budget {mult.budget} exhausted"
    return extra, note


def apply_caps(
    plan: Plan, member_id: str, day, contributions: list[Contribution], counter: Counter
) -> list[Contribution]:
    """Trim contributions so that no cap is exceeded; a trimmed contribution says which cap cut it."""
    for cap in plan.caps:
        covered = [c for c in contributions if not cap.rules or c.rule_id in cap.rules or c.base_rule in cap.rules]
        total = sum(c.points for c in covered)
        room = cap.max_points - counter(member_id, "cap:" + cap.id, period_key(cap.period.value, day))
        excess = total - max(room, 0)
        for c in reversed(covered):
            if excess <= 0:
                break
            cut = min(c.points, excess)
            c.points -= cut
            excess -= cut
            c.note += f"; {cut} over cap {cap.id} ({cap.max_points} per {cap.period.value})"
    return contributions
