"""Resolved plan: what the engine runs.

A plan file is parsed and checked by :mod:`weixi.plans.loader`; the result is a :class:`Plan`
made of the frozen dataclasses below. Nothing after the loader ever sees YAML. Points are
``int``; rates, multipliers and money are ``Decimal``; dates are ``date``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum


class Rounding(str, Enum):
    FLOOR = "floor"
    CEIL = "ceil"
    HALF_UP = "half_up"


class ExpiryRule(str, Enum):
    DAYS_AFTER = "days_after"  # expires_on = earned_on + N days
    MONTHS_AFTER = "months_after"  # expires_on = earned_on + N months (day clamped to month end)
    END_OF_MONTH_AFTER = "end_of_month_after"  # usable to the end of the Nth month after earning
    END_OF_YEAR_AFTER = "end_of_year_after"  # usable to the end of the Nth year after earning
    NEVER = "never"


class ConsumptionOrder(str, Enum):
    EARLIEST_EXPIRY = "earliest_expiry"  # earliest expires_on first, ties by earliest earned
    EARLIEST_EARNED = "earliest_earned"  # FIFO by earned_on


class ReversalPolicy(str, Enum):
    CLAWBACK = "clawback"  # take the spent part from the member's other lots; any rest becomes a debt
    NEGATIVE = "negative"  # the balance goes below zero; later earnings fill it first
    DEBT = "debt"  # balance stays >= 0, a debt is recorded and repaid from later earnings


class Period(str, Enum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    EVER = "ever"


@dataclass(frozen=True)
class Expiry:
    rule: ExpiryRule = ExpiryRule.NEVER
    n: int = 0  # days, months or years depending on rule


@dataclass(frozen=True)
class Tier:
    id: str
    name: str
    rank: int
    multiplier: Decimal = Decimal(1)


@dataclass(frozen=True)
class Cap:
    """At most ``max_points`` per member per ``period`` over ``rules`` (empty = all earning rules)."""

    id: str
    period: Period
    max_points: int
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    start: date | None = None  # first day included
    end: date | None = None  # last day included

    def contains(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Audience:
    """Who a campaign or reward applies to. Empty tuples mean 'anyone'."""

    tiers: tuple[str, ...] = ()
    new_members_only: bool = False  # members who signed up inside the campaign window
    existing_members_only: bool = False  # members who signed up before the window (or never)


# --- earning rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class EarnRule:
    id: str
    events: tuple[str, ...]  # event types the rule reacts to
    rounding: Rounding = Rounding.FLOOR
    window: Window = Window()
    limit_per_day: int | None = None  # times the rule may award per member per day
    limit_per_month: int | None = None
    limit_ever: int | None = None


@dataclass(frozen=True)
class SpendRule(EarnRule):
    """``points`` for every ``per_yuan`` yuan of ``amount`` (rounded per event)."""

    points: Decimal = Decimal(1)
    per_yuan: Decimal = Decimal(1)
    service_types: tuple[str, ...] = ()  # attrs.service_type filter; empty = any


@dataclass(frozen=True)
class RechargeRule(EarnRule):
    """``points`` for every *full* block of ``block_yuan`` yuan (150 yuan at 10/100 -> 10)."""

    points: int = 0
    block_yuan: Decimal = Decimal(100)


@dataclass(frozen=True)
class StreakBonus:
    every: int | None = None  # bonus on every Nth consecutive day (7, 14, 21, ...)
    on_day: int | None = None  # bonus once, on exactly the Nth consecutive day
    bonus: int = 0


@dataclass(frozen=True)
class CheckinRule(EarnRule):
    points: int = 0
    streak: tuple[StreakBonus, ...] = ()


@dataclass(frozen=True)
class FixedRule(EarnRule):
    """A fixed number of points per event: actions (survey, review, share, activity), sign-up, birthday."""

    points: int = 0


@dataclass(frozen=True)
class ReferralRule(EarnRule):
    """``points`` to the referrer once the referee has registered (signup) and paid (bill or recharge)."""

    points: int = 0
    require_registration: bool = True
    require_payment: bool = True


@dataclass(frozen=True)
class MultiplierRule(EarnRule):
    """Extra points on top of other rules' points.

    kind ``first_purchase``: the member's first spend event earns ``multiplier`` x.
    kind ``tier``: each tier's own multiplier.
    kind ``campaign``: ``multiplier`` x inside ``window`` for ``audience``, with a per-member cap and a budget.
    """

    kind: str = "campaign"
    applies_to: tuple[str, ...] = ()  # rule ids; empty = all spend/recharge rules
    multiplier: Decimal = Decimal(1)
    audience: Audience = Audience()
    per_member_cap: int | None = None  # extra points per member over the campaign
    budget: int | None = None  # extra points in total over the campaign


# --- rewards -------------------------------------------------------------------------------


class RewardType(str, Enum):
    GIFT = "gift"
    COUPON = "coupon"
    BILL_CREDIT = "bill_credit"
    PRIVILEGE = "privilege"
    LOTTERY = "lottery"
    MERCHANT = "merchant"


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    settle_fen_per_point: Decimal  # what the operator pays the merchant per point spent, in fen


@dataclass(frozen=True)
class Reward:
    id: str
    type: RewardType
    name: str
    cost: int  # points per unit
    stock: int | None = None  # units; None = unlimited
    limit_per_member: int | None = None  # units over the reward's life
    limit_per_day: int | None = None  # units per member per day
    limit_per_month: int | None = None  # units per member per month
    tiers: tuple[str, ...] = ()  # only these tiers may redeem; empty = all
    window: Window = Window()
    refundable: bool = False  # a member may cancel a fulfilled redemption
    # type specific
    credit_fen: int = 0  # bill_credit: fen credited per unit
    face_value_fen: int = 0  # coupon
    code_prefix: str = ""  # coupon
    privilege: str = ""  # privilege: what is granted
    duration_days: int = 0  # privilege
    chances: int = 0  # lottery: draws per unit
    merchants: tuple[Merchant, ...] = ()  # merchant


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    expiry: Expiry = Expiry()
    consumption_order: ConsumptionOrder = ConsumptionOrder.EARLIEST_EXPIRY
    reversal_policy: ReversalPolicy = ReversalPolicy.CLAWBACK
    registration_required: bool = False  # members must sign up before other events are accepted
    timezone: str = "Asia/Shanghai"
    cost_per_point_fen: Decimal = Decimal(1)  # liability valuation
    tiers: tuple[Tier, ...] = ()
    earning: tuple[EarnRule, ...] = ()
    caps: tuple[Cap, ...] = ()
    rewards: tuple[Reward, ...] = ()
    description: str = ""
    source: str = ""  # file path it came from
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def tier(self, tier_id: str | None) -> Tier | None:
        for t in self.tiers:
            if t.id == tier_id:
                return t
        return None

    def default_tier(self) -> Tier | None:
        return min(self.tiers, key=lambda t: t.rank) if self.tiers else None

    def reward(self, reward_id: str) -> Reward | None:
        for r in self.rewards:
            if r.id == reward_id:
                return r
        return None

    def rules_for(self, event_type: str) -> list[EarnRule]:
        return [r for r in self.earning if event_type in r.events and not isinstance(r, MultiplierRule)]

    def multipliers(self) -> list[MultiplierRule]:
        return [r for r in self.earning if isinstance(r, MultiplierRule)]
