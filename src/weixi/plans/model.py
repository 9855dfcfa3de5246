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

from weixi.settings import DEFAULT_TIMEZONE


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
    qualify: Decimal | None = None  # threshold of the tier policy's measure, as written: points, or yuan


# --- tier evaluation and segments (run by weixi.segments at the monthly close) -------------------


class TierMeasure(str, Enum):
    POINTS_EARNED = "points_earned"  # points the ledger gave over the window (never the balance)
    SPEND_YUAN = "spend_yuan"  # bills over the window


class UpgradeTiming(str, Enum):
    IMMEDIATE = "immediate"  # at the close of the month the threshold is reached
    REVIEW = "review"  # only at a review close


@dataclass(frozen=True)
class TierPolicy:
    """Who is in which tier: ``measure`` summed over ``window_months`` ending with the closing month.

    Downgrades happen only at a review close (or at the end of a grace that a review started).
    """

    measure: TierMeasure
    window_months: int = 12
    upgrade: UpgradeTiming = UpgradeTiming.IMMEDIATE
    review_months: tuple[int, ...] = (12,)  # calendar months (1-12) whose close reviews every member
    grace_months: int = 0  # a member found below their tier at review keeps it this many more months
    notice_days: int = 30  # "will_downgrade" this many days before the downgrade; 0 = no notice

    def threshold(self, tier: Tier) -> int | None:
        """``tier.qualify`` in the unit the measure is summed in: points, or fen for spend."""
        if tier.qualify is None:
            return None
        return int(tier.qualify if self.measure is TierMeasure.POINTS_EARNED else tier.qualify * 100)


@dataclass(frozen=True)
class StarRow:
    arpu_fen: int  # lower bound of average monthly spend
    stars: tuple[int, ...]  # one star level (1-7) per tenure column


@dataclass(frozen=True)
class StarLevels:
    """星级 1-7: the row of the highest ``arpu_fen`` bound reached x the column of the longest tenure reached."""

    tenure_years: tuple[int, ...]  # column lower bounds, ascending, the first 0
    rows: tuple[StarRow, ...]  # ascending arpu_fen, the first 0
    arpu_months: int = 3


# The largest amount one event may carry: the ledger rejects beyond it (weixi.ledger.events) and a plan's
# max_amount may not exceed it (weixi.plans.resolve).
MAX_AMOUNT_YUAN = Decimal(10) ** 10

VALUE_GRADES = ("A", "B", "C", "D")  # 白金 / 黄金 / 钢铁 / 重铅
VALUE_GRADE_NAMES = {"A": "白金", "B": "黄金", "C": "钢铁", "D": "重铅"}


@dataclass(frozen=True)
class ValuePyramid:
    """Members ranked by contribution; the smallest group of top members making ``cuts[A]`` of the total is A,
    the next up to ``cuts[B]`` is B, up to ``cuts[C]`` C, the rest D."""

    cuts: tuple[tuple[str, Decimal], ...]  # (("A", 0.5), ("B", 0.8), ("C", 0.95)), strictly increasing, < 1
    window_months: int = 12


@dataclass(frozen=True)
class ActivityRule:
    max_days_since: int | None = None  # days from the last activity to the month end
    min_touches: int | None = None  # activity records over the window


@dataclass(frozen=True)
class ActivityGrades:
    """活跃/一般/沉默: ``active`` when its rule holds, else ``normal`` when its rule holds, else ``silent``."""

    active: ActivityRule
    normal: ActivityRule
    window_months: int = 3


@dataclass(frozen=True)
class Rfm:
    window_months: int = 12
    bins: int = 5  # scores 1..bins


@dataclass(frozen=True)
class KeyAccount:
    """A key-account level; a member gets the first level whose every condition holds (none = everyone)."""

    id: str
    name: str
    min_spend_fen: int | None = None  # spend over the window
    min_active_months: int | None = None  # months of the window with at least one activity record
    min_tenure_years: int | None = None


@dataclass(frozen=True)
class KeyAccounts:
    levels: tuple[KeyAccount, ...]
    window_months: int = 12


@dataclass(frozen=True)
class Segments:
    """Set-based segmentations computed at each close; a section left out is not computed."""

    star_levels: StarLevels | None = None
    value_pyramid: ValuePyramid | None = None
    activity: ActivityGrades | None = None
    rfm: Rfm | None = None
    key_accounts: KeyAccounts | None = None


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
    name: str = ""  # what people see (账单消费积分); the id when the plan gives none

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.id)


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
class PurchaseCountRule(EarnRule):
    """``points`` per purchase (a bill of at least ``min_fen``), whatever its amount: points by purchase count."""

    points: int = 0
    min_fen: int = 0


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
    RED_PACKET = "red_packet"  # 现金红包: cash paid to the member


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
    face_value_fen: int = 0  # coupon: a fixed value off (yuan), or
    percent_off: int = 0  # coupon: a percentage off (9折 = 10)
    cash_fen: int = 0  # red_packet: cash per unit
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
    timezone: str = DEFAULT_TIMEZONE
    cost_per_point_fen: Decimal = Decimal(1)  # liability valuation
    max_amount_fen: int | None = None  # the largest amount one event may carry (None: the ledger's own bound)
    tiers: tuple[Tier, ...] = ()
    tier_policy: TierPolicy | None = None  # None: tiers come from the source system's events
    segments: Segments | None = None
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
