"""Resolved incentive plans: frozen values the compute code reads (the *spec* stays in the loader).

Money is ``Decimal`` yuan, units and KPI points are ``Decimal``; percentages are kept as written
(``Decimal(50)`` for ``50%``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from weixi.plans.model import Window

KINDS = ("incentive", "scorecard", "discipline", "referral", "key_account", "commission_split")
PERIODS = ("month", "quarter", "year")
BUSINESSES = ("phone_for_credit", "broadband_prepay", "fiber_migration")
MEASURES = ("mobile", "broadband")
CARDS = ("primary", "secondary")
NETWORKS = ("2G", "3G", "4G", "5G")
# Order fields an exclusion may test, and what kind of value each holds.
CONDITION_FIELDS = {
    "card": "choice",
    "network": "choice",
    "monthly_rent": "decimal",
    "active": "bool",
    "cancels_unexpired_subsidy": "bool",
    "broadband_only": "bool",
}


@dataclass(frozen=True)
class Condition:
    field: str
    values: tuple  # the order matches when its field equals one of these


@dataclass(frozen=True)
class Exclusion:
    id: str
    reason: str
    conditions: tuple[Condition, ...]
    unless: bool = False  # True: excluded unless every condition holds; False: excluded when every one holds


@dataclass(frozen=True)
class CashTier:
    upto: int | None  # households 1..upto of the month at this rate; None = every household beyond
    yuan: Decimal


@dataclass(frozen=True)
class CashSchedule:
    roles: tuple[str, ...] | None  # None: every role not named by an earlier schedule ("other")
    tiers: tuple[CashTier, ...]

    def yuan_for(self, rank: int) -> Decimal:
        """Yuan for the ``rank``-th (1-based) household of the month."""
        for tier in self.tiers:
            if tier.upto is None or rank <= tier.upto:
                return tier.yuan
        return Decimal(0)

    def describe(self) -> str:
        parts, low = [], 1
        for tier in self.tiers:
            if tier.upto is None:
                parts.append(f"{tier.yuan} yuan from household {low}" if low > 1 else f"{tier.yuan} yuan each")
            else:
                parts.append(f"{tier.yuan} yuan for households {low}-{tier.upto}")
                low = tier.upto + 1
        return ", ".join(parts)


@dataclass(frozen=True)
class OrderRule:
    id: str
    name: str
    business: str
    measure: str | None  # mobile | broadband | None (no units)
    expiring_units: Decimal
    non_expiring_units: Decimal
    kpi_only: bool  # units count into the monthly KPI only, not into the over-quota bonus
    cash: tuple[CashSchedule, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    roles: tuple[str, ...] | None = None  # None: every role may be credited
    unit_roles: tuple[str, ...] | None = None  # None: every credited role gets the units; else only these

    def schedule_for(self, role: str | None) -> CashSchedule | None:
        for schedule in self.cash:
            if schedule.roles is None or (role is not None and role in schedule.roles):
                return schedule
        return None


@dataclass(frozen=True)
class Metric:
    id: str
    weight: Decimal  # percent
    bonus: bool = False  # a bonus weight, on top of the 100%


@dataclass(frozen=True)
class Band:
    grade: str
    name: str
    low: Decimal | None
    low_closed: bool
    high: Decimal | None
    high_closed: bool

    def contains(self, score: Decimal) -> bool:
        if self.low is not None and (score < self.low or (score == self.low and not self.low_closed)):
            return False
        if self.high is not None and (score > self.high or (score == self.high and not self.high_closed)):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'≥' if self.low_closed else '>'}{self.low}")
        if self.high is not None:
            parts.append(f"{'≤' if self.high_closed else '<'}{self.high}")
        return " and ".join(parts)


@dataclass(frozen=True)
class BonusRow:
    roles: tuple[str, ...] | None  # None = other
    yuan: dict[str, Decimal]  # grade -> yuan


@dataclass(frozen=True)
class RankAward:
    id: str
    name: str
    top: Decimal  # percent of the ranked population, cumulative
    yuan: Decimal = Decimal(0)  # the award's money on the pay statement


@dataclass(frozen=True)
class Award:
    id: str
    name: str
    yuan: Decimal = Decimal(0)


@dataclass(frozen=True)
class Awards:
    ranks: tuple[RankAward, ...] = ()
    improvement: Award | None = None
    rest: Award | None = None
    teams: bool = False


RECORD_MEASURES = ("survey_mean", "resolved_share", "resolved_within")


@dataclass(frozen=True)
class RecordMetric:
    """A scorecard metric computed from the service records attributed to the staff member (issue 19 §8):
    ``survey_mean`` the mean survey score (on ``survey_scale``), ``resolved_share`` the share of their complaints
    resolved, ``resolved_within`` the share resolved within ``hours``; each put on the scorecard's scale."""

    metric: str
    measure: str
    survey_scale: Decimal | None = None
    hours: Decimal | None = None


@dataclass(frozen=True)
class Scorecard:
    scale: Decimal
    metrics: tuple[Metric, ...]
    bands: tuple[Band, ...] = ()
    bonus: tuple[BonusRow, ...] = ()
    awards: Awards = field(default_factory=Awards)
    from_records: tuple[RecordMetric, ...] = ()

    def bonus_row(self, role: str | None) -> BonusRow | None:
        for row in self.bonus:
            if row.roles is None or (role is not None and role in row.roles):
                return row
        return None


@dataclass(frozen=True)
class Violation:
    id: str
    name: str
    kpi_points: Decimal
    fine_yuan: Decimal = Decimal(0)


@dataclass(frozen=True)
class ReferralTerms:
    customer_points: int
    customer_gift: str | None
    employee_yuan: Decimal
    lead_converted_yuan: Decimal
    fabricated_fine_yuan: Decimal
    excluded_roles: tuple[str, ...] = ()
    requires_approval: bool = True
    requires_yellow_card: bool = False  # the referrer must be on the new customer's yellow card (黄卡)
    first_visit_only: bool = False  # the new customer must be on their first visit (首次到店客户)


@dataclass(frozen=True)
class KeyAccountTerms:
    information_points: Decimal
    weekly_customers: int
    monthly_customers: int
    contribution_points: Decimal
    min_contribution: Decimal  # percent of the unit's monthly business
    pro_rata: bool = True


@dataclass(frozen=True)
class CardRule:
    card: str  # stored_value | timed
    name: str
    level: int  # maintenance level: 1 first-class (stored value), 2 second-class (timed)
    other_shift: str  # maintainer_only | shared: who earns when the member pays on another staff's shift


@dataclass(frozen=True)
class SplitTerms:
    cards: tuple[CardRule, ...]
    intern_cards: tuple[str, ...]
    both_shifts: dict[str, str]  # card -> morning | evening: who maintains a new member when both shifts are on duty
    commission_rate: Decimal | None = None  # percent of the amount; None: report the commission base only

    def card(self, card: str) -> CardRule | None:
        return next((c for c in self.cards if c.card == card), None)


@dataclass(frozen=True)
class KpiTerms:
    """The monthly KPI quota (任务量) in efficiency units by measure, and the over-quota bonus (超量奖) in yuan per
    unit beyond it; units of a ``kpi_only`` rule count against the quota and never into the over-quota bonus."""

    quota: dict[str, Decimal]  # measure -> units a month (a roster-wide default; the quotas input overrides it)
    over_quota_yuan: dict[str, Decimal]  # measure -> yuan per unit above the quota


@dataclass(frozen=True)
class ApprovalStep:
    id: str
    name: str
    roles: tuple[str, ...]  # who may decide this step (the one role vocabulary, names kind ``staff_role``)


@dataclass(frozen=True)
class Suspension:
    month: str  # YYYY-MM: no pay is computed from the plan that month
    reason: str


@dataclass(frozen=True)
class IncentivePlan:
    id: str
    name: str
    kind: str
    description: str = ""
    valid: Window = field(default_factory=Window)
    replaces: str | None = None
    business: str | None = None  # what a plan without orders pays for (overlap check); default: its id
    period: str = "month"
    roles: tuple[str, ...] = ()  # who the plan applies to; empty: everyone
    orders: tuple[OrderRule, ...] = ()
    scorecard: Scorecard | None = None
    violations: tuple[Violation, ...] = ()
    referral: ReferralTerms | None = None
    key_account: KeyAccountTerms | None = None
    split: SplitTerms | None = None
    kpi: KpiTerms | None = None
    approval: tuple[ApprovalStep, ...] = ()  # steps in order; the plan's pay is published only when all accepted
    suspended: tuple[Suspension, ...] = ()
    source: str = ""
    valid_at: tuple[int, int] = (1, 1)  # line and column of ``valid`` in the source, for cross-file messages

    @property
    def businesses(self) -> tuple[str, ...]:
        """What the plan pays for: its order businesses, else its ``business`` (default: its own id)."""
        if self.orders:
            return tuple(dict.fromkeys(r.business for r in self.orders))
        return (self.business or self.id,)

    def suspension(self, month: str) -> Suspension | None:
        return next((x for x in self.suspended if x.month == month), None)

    def rule(self, rule_id: str) -> OrderRule | None:
        return next((r for r in self.orders if r.id == rule_id), None)
