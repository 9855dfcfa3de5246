"""What the engine knows about a member and the running counters, between events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache


@dataclass
class MemberState:
    member_id: str
    tier: str | None = None
    signed_up_on: date | None = None
    first_spend_on: date | None = None  # first bill or recharge
    paid: bool = False  # has made a payment (bill or recharge)
    last_checkin_on: date | None = None
    streak: int = 0
    balance: int = 0
    debt: int = 0
    first_seen_on: date | None = None
    dirty: bool = field(default=False, compare=False)
    new: bool = field(default=False, compare=False)


@dataclass
class Referral:
    referee_id: str
    referrer_id: str
    event_id: str
    day: date
    rule_id: str
    awarded_on: date | None = None
    dirty: bool = field(default=False, compare=False)


@dataclass
class RewardStock:
    reward_id: str
    stock_total: int | None  # None = unlimited
    issued: int = 0
    dirty: bool = field(default=False, compare=False)

    def available(self) -> int | None:
        return None if self.stock_total is None else self.stock_total - self.issued


@dataclass(frozen=True)
class SourceEvent:
    """An event already in the ledger, as a refund or a cancellation needs it."""

    event_id: str
    member_id: str
    type: str
    day: date
    amount_fen: int | None
    earned: int  # points it earned (sum of its earn entries)


@lru_cache(maxsize=4096)  # pure; a batch asks for the same few days thousands of times (strftime per call)
def period_key(period: str, day: date) -> str:
    if period == "day":
        return "D" + day.isoformat()
    if period == "month":
        return "M" + day.strftime("%Y-%m")
    if period == "year":
        return f"Y{day.year}"
    return "E"


@lru_cache(maxsize=1024)
def period_keys(day: date) -> tuple[str, ...]:
    return (period_key("day", day), period_key("month", day), period_key("year", day), "E")
