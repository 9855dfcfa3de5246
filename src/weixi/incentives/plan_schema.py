"""The incentive plan language as data (``kind: incentive | scorecard | discipline | referral |
key_account | commission_split``). Documented in docs/incentives.md; a test checks every key is there.

Mappings keyed by the plan's own ids (``weights``, ``if``/``unless`` conditions, bonus ``yuan`` by grade)
are kept as positioned nodes by :func:`node_map` and checked by :mod:`weixi.incentives.plan_resolve`,
so each problem is reported at its own line and column.
"""

from __future__ import annotations

from decimal import Decimal

from weixi.incentives.model import BUSINESSES, KINDS, MEASURES, PERIODS, RECORD_MEASURES
from weixi.incentives.roles import OTHER, ROLES
from weixi.plans import values as v
from weixi.plans.spec import Field, ListOf, Shape, Tagged
from weixi.plans.yaml_source import Mapping

ID = Field(v.ident, required=True)
NAME = Field(v.text)
YUAN = Field(v.non_negative_decimal)
WINDOW = Shape("valid", {"from": Field(v.day), "to": Field(v.day)})


def role(raw: object) -> str:
    return v.choice(tuple(ROLES), "role")(raw)


def role_or_other(raw: object) -> str:
    return v.choice((*ROLES, OTHER), "role")(raw)


def percent(raw: object) -> Decimal:
    """``50%`` -> ``Decimal(50)``; a bare number is refused, since 0.5 and 50 would both look plausible."""
    if isinstance(raw, str) and not isinstance(raw, v.FloatText) and raw.strip().endswith("%"):
        value = v.decimal(raw.strip()[:-1])
        if value < 0:
            raise v.BadValue("incentive_percent_negative", value=raw)
        return value
    raise v.BadValue("incentive_percent_needs_sign", **v.got(raw))


def node_map(raw: object) -> Mapping:
    """A mapping whose keys are the plan's own ids; checked later with positions."""
    if not isinstance(raw, Mapping):
        raise v.BadValue("plan_expected_type", expected="mapping", **v.got(raw))
    return raw


ROLES_FIELD = Field(ListOf(role))

UNITS = Shape(
    "units",
    {
        "measure": Field(v.choice(MEASURES, "unit measure"), required=True),
        "expiring": Field(v.non_negative_decimal, required=True),
        "non_expiring": Field(v.non_negative_decimal, required=True),
        "kpi_only": Field(v.boolean),
        "roles": ROLES_FIELD,
    },
)

TIER = Shape("cash tier", {"upto": Field(v.positive_int), "yuan": Field(v.non_negative_decimal, required=True)})

CASH_ROW = Shape(
    "cash schedule",
    {
        "roles": Field(ListOf(role_or_other), required=True),
        "tiers": Field(ListOf(TIER), required=True),
    },
)

EXCLUSION = Shape(
    "exclusion",
    {
        "id": ID,
        "reason": Field(v.text, required=True),
        "if": Field(node_map),
        "unless": Field(node_map),
    },
    one_of=("if", "unless"),
)

ORDER_RULE = Shape(
    "order rule",
    {
        "id": ID,
        "name": NAME,
        "business": Field(v.choice(BUSINESSES, "business"), required=True),
        "roles": ROLES_FIELD,
        "units": Field(UNITS),
        "cash": Field(ListOf(CASH_ROW)),
        "exclude": Field(ListOf(EXCLUSION)),
    },
)

BAND = Shape(
    "grade band",
    {
        "id": ID,
        "name": NAME,
        "min": Field(v.non_negative_decimal),
        "above": Field(v.non_negative_decimal),
        "max": Field(v.non_negative_decimal),
        "below": Field(v.non_negative_decimal),
    },
)

BONUS_ROW = Shape(
    "bonus row",
    {
        "roles": Field(ListOf(role_or_other), required=True),
        "yuan": Field(node_map, required=True),
    },
)

AWARD = Shape("award", {"id": ID, "name": NAME, "yuan": YUAN})
RANK_AWARD = Shape("rank award", {"id": ID, "name": NAME, "top": Field(percent, required=True), "yuan": YUAN})
AWARDS = Shape(
    "awards",
    {
        "ranks": Field(ListOf(RANK_AWARD)),
        "improvement": Field(AWARD),
        "rest": Field(AWARD),
        "teams": Field(v.boolean),
    },
)

VIOLATION = Shape(
    "violation",
    {
        "id": ID,
        "name": NAME,
        "kpi_points": Field(v.non_negative_decimal),
        "fine_yuan": YUAN,
    },
)

REFERRAL = Shape(
    "referral rewards",
    {
        "customer_points": Field(v.positive_int, required=True),
        "customer_gift": Field(v.text),
        "employee_yuan": YUAN,
        "lead_converted_yuan": YUAN,
        "fabricated_fine_yuan": YUAN,
        "excluded_roles": ROLES_FIELD,
        "requires_approval": Field(v.boolean),
        "requires_yellow_card": Field(v.boolean),
        "first_visit_only": Field(v.boolean),
    },
)

INFORMATION = Shape(
    "information",
    {
        "points": Field(v.positive_decimal, required=True),
        "weekly_customers": Field(v.positive_int, required=True),
        "monthly_customers": Field(v.positive_int, required=True),
    },
)
CONTRIBUTION = Shape(
    "contribution",
    {
        "points": Field(v.positive_decimal, required=True),
        "min_share": Field(percent, required=True),
    },
)

CARD_TYPES = ("stored_value", "timed")
SHIFTS = ("morning", "evening")
CARD_RULE = Shape(
    "card",
    {
        "id": Field(v.choice(CARD_TYPES, "card type"), required=True),
        "name": NAME,
        "level": Field(v.int_between(1, 9, "a maintenance level"), required=True),
        "other_shift": Field(v.choice(("maintainer_only", "shared"), "other-shift rule"), required=True),
    },
)
BOTH_SHIFTS = Shape(
    "both_shifts",
    {
        "stored_value": Field(v.choice(SHIFTS, "shift")),
        "timed": Field(v.choice(SHIFTS, "shift")),
    },
)


def month(raw: object) -> str:
    """``2016-03`` (a month of pay)."""
    from weixi.incentives.months import MONTH

    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not MONTH.match(text):
        raise v.BadValue("incentive_bad_month", text=raw)
    return text


UNITS_FIELD = Field(v.non_negative_decimal)
BY_MEASURE = Shape("units by measure", {"mobile": UNITS_FIELD, "broadband": UNITS_FIELD})
KPI = Shape(
    "kpi",
    {
        "quota": Field(BY_MEASURE),
        "over_quota_yuan": Field(Shape("yuan by measure", {"mobile": YUAN, "broadband": YUAN})),
    },
)
RECORD_METRIC = Shape(
    "record metric",
    {
        "metric": Field(v.ident, required=True),
        "measure": Field(v.choice(RECORD_MEASURES, "record measure"), required=True),
        "survey_scale": Field(v.positive_decimal),
        "hours": Field(v.positive_decimal),
    },
)
APPROVAL_STEP = Shape("approval step", {"id": ID, "name": NAME, "roles": Field(ListOf(role), required=True)})
SUSPENSION = Shape("suspension", {"month": Field(month, required=True), "reason": Field(v.text, required=True)})

PLAN = Tagged(
    "incentive plan",
    "kind",
    common={
        "plan": ID,
        "kind": Field(v.text, required=True),
        "name": Field(v.text, required=True),
        "description": Field(v.text),
        "valid": Field(WINDOW, required=True),
        "replaces": Field(v.ident),
        "business": Field(v.ident),
        "period": Field(v.choice(PERIODS, "period")),
        "roles": ROLES_FIELD,
        "approval": Field(ListOf(APPROVAL_STEP)),
        "suspended": Field(ListOf(SUSPENSION)),
    },
    variants={
        "incentive": {"orders": Field(ListOf(ORDER_RULE), required=True), "kpi": Field(KPI)},
        "scorecard": {
            "scale": Field(v.positive_decimal, required=True),
            "weights": Field(node_map, required=True),
            "bonus_weights": Field(node_map),
            "grades": Field(ListOf(BAND)),
            "bonus_yuan": Field(ListOf(BONUS_ROW)),
            "awards": Field(AWARDS),
            "from_records": Field(ListOf(RECORD_METRIC)),
        },
        "discipline": {"violations": Field(ListOf(VIOLATION), required=True)},
        "referral": {"rewards": Field(REFERRAL, required=True)},
        "key_account": {
            "information": Field(INFORMATION, required=True),
            "contribution": Field(CONTRIBUTION, required=True),
            "pro_rata": Field(v.boolean),
        },
        "commission_split": {
            "cards": Field(ListOf(CARD_RULE), required=True),
            "intern_cards": Field(ListOf(v.choice(CARD_TYPES, "card type"))),
            "both_shifts": Field(BOTH_SHIFTS),
            "commission_rate": Field(percent),
        },
    },
)
assert set(PLAN.variants) == set(KINDS)
