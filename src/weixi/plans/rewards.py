"""Resolve reward specs into :class:`Reward` dataclasses (no I/O)."""

from __future__ import annotations

from weixi.plans import checks
from weixi.plans.diagnostics import Report
from weixi.plans.model import Merchant, Reward, RewardType
from weixi.plans.spec import Spec, Val


def resolve_rewards(items: tuple[Val, ...], tier_ids, report: Report) -> tuple[Reward, ...]:
    by_id = checks.unique(items, "id", "reward id", report)
    rewards = []
    for spec in (item.value for item in items):
        reward = _reward(spec, tier_ids, report)
        if reward is not None and by_id.get(spec.get("id")) is spec:
            rewards.append(reward)
    return tuple(rewards)


def _reward(spec: Spec, tier_ids, report: Report) -> Reward | None:
    tiers = checks.references(spec, "tiers", tier_ids, "tier", report)
    window = checks.window(spec.get("window"), report)
    merchants = _merchants(spec, report)
    credit_fen = checks.whole_fen(spec, "credit_yuan", report)
    face_value_fen = checks.whole_fen(spec, "face_value_yuan", report)
    cash_fen = checks.whole_fen(spec, "cash_yuan", report)
    try:
        reward_type = RewardType(spec.get("type"))
    except ValueError:
        return None  # reported by the schema
    if reward_type is RewardType.COUPON:
        # 5元优惠券 (face_value_yuan: 5) or 9折优惠券 (percent_off: 10): exactly one
        written = [k for k in ("face_value_yuan", "percent_off") if k in spec.fields]
        if len(written) != 1:
            report.error(spec.pos, "plan_coupon_value", reward=spec.get("id", ""), found=written)
    limit = spec.get("limit") or Spec(spec.pos)
    return Reward(
        id=spec.get("id", ""),
        type=reward_type,
        name=spec.get("name", ""),
        cost=spec.get("cost", 0),
        stock=spec.get("stock"),
        limit_per_member=limit.get("per_member"),
        limit_per_day=limit.get("per_day"),
        limit_per_month=limit.get("per_month"),
        tiers=tiers,
        window=window,
        refundable=spec.get("refundable", False),
        credit_fen=credit_fen,
        face_value_fen=face_value_fen,
        percent_off=spec.get("percent_off", 0),
        cash_fen=cash_fen,
        code_prefix=spec.get("code_prefix", ""),
        privilege=spec.get("privilege", ""),
        duration_days=spec.get("days", 0),
        chances=spec.get("chances", 1) if reward_type is RewardType.LOTTERY else 0,
        merchants=merchants,
    )


def _merchants(spec: Spec, report: Report) -> tuple[Merchant, ...]:
    items = spec.items("merchants")
    by_id = checks.unique(items, "id", "merchant id", report)
    if "merchants" in spec.fields and not items:
        report.error(spec.at("merchants"), "plan_merchant_reward_no_merchants")
    return tuple(
        Merchant(
            id=m.get("id"), name=m.get("name", ""), settle_fen_per_point=checks.fen(m.get("settle_yuan_per_point"))
        )
        for m in (item.value for item in items)
        if by_id.get(m.get("id")) is m and m.get("settle_yuan_per_point") is not None
    )
