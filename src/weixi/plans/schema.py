"""The plan language as data: every key, its type and whether it is required.

See docs/plan-language.md; a test checks that every key here is documented there.
"""

from __future__ import annotations

from weixi.plans import values as v
from weixi.plans.spec import Either, Field, ListOf, Shape, Tagged

EVENT_TYPES = (
    "bill",
    "recharge",
    "checkin",
    "survey",
    "review",
    "share",
    "activity",
    "signup",
    "referral",
    "birthday",
    "refund",
    "redeem",
    "adjust",
)
EARNING_EVENTS = EVENT_TYPES[:10]
ACTION_EVENTS = ("survey", "review", "share", "activity")

BASE_RULE_TYPES = ("spend", "recharge", "checkin", "action", "signup", "birthday", "referral", "purchase_count")
MULTIPLIER_RULE_TYPES = ("first_purchase", "tier_multiplier", "campaign")


def earning_event(raw: object) -> str:
    if isinstance(raw, str) and raw in EVENT_TYPES and raw not in EARNING_EVENTS:
        raise v.BadValue("plan_event_not_earning", value=str(raw), events=list(EARNING_EVENTS))
    if isinstance(raw, str) and not isinstance(raw, v.FloatText) and raw not in EVENT_TYPES:
        code, hint = v.suggested("plan_unknown_event_type", raw, EVENT_TYPES)
        raise v.BadValue(code, value=str(raw), **hint)
    return v.choice(EARNING_EVENTS, "event type")(raw)


ID = Field(v.ident, required=True)
NAME = Field(v.label, required=True)  # a display name: one line, not blank, at most 40 characters
IDS = Field(ListOf(v.ident))
COUNT = Field(v.positive_int)
POINTS = Field(v.positive_int, required=True)

WINDOW = Shape("window", {"from": Field(v.day), "to": Field(v.day)})

EXPIRY_FORMS = ("days_after", "months_after", "end_of_month_after", "end_of_year_after")


def expiry_word(raw: object) -> str:
    if raw == "never" and not isinstance(raw, v.FloatText):
        return "never"
    forms = ", ".join(f"{{{form}: N}}" for form in EXPIRY_FORMS)
    code, hint = v.suggested("plan_bad_expiry", raw, ("never",))
    raise v.BadValue(code, forms=forms, **v.got(raw), **hint)


EXPIRY = Either(
    expiry_word,
    Shape(
        "expiry",
        {
            "days_after": Field(v.positive_int),
            "months_after": Field(v.positive_int),
            "end_of_month_after": Field(v.non_negative_int),
            "end_of_year_after": Field(v.non_negative_int),
        },
        one_of=EXPIRY_FORMS,
    ),
)

TIER = Shape(
    "tier",
    {
        "id": ID,
        "name": NAME,
        "rank": Field(v.integer, required=True),
        "multiplier": Field(v.positive_decimal),
        "qualify": Field(v.non_negative_decimal),
    },
)

TIER_MEASURES = ("points_earned", "spend_yuan")
UPGRADE_TIMINGS = ("immediate", "review")
MONTHS = Field(v.positive_int)  # a window in months

TIER_POLICY = Shape(
    "tier_policy",
    {
        "measure": Field(v.choice(TIER_MEASURES, "tier measure"), required=True),
        "window_months": MONTHS,
        "upgrade": Field(v.choice(UPGRADE_TIMINGS, "upgrade timing")),
        "review_months": Field(ListOf(v.integer)),  # 1-12, checked by the resolver
        "grace_months": Field(v.non_negative_int),
        "notice_days": Field(v.non_negative_int),
    },
)

STAR_ROW = Shape(
    "star row",
    {
        "arpu_yuan": Field(v.non_negative_decimal, required=True),
        "stars": Field(ListOf(v.integer), required=True),  # 1-7, checked by the resolver with the row's length
    },
)

STAR_LEVELS = Shape(
    "star_levels",
    {
        "arpu_months": MONTHS,
        "tenure_years": Field(ListOf(v.non_negative_int), required=True),
        "table": Field(ListOf(STAR_ROW), required=True),
    },
)

SHARE = Field(v.positive_decimal, required=True)

VALUE_PYRAMID = Shape(
    "value_pyramid",
    {"window_months": MONTHS, "cuts": Field(Shape("cuts", {"A": SHARE, "B": SHARE, "C": SHARE}), required=True)},
)

ACTIVITY_GRADE = Shape("activity grade", {"max_days_since": Field(v.non_negative_int), "min_touches": COUNT})

ACTIVITY = Shape(
    "activity",
    {
        "window_months": MONTHS,
        "active": Field(ACTIVITY_GRADE, required=True),
        "normal": Field(ACTIVITY_GRADE, required=True),
    },
)

RFM = Shape("rfm", {"window_months": MONTHS, "bins": Field(v.int_between(2, 9, "the number of bins"))})

KEY_ACCOUNT = Shape(
    "key account level",
    {
        "id": ID,
        "name": NAME,
        "min_spend_yuan": Field(v.non_negative_decimal),
        "min_active_months": COUNT,
        "min_tenure_years": Field(v.non_negative_int),
    },
)

KEY_ACCOUNTS = Shape(
    "key_accounts",
    {"window_months": MONTHS, "levels": Field(ListOf(KEY_ACCOUNT), required=True)},
)

SEGMENTS = Shape(
    "segments",
    {
        "star_levels": Field(STAR_LEVELS),
        "value_pyramid": Field(VALUE_PYRAMID),
        "activity": Field(ACTIVITY),
        "rfm": Field(RFM),
        "key_accounts": Field(KEY_ACCOUNTS),
    },
)

STREAK = Shape(
    "streak",
    {"every": COUNT, "on_day": COUNT, "bonus": POINTS},
    one_of=("every", "on_day"),
)

AUDIENCE = Shape(
    "audience",
    {"tiers": IDS, "members": Field(v.choice(("all", "new", "existing"), "audience members"))},
)

RULE = Tagged(
    "earning rule",
    "type",
    common={
        "id": ID,
        "name": Field(v.label),  # optional: the id shows when absent
        "type": Field(v.text, required=True),
        "on": Field(ListOf(earning_event)),
        "rounding": Field(v.choice(("floor", "ceil", "half_up"), "rounding")),
        "window": Field(WINDOW),
        "limit": Field(Shape("limit", {"per_day": COUNT, "per_month": COUNT, "ever": COUNT})),
    },
    variants={
        "spend": {
            "points": Field(v.positive_decimal),
            "per_yuan": Field(v.positive_decimal),
            "service_types": Field(ListOf(v.text)),
        },
        "recharge": {"points": POINTS, "per_full_yuan": Field(v.positive_decimal, required=True)},
        "purchase_count": {"points": POINTS, "min_yuan": Field(v.positive_decimal)},
        "checkin": {"points": POINTS, "streak": Field(ListOf(STREAK))},
        "action": {"points": POINTS, "on": Field(ListOf(earning_event), required=True)},
        "signup": {"points": POINTS},
        "birthday": {"points": POINTS},
        "referral": {
            "points": POINTS,
            "requires": Field(ListOf(v.choice(("registration", "payment"), "referral requirement"))),
        },
        "first_purchase": {"multiplier": Field(v.positive_decimal, required=True), "applies_to": IDS},
        "tier_multiplier": {"applies_to": IDS},
        "campaign": {
            "multiplier": Field(v.positive_decimal, required=True),
            "window": Field(WINDOW, required=True),
            "applies_to": IDS,
            "audience": Field(AUDIENCE),
            "per_member_cap": COUNT,
            "budget": COUNT,
        },
    },
)

CAP = Shape(
    "cap",
    {
        "id": ID,
        "per": Field(v.choice(("day", "month", "year", "ever"), "cap period"), required=True),
        "max": POINTS,
        "rules": IDS,
    },
)

MERCHANT = Shape(
    "merchant",
    {"id": ID, "name": NAME, "settle_yuan_per_point": Field(v.positive_decimal, required=True)},
)

REWARD = Tagged(
    "reward",
    "type",
    common={
        "id": ID,
        "type": Field(v.text, required=True),
        "name": NAME,
        "cost": POINTS,
        "stock": Field(v.non_negative_int),
        "limit": Field(Shape("limit", {"per_member": COUNT, "per_day": COUNT, "per_month": COUNT})),
        "tiers": IDS,
        "window": Field(WINDOW),
        "refundable": Field(v.boolean),
    },
    variants={
        "gift": {},
        "coupon": {
            "face_value_yuan": Field(v.positive_decimal),
            "percent_off": Field(v.int_between(1, 99, "percent off")),
            "code_prefix": Field(v.text),
        },
        "red_packet": {"cash_yuan": Field(v.positive_decimal, required=True)},
        "bill_credit": {"credit_yuan": Field(v.positive_decimal, required=True)},
        "privilege": {"privilege": Field(v.text, required=True), "days": POINTS},
        "lottery": {"chances": COUNT},
        "merchant": {"merchants": Field(ListOf(MERCHANT), required=True)},
    },
)

PLAN = Shape(
    "plan",
    {
        "plan": ID,
        "name": NAME,
        "description": Field(v.text),
        "timezone": Field(v.timezone_name),
        "registration_required": Field(v.boolean),
        "cost_per_point": Field(v.positive_decimal),
        "max_amount": Field(v.positive_decimal),
        "expiry": Field(EXPIRY),
        "consumption_order": Field(v.choice(("earliest_expiry", "earliest_earned"), "consumption order")),
        "reversal_policy": Field(v.choice(("clawback", "negative", "debt"), "reversal policy")),
        "tiers": Field(ListOf(TIER)),
        "tier_policy": Field(TIER_POLICY),
        "segments": Field(SEGMENTS),
        "earning": Field(ListOf(RULE)),
        "caps": Field(ListOf(CAP)),
        "rewards": Field(ListOf(REWARD)),
    },
)
