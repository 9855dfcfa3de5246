"""The campaign file (``kind: campaign``) as data: every key, its type and whether it is required.

Read by :func:`weixi.plans.spec.read` like every plan file; docs/campaigns.md documents each key and a test
checks that every key here appears there.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from weixi.campaigns import model as m
from weixi.plans import values as v
from weixi.plans.spec import Field, ListOf, Shape

ID = Field(v.ident, required=True)
NAME = Field(v.text, required=True)
COUNT = Field(v.positive_int)
DAY = Field(v.day, required=True)
YUAN = Field(v.non_negative_decimal)


def share(raw: object) -> Decimal:
    value = v.decimal(raw)
    if not Decimal(0) <= value < 1:
        raise v.BadValue("plan_share_out_of_range", value=value)
    return value


def month(raw: object) -> str:
    text = v.text(raw)
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit() or not 1 <= int(text[5:]) <= 12:
        raise v.BadValue("plan_bad_month", value=text)
    return text


def clock(raw: object) -> time:
    """A time of day ``HH:MM`` (24-hour), e.g. the draw hours ``15:30``."""
    text = v.text(raw)
    hh, sep, mm = text.partition(":")
    if not (sep and len(hh) in (1, 2) and len(mm) == 2 and hh.isdigit() and mm.isdigit()):
        raise v.BadValue("campaign_plan_bad_clock", value=text)
    if int(hh) > 23 or int(mm) > 59:
        raise v.BadValue("campaign_plan_bad_clock", value=text)
    return time(int(hh), int(mm))


def limit(raw: object) -> int | None:
    """A count limit, or ``unlimited`` (no cap: "原则上不限定领取次数")."""
    if raw == "unlimited":
        return None
    return v.positive_int(raw)


def bound(raw: object):
    """A filter bound: a number, or a date for date columns (checked against the column by the resolver)."""
    if isinstance(raw, v.DateText):
        return v.day(raw)
    return v.decimal(raw)


def filter_values(raw: object) -> object:
    return raw  # a scalar, a list or a {min, max} mapping: read by the resolver, which knows the column


WINDOW = Shape("window", {"from": DAY, "to": DAY})

OBJECTIVE = Shape(
    "objective",
    {
        "id": ID,
        "name": Field(v.text),
        "metric": Field(v.choice(tuple(m.METRICS), "objective metric"), required=True),
        "target": Field(v.positive_decimal, required=True),
    },
)

RANGE = Shape("range", {"min": Field(bound), "max": Field(bound)})

AUDIENCE = Shape(
    "audience",
    {
        "source": Field(v.choice(("snapshot", "ledger", "list"), "audience source"), required=True),
        "month": Field(month),
        "where": Field(filter_values),
        "tiers": Field(ListOf(v.ident)),
        "members": Field(ListOf(v.text)),
        "control": Field(Shape("control", {"share": Field(share, required=True)})),
    },
)

BUDGET_LINE = Shape(
    "budget line",
    {
        "line": Field(v.choice(m.BUDGET_LINES, "budget line"), required=True),
        "yuan": YUAN,
        "points": COUNT,
        "note": Field(v.text),
    },
    one_of=("yuan", "points"),
)

MILESTONE = Shape("milestone", {"id": ID, "name": NAME, "owner": NAME, "due": DAY})

CHANNEL = Shape(
    "channel",
    {
        "id": ID,
        "channel": Field(v.choice(m.CHANNELS, "channel"), required=True),
        "template": NAME,
        "send_on": DAY,
        "to": Field(v.choice(("treatment", "participants"), "recipients")),
    },
)

LEVEL = v.int_between(1, 5, "likelihood and impact")

RISK = Shape(
    "risk",
    {
        "id": ID,
        "category": Field(v.choice(m.RISK_CATEGORIES, "risk category"), required=True),
        "description": NAME,
        "likelihood": Field(LEVEL, required=True),
        "impact": Field(LEVEL, required=True),
        "response": Field(v.text),
        "owner": Field(v.text),
    },
)

PRIZE = Shape(
    "prize",
    {
        "id": ID,
        "name": NAME,
        "per_day": Field(v.positive_int, required=True),
        "value_yuan": YUAN,
        "points": COUNT,
    },
)

CHANCES = Shape(
    "chances",
    {
        "per_yuan": Field(v.positive_decimal),
        "buy_points": COUNT,
        "grant": COUNT,
        "max_per_day": COUNT,
    },
)

HOURS = Shape("draw hours", {"from": Field(clock, required=True), "to": Field(clock, required=True)})

LOTTERY = Shape(
    "lottery",
    {
        "prizes": Field(ListOf(PRIZE), required=True),
        "hours": Field(HOURS),
        "blanks_per_day": Field(v.non_negative_int),
        "daily_total": COUNT,
        "chances": Field(CHANCES, required=True),
        "budget_line": Field(v.choice(m.BUDGET_LINES, "budget line")),
    },
)

RANK_REWARD = Shape(
    "rank reward",
    {
        "rank": COUNT,
        "ranks": Field(ListOf(v.positive_int)),
        "points": Field(v.positive_int, required=True),
    },
    one_of=("rank", "ranks"),
)

LEADERBOARD = Shape("leaderboard", {"top": Field(v.positive_int, required=True), "rewards": Field(ListOf(RANK_REWARD))})

REFERRAL = Shape(
    "referral",
    {
        "referrer_points": COUNT,
        "referee_points": COUNT,
        "referrer_gift": Field(v.ident),
        "referee_gift": Field(v.ident),
        "requires": Field(ListOf(v.choice(("registration", "payment"), "referral requirement"))),
        "max_per_referrer": COUNT,
        "link_base": Field(v.text),
    },
)

STREAK = Shape("streak", {"days": Field(v.positive_int, required=True), "points": Field(v.positive_int, required=True)})

CARD_PRIZE = Shape(
    "card prize",
    {
        "id": ID,
        "name": NAME,
        "count": Field(v.positive_int, required=True),
        "value_yuan": YUAN,
        "funded_by": Field(v.choice(("operator", "partner"), "prize funder")),
    },
)

GIFT = Shape(
    "gift",
    {
        "id": ID,
        "name": NAME,
        "stock": Field(v.positive_int, required=True),
        "per_member": Field(limit),
        "per_key_client": COUNT,
        "per_visit": COUNT,
        "win_rate": Field(share),
        "prizes": Field(ListOf(CARD_PRIZE)),
        "value_yuan": YUAN,
    },
)

FOLLOW_UP = Shape(
    "follow-up",
    {
        "id": ID,
        "who": Field(
            v.choice(("participants", "winners", "referrers", "non_participants"), "follow-up group"), required=True
        ),
        "action": Field(v.choice(("call", "sms", "visit"), "follow-up action"), required=True),
        "due_days": Field(v.non_negative_int, required=True),
        "note": Field(v.text),
    },
)

EVALUATION = Shape(
    "evaluation",
    {
        "outcome": Field(v.choice(m.OUTCOMES, "evaluation outcome")),
        "margin_share": Field(v.positive_decimal),
    },
)

CAMPAIGN = Shape(
    "campaign",
    {
        "kind": Field(v.choice(("campaign",), "kind"), required=True),
        "campaign": ID,
        "name": NAME,
        "description": Field(v.text),
        "owner": Field(v.text),
        "timezone": Field(v.timezone_name),
        "window": Field(WINDOW, required=True),
        "objectives": Field(ListOf(OBJECTIVE), required=True),
        "audience": Field(AUDIENCE, required=True),
        "key_clients": Field(ListOf(v.text)),
        "budget": Field(ListOf(BUDGET_LINE), required=True),
        "cost_per_point": Field(v.positive_decimal),
        "points_rules": Field(ListOf(v.ident)),
        "milestones": Field(ListOf(MILESTONE)),
        "channels": Field(ListOf(CHANNEL)),
        "risks": Field(ListOf(RISK)),
        "lottery": Field(LOTTERY),
        "leaderboard": Field(LEADERBOARD),
        "referral": Field(REFERRAL),
        "checkin_streaks": Field(ListOf(STREAK)),
        "gifts": Field(ListOf(GIFT)),
        "follow_ups": Field(ListOf(FOLLOW_UP)),
        "evaluation": Field(EVALUATION),
    },
)
