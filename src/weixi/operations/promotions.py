"""Which promotions start the new-star rules, and which members a manager ratio covers: points tiers, star
levels (星级, from the close's star_levels table), or both — as the operations plan says.

Seed 002 (维护与支持服务手册): "对新晋级星级客户3个工作日内100%绑定到客户经理,1个月内100%完成新晋级客户拜访" — the
trigger is a promotion of *star level*. A plan chooses under ``sla.promotions``:

    promotions: {by: [star_levels, tiers], to_stars: [5, 6, 7]}

``by`` (default ``[tiers]``) names the events that count as a promotion (the close's ``tier_events`` and/or
``star_events``); ``to_stars`` keeps the star promotions into these levels only (default: every level). The
rules ``on: upgraded`` then fire on either; a member promoted both ways in one month gets one task per rule
(the star promotion is kept).

An ``assignment.tiers`` entry holds a ratio for a points tier (``tier: gold``) or for star levels
(``star_levels: [7]``); a member belongs to the first entry that matches (file order): :func:`grade_sql`.
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.plans import values as v
from weixi.plans.spec import Field, ListOf, Shape, Spec

BY = ("tiers", "star_levels")
PROMOTIONS = Shape(
    "promotions",
    {
        "by": Field(ListOf(v.choice(BY, "promotion source"))),
        "to_stars": Field(ListOf(v.int_between(1, 7, "star level"))),
    },
)


@dataclass(frozen=True)
class Promotions:
    by: tuple[str, ...] = ("tiers",)
    to_stars: tuple[int, ...] = ()  # empty: a promotion into any star level


def read_promotions(spec: Spec | None) -> Promotions:
    if spec is None:
        return Promotions()
    by = tuple(dict.fromkeys(x.value for x in spec.items("by"))) or ("tiers",)
    return Promotions(by, tuple(sorted({x.value for x in spec.items("to_stars")})))


def star_key(levels: tuple[int, ...]) -> str:
    """The name of a star-level ratio group in the assignment's counts: ``stars-5-6-7``."""
    return "stars-" + "-".join(str(s) for s in sorted(levels))


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def grade_sql(entries, tier: str = "s.tier", star: str = "s.star_level") -> str:
    """SQL: the ratio group of a member (the first ``assignment.tiers`` entry it matches), NULL for the pool."""
    arms = []
    for e in entries:
        if e.star_levels:
            arms.append(f"WHEN {star} IN ({', '.join(str(s) for s in e.star_levels)}) THEN {_lit(e.key)}")
        else:
            arms.append(f"WHEN {tier} = {_lit(e.tier)} THEN {_lit(e.key)}")
    return f"CAST(CASE {' '.join(arms)} END AS VARCHAR)" if arms else "CAST(NULL AS VARCHAR)"


EMPTY_EVENTS = (
    "SELECT CAST(NULL AS VARCHAR) AS member_id, CAST(NULL AS VARCHAR) AS event, CAST(NULL AS VARCHAR) AS from_tier,"
    " CAST(NULL AS VARCHAR) AS to_tier, CAST(NULL AS DATE) AS effective_on WHERE FALSE"
)


def events_sql(promotions: Promotions, tier_file: str | None, star_file: str | None) -> str:
    """The month's events the rules read (member_id, event, from_tier, to_tier, effective_on) from the close's
    tier and star events (``read_parquet([...])`` of the month's files, :func:`weixi.close.store.source`): the tier events
    (every ``will_downgrade``; ``upgraded`` when the plan promotes by tiers) and the star promotions (``to_tier``
    like ``5★``) when it promotes by star levels; one ``upgraded`` row per member."""
    parts = []
    if tier_file is not None:
        keep = "TRUE" if "tiers" in promotions.by else "event <> 'upgraded'"
        parts.append(
            f"SELECT member_id, event, from_tier, to_tier, effective_on, 1 AS pref FROM {tier_file} WHERE {keep}"
        )
    if star_file is not None and "star_levels" in promotions.by:
        into = f" AND to_star IN ({', '.join(str(s) for s in promotions.to_stars)})" if promotions.to_stars else ""
        parts.append(
            "SELECT member_id, event, CAST(from_star AS VARCHAR) || '★', CAST(to_star AS VARCHAR) || '★', "
            f"effective_on, 0 AS pref FROM {star_file} WHERE event = 'upgraded'{into}"
        )
    if not parts:
        return EMPTY_EVENTS
    union = " UNION ALL ".join(parts)
    return (
        "SELECT member_id, event, from_tier, to_tier, effective_on FROM ("
        f"SELECT *, row_number() OVER (PARTITION BY member_id, event ORDER BY pref) AS k FROM ({union})) WHERE k = 1"
    )
