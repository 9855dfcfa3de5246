"""Spec -> resolved :class:`Plan`: defaults, units and cross references (no I/O).

The resolver always builds a plan from whatever was valid so that warnings can be
computed too; the loader discards it when any error was reported.
"""

from __future__ import annotations

from decimal import Decimal

from weixi.plans import checks
from weixi.plans.diagnostics import Report
from weixi.plans.model import MAX_AMOUNT_YUAN, Cap, ConsumptionOrder, Expiry, ExpiryRule, Period, Plan, ReversalPolicy
from weixi.plans.rewards import resolve_rewards
from weixi.plans.rules import resolve_rules
from weixi.plans.segments import resolve_segments
from weixi.plans.spec import Spec, Val
from weixi.plans.tiers import resolve_tier_policy, resolve_tiers
from weixi.settings import DEFAULT_TIMEZONE

DEFAULT_COST_PER_POINT_YUAN = Decimal("0.01")


def resolve(spec: Spec, source: str, report: Report) -> Plan:
    tiers = resolve_tiers(spec.items("tiers"), report)
    tier_ids = [tier.id for tier in tiers]
    earning = resolve_rules(spec.items("earning"), tier_ids, report)
    rule_ids = dict.fromkeys(i.value.get("id") for i in spec.items("earning") if i.value.get("id") is not None)
    return Plan(
        id=spec.get("plan", ""),
        name=spec.get("name", ""),
        description=spec.get("description", ""),
        expiry=_expiry(spec.get("expiry", "never")),
        consumption_order=ConsumptionOrder(spec.get("consumption_order", "earliest_expiry")),
        reversal_policy=ReversalPolicy(spec.get("reversal_policy", "clawback")),
        registration_required=spec.get("registration_required", False),
        timezone=spec.get("timezone", DEFAULT_TIMEZONE),
        cost_per_point_fen=checks.fen(spec.get("cost_per_point", DEFAULT_COST_PER_POINT_YUAN)),
        max_amount_fen=_max_amount(spec, report),
        tiers=tiers,
        tier_policy=resolve_tier_policy(spec, tiers, report),
        segments=resolve_segments(spec.get("segments"), report),
        earning=earning,
        caps=_caps(spec.items("caps"), rule_ids, report),
        rewards=resolve_rewards(spec.items("rewards"), tier_ids, report),
        source=source,
    )


def _max_amount(spec: Spec, report: Report) -> int | None:
    """``max_amount`` in fen: a cap below the ledger's own bound on what one bill, recharge or refund may say."""
    if spec.get("max_amount") is None:
        return None
    fen = checks.whole_fen(spec, "max_amount", report)
    if fen > MAX_AMOUNT_YUAN * 100:
        report.error(spec.at("max_amount"), "plan_max_amount_too_large", limit=f"{MAX_AMOUNT_YUAN:,}")
    return fen or None


def _expiry(value: str | Spec) -> Expiry:
    if isinstance(value, Spec):
        for rule in ExpiryRule:
            n = value.get(rule.value)
            if n is not None:
                return Expiry(rule, n)
    return Expiry(ExpiryRule.NEVER, 0)


def _caps(items: tuple[Val, ...], rule_ids, report: Report) -> tuple[Cap, ...]:
    by_id = checks.unique(items, "id", "cap id", report)
    caps = []
    for spec in (item.value for item in items):
        rules = checks.references(spec, "rules", rule_ids, "rule id", report)
        if by_id.get(spec.get("id")) is spec and spec.get("per") is not None:
            caps.append(
                Cap(id=spec.get("id"), period=Period(spec.get("per")), max_points=spec.get("max", 0), rules=rules)
            )
    return tuple(caps)
