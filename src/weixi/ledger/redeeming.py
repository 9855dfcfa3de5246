"""Redeeming a reward, the pure part: whether a member may redeem it now (window, tier, per-member limits, stock,
partner merchant) and what the member gets (a bill credit, coupon codes, a privilege, lottery chances, a gift).

:meth:`weixi.ledger.book.Book._on_redeem` applies these to one redeem event; refusals are
:class:`~weixi.ledger.book.Rejected` with their own codes (``outside_window``, ``tier_not_allowed``,
``member_limit``, ``out_of_stock``, ``merchant_not_partner``) and the numbers in ``params``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from weixi.errors import Problem, Where
from weixi.ledger.coupons import coupon_code
from weixi.ledger.events import Event
from weixi.ledger.state import MemberState, RewardStock, period_key
from weixi.plans.model import Plan, Reward, RewardType

LIMIT_PERIODS = ("ever", "day", "month")


def refusal(
    plan: Plan,
    reward: Reward,
    ev: Event,
    member: MemberState,
    qty: int,
    counter: Callable[[str, str, str], int],
    stock: RewardStock | None,
) -> Problem | None:
    """Why ``member`` may not redeem ``qty`` x ``reward`` by ``ev`` (None: they may). ``counter(member, key,
    period key)`` reads the member's redemption counters."""
    if not reward.window.contains(ev.day):
        return Problem(
            "outside_window",
            {
                "reward": reward.id,
                "start": _iso(reward.window.start),
                "end": _iso(reward.window.end),
                "day": ev.day.isoformat(),
            },
        )
    default = plan.default_tier()
    tier = member.tier or (default.id if default else None)
    if reward.tiers and tier not in reward.tiers:
        return Problem("tier_not_allowed", {"reward": reward.id, "tiers": list(reward.tiers), "tier": tier})
    limits = dict(zip(LIMIT_PERIODS, (reward.limit_per_member, reward.limit_per_day, reward.limit_per_month)))
    for period, limit in limits.items():
        used = counter(member.member_id, "rw:" + reward.id, period_key(period, ev.day))
        if limit is not None and used + qty > limit:
            return Problem(
                "member_limit", {"reward": reward.id, "limit": limit, "period": period, "used": used, "qty": qty}
            )
    left = stock.available() if stock is not None else None
    if left is not None and left < qty:
        return Problem("out_of_stock", {"reward": reward.id, "left": left, "qty": qty})
    if reward.type is RewardType.MERCHANT:
        merchant = ev.attrs.get("merchant")
        if merchant not in {m.id for m in reward.merchants}:
            return Problem("merchant_not_partner", {"merchant": merchant, "reward": reward.id}, Where(field="attrs"))
    return None


def fulfilment(reward: Reward, ev: Event, qty: int, random_bytes: Callable[[int], bytes]) -> tuple[dict, list[str]]:
    """What ``qty`` x ``reward`` gives (the redemption's ``details``) and the coupon codes it issues."""
    t = reward.type
    if t is RewardType.BILL_CREDIT:
        return {"credit_fen": reward.credit_fen * qty}, []
    if t is RewardType.COUPON:
        codes = [coupon_code(reward, random_bytes) for _ in range(qty)]
        if reward.percent_off:
            return {"codes": codes, "percent_off": reward.percent_off}, codes
        return {"codes": codes, "face_value_fen": reward.face_value_fen * qty}, codes
    if t is RewardType.RED_PACKET:
        return {"cash_fen": reward.cash_fen * qty}, []
    if t is RewardType.PRIVILEGE:
        return {
            "privilege": reward.privilege,
            "valid_from": ev.day.isoformat(),
            "valid_until": (ev.day + timedelta(days=reward.duration_days * qty - 1)).isoformat(),
        }, []
    if t is RewardType.LOTTERY:
        return {"chances": reward.chances * qty}, []
    if t is RewardType.MERCHANT:
        merchant = next(m for m in reward.merchants if m.id == ev.attrs.get("merchant"))
        settle = (merchant.settle_fen_per_point * reward.cost * qty).quantize(Decimal(1), ROUND_HALF_UP)
        return {"merchant": merchant.id, "settle_fen": int(settle)}, []
    return {"gift": reward.name}, []


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
