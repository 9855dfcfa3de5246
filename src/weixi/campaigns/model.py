"""A campaign (保客活动) as the engine runs it: frozen values resolved from a ``kind: campaign`` file.

Points are ``int``; money is integer fen; shares and scores are ``Decimal``; dates are ``date``.
Nothing here does I/O. See docs/campaigns.md for the file format and the meaning of every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal

from weixi.settings import DEFAULT_TIMEZONE

# --- lifecycle -----------------------------------------------------------------------------------

DRAFT, SUBMITTED, APPROVED, RUNNING, CLOSED, EVALUATED, CANCELLED = (
    "draft",
    "submitted",
    "approved",
    "running",
    "closed",
    "evaluated",
    "cancelled",
)
STATUSES = (DRAFT, SUBMITTED, APPROVED, RUNNING, CLOSED, EVALUATED, CANCELLED)

# --- objectives ----------------------------------------------------------------------------------

METRICS = {
    "participants": "members who took part (drew, bought chances, referred, checked in, claimed a gift, "
    "or earned points from the campaign's rules) in the window",
    "sales_yuan": "bills of the audience's treatment group in the window, in yuan",
    "satisfaction": "average survey score (attrs.score of survey events) in the window, or a recorded measure",
    "activity_rate": "share of the treatment group with any ledger event in the window",
    "referrals": "referrals that qualified (registered and paid) and passed the fraud checks or review",
    "repurchase_rate": "share of the treatment group with two or more bills in the window",
    "new_members": "members who signed up in the window",
    "points_issued": "points the campaign gave (its earning rules, prizes, leaderboard, referrals, streaks)",
    "points_redeemed": "points the treatment group spent (redemptions and chances bought) in the window",
}
RATE_METRICS = ("activity_rate", "repurchase_rate")


@dataclass(frozen=True)
class Objective:
    id: str
    name: str
    metric: str
    target: Decimal  # in the metric's unit: members, yuan, score, share (0..1), count, points


# --- audience ------------------------------------------------------------------------------------

SNAPSHOT_COLUMNS = {  # columns of the monthly close's snapshot a filter may name, and their kind
    "status": "text",
    "tier": "text",
    "city": "text",
    "manager_id": "text",
    "payment_type": "text",
    "card_role": "text",
    "network": "text",
    "plan_name": "text",
    "value_grade": "text",
    "activity_grade": "text",
    "rfm": "text",
    "key_account": "text",
    "star_level": "number",
    "arpu_fen": "number",
    "points_balance": "number",
    "month_spend_fen": "number",
    "join_date": "date",
}


@dataclass(frozen=True)
class Filter:
    column: str
    values: tuple = ()  # one of these (text columns)
    min: Decimal | date | None = None  # inclusive bounds (number and date columns)
    max: Decimal | date | None = None


@dataclass(frozen=True)
class Audience:
    """Who the campaign is for. ``source``: ``snapshot`` (a monthly close, filtered), ``ledger`` (members in the
    points ledger, optionally by tier) or ``list`` (member ids written in the file)."""

    source: str = "ledger"
    month: str | None = None  # snapshot month YYYY-MM; None = the latest closed month
    filters: tuple[Filter, ...] = ()
    tiers: tuple[str, ...] = ()  # ledger source
    members: tuple[str, ...] = ()  # list source
    control_share: Decimal = Decimal(0)  # held out: no promotion, no draws; measured for the lift


# --- budget, plan of work, channels, risks ------------------------------------------------------

BUDGET_LINES = ("venue", "promotion", "gifts", "staff", "catering", "points", "operations", "other")


@dataclass(frozen=True)
class BudgetLine:
    line: str
    fen: int  # planned money (0 for a points line: see weixi.campaigns.budget.planned_fen)
    points: int | None = None  # a points line's planned points, valued at the cost per point
    note: str = ""


@dataclass(frozen=True)
class Milestone:
    id: str
    name: str
    owner: str
    due: date


CHANNELS = ("sms", "email")


@dataclass(frozen=True)
class Channel:
    id: str
    channel: str  # sms | email
    template: str  # message text; {name} and {campaign} are filled in
    send_on: date
    to: str = "treatment"  # treatment | participants


RISK_CATEGORIES = ("market", "legal", "safety", "public_opinion", "technical", "fraud")


@dataclass(frozen=True)
class Risk:
    id: str
    category: str
    description: str
    likelihood: int  # 1..5
    impact: int  # 1..5
    response: str = ""
    owner: str = ""

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def level(self) -> str:
        return "high" if self.score >= 15 else "medium" if self.score >= 8 else "low"


# --- mechanics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prize:
    id: str
    name: str
    per_day: int  # units put in the box each day of the window
    value_fen: int = 0  # what one unit costs the operator (charged to the lottery's budget line)
    points: int = 0  # points credited to the winner through the ledger


@dataclass(frozen=True)
class Lottery:
    prizes: tuple[Prize, ...]
    blanks_per_day: int = 0  # "谢谢参与" tickets in the box
    daily_total: int | None = None  # what the file says the prizes add up to a day (checked)
    per_yuan: Decimal | None = None  # one chance per full this-many yuan of bills in the window
    chance_points: int | None = None  # one chance bought for this many points
    grant: int = 0  # chances every audience member holds
    max_per_day: int | None = None  # draws per member per day
    budget_line: str = "gifts"
    hours: tuple[time, time] | None = None  # draws only from..to each day, in the campaign's timezone

    def prize(self, prize_id: str) -> Prize | None:
        return next((p for p in self.prizes if p.id == prize_id), None)

    def tickets_per_day(self) -> int:
        return sum(p.per_day for p in self.prizes) + self.blanks_per_day


@dataclass(frozen=True)
class RankReward:
    first: int  # ranks first..last, inclusive
    last: int
    points: int


@dataclass(frozen=True)
class Leaderboard:
    top: int
    rewards: tuple[RankReward, ...] = ()

    def reward_for(self, rank: int) -> int:
        return next((r.points for r in self.rewards if r.first <= rank <= r.last), 0)


@dataclass(frozen=True)
class Referral:
    referrer_points: int = 0
    referee_points: int = 0
    referrer_gift: str | None = None  # a gift of the campaign handed to the referrer (e.g. 电影票兑换券)
    referee_gift: str | None = None
    require_registration: bool = True
    require_payment: bool = True
    max_per_referrer: int | None = None
    link_base: str = "https://weixi.local/r/"


@dataclass(frozen=True)
class StreakReward:
    days: int
    points: int


@dataclass(frozen=True)
class CardPrize:
    """A winning level printed on a gift that is itself a ticket (a scratch card, 刮刮卡): ``count`` of the gift's
    stock win it. ``funded_by``: ``operator`` (charged to the gifts line) or ``partner`` (paid by the card's issuer,
    e.g. the post office's 邮政即开奖)."""

    id: str
    name: str
    count: int
    value_fen: int = 0
    funded_by: str = "operator"


@dataclass(frozen=True)
class Gift:
    """A gift handed out on a visit (到访礼), first come first served from ``stock``."""

    id: str
    name: str
    stock: int
    per_member: int | None = 1  # over the campaign; None: no cap ("原则上不限")
    value_fen: int = 0
    per_key_client: int | None = None  # the limit for the campaign's key clients (大客户), instead of per_member
    per_visit: int | None = None  # at most this many on one visit: one day at the counter (campaign's timezone)
    win_rate: Decimal | None = None  # a card's stated chance of winning: checked against prizes / stock
    prizes: tuple[CardPrize, ...] = ()  # the winning levels printed on the cards (a scratch card's prize table)

    @property
    def winning(self) -> int:
        return sum(p.count for p in self.prizes)

    def limit_for(self, key_client: bool) -> int | None:
        return self.per_key_client if key_client and self.per_key_client is not None else self.per_member


@dataclass(frozen=True)
class FollowUp:
    id: str
    who: str  # participants | winners | referrers | non_participants
    action: str  # call | sms | visit
    due_days: int  # calendar days after the window ends
    note: str = ""


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


OUTCOMES = ("spend", "activity")  # per-member measure the lift is computed on


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    window: Window
    description: str = ""
    owner: str = ""
    timezone: str = DEFAULT_TIMEZONE
    objectives: tuple[Objective, ...] = ()
    audience: Audience = Audience()
    budget: tuple[BudgetLine, ...] = ()
    cost_per_point: Decimal | None = None  # yuan per point; None: the active points plan's
    points_rules: tuple[str, ...] = ()  # earning rules of the points plan whose points belong to the campaign
    milestones: tuple[Milestone, ...] = ()
    channels: tuple[Channel, ...] = ()
    risks: tuple[Risk, ...] = ()
    lottery: Lottery | None = None
    leaderboard: Leaderboard | None = None
    referral: Referral | None = None
    streaks: tuple[StreakReward, ...] = ()
    gifts: tuple[Gift, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    outcome: str = "spend"
    margin_share: Decimal = Decimal(1)  # share of incremental sales that is margin, for the ROI
    source: str = ""
    key_clients: tuple[str, ...] = ()  # member ids of the key clients (大客户名单), for gifts' per_key_client
    window_end_at: tuple[int, int] = field(default=(1, 1), compare=False)  # line, column of window.to in the file

    def gift(self, gift_id: str) -> Gift | None:
        return next((g for g in self.gifts if g.id == gift_id), None)
