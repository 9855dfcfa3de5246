"""Key-account maintenance scoring (seed 003, 邮政大客户维护方案).

Information 50 + contribution 50 points a month. Meeting the standard earns the base points; beyond it
points are added pro rata, short of it deducted pro rata: information = 50 × customers / 50, contribution
= 50 × share / 70%. Weeks under the weekly minimum (10 customers) are listed on the statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping

from weixi.incentives import amounts
from weixi.incentives.model import KeyAccountTerms

PLACES = Decimal("0.01")


@dataclass
class KeyAccountScore:
    staff_id: str
    customers: int
    contribution: Decimal  # percent
    information_points: Decimal
    contribution_points: Decimal
    short_weeks: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.information_points + self.contribution_points


def ranks(totals: Mapping[str, Decimal]) -> dict[str, int]:
    """The month's ranking of the staff by total points (评比): highest first, ties share a rank."""
    order = sorted(totals, key=lambda s: (-totals[s], s))
    out: dict[str, int] = {}
    for position, staff_id in enumerate(order, start=1):
        prev = order[position - 2] if position > 1 else None
        out[staff_id] = out[prev] if prev is not None and totals[prev] == totals[staff_id] else position
    return out


def score(
    terms: KeyAccountTerms, plan_id: str, staff_id: str, weeks: Mapping[int, int], contribution: Decimal
) -> KeyAccountScore:
    customers = sum(weeks.values())
    info = terms.information_points * Decimal(customers) / Decimal(terms.monthly_customers)
    contrib = terms.contribution_points * contribution / terms.min_contribution
    if not terms.pro_rata:
        info = terms.information_points if customers >= terms.monthly_customers else Decimal(0)
        contrib = terms.contribution_points if contribution >= terms.min_contribution else Decimal(0)
    info, contrib = info.quantize(PLACES), contrib.quantize(PLACES)
    out = KeyAccountScore(staff_id, customers, contribution, info, contrib)
    out.short_weeks = sorted(w for w, n in weeks.items() if n < terms.weekly_customers)
    verdict = lambda got, need: "met" if got >= need else "short"  # noqa: E731
    out.lines.append(
        f"information: {customers} customers collected, standard {terms.monthly_customers} a month"
        f" ({verdict(customers, terms.monthly_customers)}): {amounts.units(terms.information_points)}"
        f" × {customers}/{terms.monthly_customers} = {amounts.units(info)} points [plan {plan_id}]"
    )
    out.lines.append(
        f"contribution: {amounts.units(contribution)}% of the unit's monthly business, standard"
        f" {amounts.units(terms.min_contribution)}% ({verdict(contribution, terms.min_contribution)}):"
        f" {amounts.units(terms.contribution_points)} × {amounts.units(contribution)}/"
        f"{amounts.units(terms.min_contribution)} = {amounts.units(contrib)} points"
    )
    for week in out.short_weeks:
        out.lines.append(f"week {week}: {weeks[week]} customers, below the weekly minimum of {terms.weekly_customers}")
    out.lines.append(f"total {amounts.units(out.total)} points")
    return out
