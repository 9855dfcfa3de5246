"""A plan diff (:mod:`weixi.plans.diff`) as people read it: sections, fields and coded values by their names in
the page's language, items by the names the plans give them, money in yuan, event types and tiers by name.

Used by the plans page before applying an uploaded plan and on a version's page before rolling back to it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Callable

from weixi.i18n import N_
from weixi.names import display, plan_names
from weixi.plans.diff import Change, diff
from weixi.plans.model import Plan

SECTIONS = {
    "settings": N_("Plan settings"),
    "tiers": N_("Tiers"),
    "tier_policy": N_("Tier rules"),
    "segments": N_("Segmentation"),
    "earning": N_("Earning rules"),
    "caps": N_("Point caps"),
    "rewards": N_("Rewards"),
}
KINDS = {"added": N_("added"), "removed": N_("removed"), "changed": N_("changed")}
# The optional parts compared whole (their id is their code).
PARTS = {
    "tier_policy": N_("Tier rules"),
    "star_levels": N_("Star levels"),
    "value_pyramid": N_("Value pyramid"),
    "activity": N_("Activity grades"),
    "rfm": N_("RFM scores"),
    "key_accounts": N_("Key accounts"),
}
FIELDS = {
    "plan_id": N_("plan id"),
    "name": N_("name"),
    "description": N_("description"),
    "expiry.rule": N_("points expire"),
    "expiry.n": N_("expiry period"),
    "consumption_order": N_("points used first"),
    "reversal_policy": N_("when a refund finds points spent"),
    "registration_required": N_("members must sign up first"),
    "timezone": N_("timezone"),
    "cost_per_point_fen": N_("cost of a point (yuan)"),
    "max_amount_fen": N_("largest amount of one event (yuan)"),
    "type": N_("type"),
    "rank": N_("rank"),
    "multiplier": N_("multiplier"),
    "qualify": N_("threshold"),
    "measure": N_("measured by"),
    "window_months": N_("months counted"),
    "upgrade": N_("upgrade"),
    "review_months": N_("review months"),
    "grace_months": N_("grace months"),
    "notice_days": N_("notice days before a downgrade"),
    "tenure_years": N_("tenure columns (years)"),
    "rows": N_("spend rows"),
    "arpu_months": N_("months of average spend"),
    "cuts": N_("grade cuts"),
    "active.max_days_since": N_("active: days since last activity at most"),
    "active.min_touches": N_("active: activities at least"),
    "normal.max_days_since": N_("normal: days since last activity at most"),
    "normal.min_touches": N_("normal: activities at least"),
    "bins": N_("score levels"),
    "levels": N_("levels"),
    "events": N_("events"),
    "rounding": N_("rounding"),
    "window.start": N_("from"),
    "window.end": N_("until"),
    "limit_per_day": N_("limit per day"),
    "limit_per_month": N_("limit per month"),
    "limit_ever": N_("limit in all"),
    "limit_per_member": N_("limit per member"),
    "points": N_("points"),
    "per_yuan": N_("for every (yuan)"),
    "service_types": N_("services"),
    "block_yuan": N_("per recharge of (yuan)"),
    "streak": N_("streak bonuses"),
    "require_registration": N_("referee must sign up"),
    "require_payment": N_("referee must pay"),
    "kind": N_("kind"),
    "applies_to": N_("applies to"),
    "audience.tiers": N_("audience: tiers"),
    "audience.new_members_only": N_("audience: new members only"),
    "audience.existing_members_only": N_("audience: existing members only"),
    "per_member_cap": N_("extra points per member at most"),
    "budget": N_("budget (points)"),
    "period": N_("period"),
    "max_points": N_("points at most"),
    "min_fen": N_("smallest purchase (yuan)"),
    "rules": N_("rules"),
    "cost": N_("points per unit"),
    "stock": N_("stock"),
    "tiers": N_("tiers"),
    "refundable": N_("refundable"),
    "credit_fen": N_("bill credit per unit (yuan)"),
    "face_value_fen": N_("face value (yuan)"),
    "percent_off": N_("percent off"),
    "cash_fen": N_("cash per unit (yuan)"),
    "code_prefix": N_("coupon code prefix"),
    "privilege": N_("privilege"),
    "duration_days": N_("days"),
    "chances": N_("draws per unit"),
    "merchants": N_("merchants"),
}
VALUES = {
    "floor": N_("round down"),
    "ceil": N_("round up"),
    "half_up": N_("round half up"),
    "days_after": N_("days after earning"),
    "months_after": N_("months after earning"),
    "end_of_month_after": N_("at the end of the month, months after earning"),
    "end_of_year_after": N_("at the end of the year, years after earning"),
    "never": N_("never"),
    "earliest_expiry": N_("those expiring first"),
    "earliest_earned": N_("those earned first"),
    "clawback": N_("take them from other points"),
    "negative": N_("let the balance go below zero"),
    "debt": N_("record a debt"),
    "day": N_("per day"),
    "month": N_("per month"),
    "year": N_("per year"),
    "ever": N_("in all"),
    "points_earned": N_("points earned"),
    "spend_yuan": N_("spend (yuan)"),
    "immediate": N_("at the close the threshold is reached"),
    "review": N_("only at a review"),
    "gift": N_("gift"),
    "coupon": N_("coupon"),
    "bill_credit": N_("bill credit"),
    "lottery": N_("lottery"),
    "merchant": N_("partner merchant"),
    "privilege": N_("privilege"),
    "red_packet": N_("red packet"),
    "multiplier": N_("extra points (multiplier)"),
    "spend": N_("points for spend"),
    "recharge": N_("points for recharges"),
    "checkin": N_("check-in"),
    "fixed": N_("fixed points"),
    "purchase_count": N_("points per purchase"),
    "referral": N_("referral"),
    "first_purchase": N_("first purchase"),
    "tier": N_("tier"),
    "campaign": N_("campaign"),
}
FEN = frozenset({"cost_per_point_fen", "max_amount_fen", "credit_fen", "face_value_fen", "min_fen", "cash_fen"})
CODED = frozenset({"expiry.rule", "consumption_order", "reversal_policy", "rounding", "period", "measure", "upgrade",
                   "type", "kind"})  # fmt: skip


def plan_diff(before: Plan | None, after: Plan, gettext: Callable[[str], str], locale: str) -> list[dict]:
    """The changes from ``before`` to ``after``, each as ``section``, ``kind``, ``kind_label``, ``item`` (a name;
    the id beside it when the name differs) and ``fields`` (label, before, after), in the page's language."""
    old = plan_names(before)
    names = {k: {**old.get(k, {}), **v} for k, v in plan_names(after).items()}
    return [_change(c, gettext, locale, names) for c in diff(before, after)]


def summary(changes: list[dict]) -> dict[str, int]:
    """How many items are added, removed and changed."""
    out = {"added": 0, "removed": 0, "changed": 0}
    for c in changes:
        out[c["kind"]] += 1
    return out


def _change(c: Change, _, locale: str, names: dict) -> dict:
    item = _(PARTS[c.id]) if c.section in ("tier_policy", "segments") and c.id in PARTS else c.name
    return {
        "section": _(SECTIONS.get(c.section, c.section)),
        "kind": c.kind,
        "kind_label": _(KINDS[c.kind]),
        "item": item,
        "id": c.id if item != c.id and c.section not in ("settings", "tier_policy", "segments") else "",
        "fields": [
            (
                _(FIELDS[f.field]) if f.field in FIELDS else f.field,
                _value(f.field, f.before, _, locale, names),
                _value(f.field, f.after, _, locale, names),
            )
            for f in c.fields
        ],  # fmt: skip
    }


def _value(field: str, value: Any, _, locale: str, names: dict) -> str:
    if value is None or value == ():
        return "-"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field in FEN:
        return f"{Decimal(value) / 100:,.2f}"
    if field in CODED and isinstance(value, str):
        return _(VALUES[value]) if value in VALUES else value
    sep = ", " if locale == "en" else "、"
    if field == "events":
        return sep.join(display("event_type", v, locale) for v in value)
    if field in ("tiers", "audience.tiers"):
        return sep.join(names.get("tier", {}).get(v, v) for v in value)
    if field in ("applies_to", "rules"):
        return sep.join(names.get("rule", {}).get(v, v) for v in value)
    if isinstance(value, tuple):
        return sep.join(_plain(v) for v in value)
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "name") and isinstance(value.name, str):
        return value.name
    if isinstance(value, tuple):
        return " / ".join(_plain(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return " ".join(f"{v}" for v in vars(value).values() if v not in (None, 0, ""))
    return str(value)
