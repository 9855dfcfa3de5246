"""What a birthday brings, per tier or star level (the operations plan's ``care: birthday: gifts:``).

Seed 002 (会员管理方案): "生日福利为会员提供生日福利,例如生日优惠券、生日礼品等。" Each entry names the members it is
for (``tiers`` and/or ``star_levels``; neither: everyone not matched by an earlier entry) and what they get:
``points`` (posted to the ledger), ``coupon`` (a coupon reward of the points plan's catalogue) and/or ``gift`` (a
gift reward of the catalogue, handed out at the counter). A member gets the first entry that matches.
Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.plans import values as v
from weixi.plans.diagnostics import Report
from weixi.plans.spec import Field, ListOf, Shape, Spec

GIFT = Shape(
    "birthday gift",
    {
        "tiers": Field(ListOf(v.ident)),
        "star_levels": Field(ListOf(v.int_between(1, 7, "star level"))),
        "points": Field(v.positive_int),
        "coupon": Field(v.ident),
        "gift": Field(v.ident),
    },
)
BIRTHDAY = Shape(
    "birthday",
    {"template": Field(v.ident), "lunar": Field(v.boolean), "gifts": Field(ListOf(GIFT))},
)


@dataclass(frozen=True)
class BirthdayGift:
    tiers: tuple[str, ...] = ()
    star_levels: tuple[int, ...] = ()
    points: int = 0
    coupon: str | None = None
    gift: str | None = None

    def rewards(self) -> tuple[tuple[str, str], ...]:
        """The catalogue rewards this entry hands out: (reward type, reward id), coupon first."""
        return tuple((kind, r) for kind, r in (("coupon", self.coupon), ("gift", self.gift)) if r)


def read_gifts(b: Spec | None, report: Report) -> tuple[BirthdayGift, ...]:
    """The plan's birthday gifts; an entry that gives nothing, or a tier or star level in two entries, is an error."""
    out: list[BirthdayGift] = []
    seen_tiers: set[str] = set()
    seen_stars: set[int] = set()
    for item in b.items("gifts") if b is not None else ():
        g: Spec = item.value
        gift = BirthdayGift(
            tuple(x.value for x in g.items("tiers")),
            tuple(x.value for x in g.items("star_levels")),
            g.get("points", 0),
            g.get("coupon"),
            g.get("gift"),
        )
        if not gift.points and not gift.rewards():
            report.error(g.pos, "ops_plan_birthday_gift_empty")
        for tier in set(gift.tiers) & seen_tiers:
            report.error(g.at("tiers"), "ops_plan_birthday_segment_twice", segment=tier)
        for star in set(gift.star_levels) & seen_stars:
            report.error(g.at("star_levels"), "ops_plan_birthday_segment_twice", segment=star)
        seen_tiers |= set(gift.tiers)
        seen_stars |= set(gift.star_levels)
        out.append(gift)
    return tuple(out)


def gift_case_sql(gifts: tuple[BirthdayGift, ...]) -> str:
    """A SQL CASE giving the index of the first entry matching a row with ``tier`` and ``star_level`` (NULL: none)."""
    whens = []
    for i, g in enumerate(gifts):
        conds = []
        if g.tiers:
            conds.append("tier IN (" + ", ".join(_lit(t) for t in g.tiers) + ")")
        if g.star_levels:
            conds.append("TRY_CAST(star_level AS INTEGER) IN (" + ", ".join(str(s) for s in g.star_levels) + ")")
        whens.append(f"WHEN {' OR '.join(conds) if conds else 'TRUE'} THEN {i}")
    return f"CASE {' '.join(whens)} END" if whens else "NULL"


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"
