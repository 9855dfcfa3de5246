"""Who a referral may pay for (pure): only a new member, and never a mutual pair (issue 16).

The seeds: "推荐新客户:每成功推荐一个新客户可获得100积分" (000), "必须为首次到店客户" (003). A member the ledger knew
before the referral's day (signed up, first seen or first paid) is not new; B referring A after A referred B is a
mutual pair, refused in the ledger (campaign referrals send such pairs to their review queue instead).
"""

from __future__ import annotations

from datetime import date

from weixi.errors import Problem
from weixi.ledger.state import MemberState, Referral


def joined(member: MemberState | None) -> date | None:
    """The first day the ledger knew ``member``; None for a stranger."""
    days = [d for d in (member.signed_up_on, member.first_seen_on, member.first_spend_on) if d] if member else []
    return min(days) if days else None


def joined_before(member: MemberState | None, day: date) -> bool:
    since = joined(member)
    return since is not None and since < day


def refusal(
    referrer_id: str, referee_id: str, referee: MemberState | None, referrals: dict[str, Referral], day: date
) -> Problem | None:
    """Why ``referrer_id`` may not refer ``referee_id`` on ``day`` (None: they may): ``mutual_referral`` or
    ``referee_not_new``."""
    mine = referrals.get(referrer_id)
    if mine is not None and mine.referrer_id == referee_id:
        return Problem("mutual_referral", {"referee": referee_id, "referrer": referrer_id, "event": mine.event_id})
    since = joined(referee)
    if since is not None and since < day:
        return Problem("referee_not_new", {"referee": referee_id, "since": since.isoformat()})
    return None
