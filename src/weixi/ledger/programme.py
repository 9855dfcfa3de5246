"""Programme figures for finance, from counts the ledger gives: redemption rate (兑换率), breakage, the monthly points
budget's burn and the conversion rate. Pure: no I/O (the counts come from :mod:`weixi.close.programme`).

Every figure is a :class:`Ratio` that keeps its numerator and denominator, so a reader can check it by hand:

- **redemption rate** = points redeemed / points issued, over the month and since the programme's start;
- **breakage** (points that will never be redeemed) = the points never redeemed of every lot past its expiry date
  (on or before the first day of the next month) — the points expired up to the month end, plus
  ``past_expiry_date``: those still on such lots (not reached by an expiry run yet) or expired on the first day of
  the next month (an expiry entry is dated its lot's expiry date) — + the **projected** expiry of the points
  outstanding on lots with a later expiry date: those points x the historical expiry ratio, i.e. of the points
  earned on every lot past its expiry date, the share never redeemed, rounded down. Points that never expire are
  not projected to break. No lot past its expiry date yet: no history, so no projection (``None``);
- **burn** = points issued in the month / the month's points budget (no budget: no burn);
- **conversion rate** = active members who have redeemed at least once / active members.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FOUR_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> Decimal | None:
        """The ratio to four decimals (half up); ``None`` when the denominator is 0."""
        if not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(FOUR_PLACES, ROUND_HALF_UP)

    def as_dict(self) -> dict:
        rate = self.rate
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": None if rate is None else str(rate),
        }


@dataclass(frozen=True)
class LedgerCounts:
    """What the figures are computed from; points are integers, kinds as in the journal."""

    issued_month: int
    issued_to_date: int
    redeemed_month: int
    redeemed_to_date: int
    expired_month: int
    expired_to_date: int
    matured_points: int  # points earned on lots whose expiry date has passed
    matured_unredeemed: int  # of those, expired or still on the lot
    past_expiry_date: int  # of ``matured_unredeemed``, what ``expired_to_date`` does not count (see :func:`figures`)
    outstanding_expiring: int  # on lots not yet past their expiry date
    outstanding_never_expiring: int  # on lots without an expiry date


def yuan(points: int | None, cost_per_point_fen: Decimal) -> str | None:
    """Points valued at the plan's cost per point, in yuan with two decimals."""
    if points is None:
        return None
    return str((Decimal(points) * cost_per_point_fen / 100).quantize(CENTS, ROUND_HALF_UP))


def projected_breakage(counts: LedgerCounts) -> int | None:
    """The outstanding points with an expiry date times the historical expiry ratio, rounded down to a point."""
    if not counts.matured_points:
        return None
    return counts.outstanding_expiring * counts.matured_unredeemed // counts.matured_points


def figures(counts: LedgerCounts, cost_per_point_fen: Decimal, budget: int | None, conversion: Ratio) -> dict:
    """The figures of one month, each with what it is computed from; money in yuan at ``cost_per_point_fen``."""
    projected = projected_breakage(counts)
    certain = counts.expired_to_date + counts.past_expiry_date  # = counts.matured_unredeemed
    total = None if projected is None else certain + projected
    burn = None if not budget else Ratio(counts.issued_month, budget)
    return {
        "cost_per_point_yuan": str(cost_per_point_fen / 100),
        "issued": {"month": counts.issued_month, "to_date": counts.issued_to_date},
        "redeemed": {"month": counts.redeemed_month, "to_date": counts.redeemed_to_date},
        "redemption_rate": {
            "month": Ratio(counts.redeemed_month, counts.issued_month).as_dict(),
            "to_date": Ratio(counts.redeemed_to_date, counts.issued_to_date).as_dict(),
        },
        "breakage": {
            "expired": {"month": counts.expired_month, "to_date": counts.expired_to_date},
            "past_expiry_date": counts.past_expiry_date,
            "projected": projected,
            "projection": {
                "outstanding_expiring": counts.outstanding_expiring,
                "outstanding_never_expiring": counts.outstanding_never_expiring,
                "expiry_ratio": Ratio(counts.matured_unredeemed, counts.matured_points).as_dict(),
            },
            "total": total,
            "total_yuan": yuan(total, cost_per_point_fen),
            "rate": None if total is None else Ratio(total, counts.issued_to_date).as_dict(),
        },
        "budget": {
            "points": budget,
            "yuan": yuan(budget, cost_per_point_fen),
            "issued": counts.issued_month,
            "issued_yuan": yuan(counts.issued_month, cost_per_point_fen),
            "burn": None if burn is None else burn.as_dict(),
        },
        "conversion": conversion.as_dict(),
    }
