"""Lots and how a spend consumes them.

A lot is the points one event earned, with the day they were earned and the day they expire. The order
in which a spend takes lots is a named policy (:class:`ConsumptionOrder`) with one shared sort key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from weixi.plans.model import ConsumptionOrder

FAR_FUTURE = date.max


@dataclass
class Lot:
    id: str
    member_id: str
    earned_on: date
    expires_on: date | None
    points: int  # as earned
    remaining: int
    plan_version: int | None = None
    deficit: bool = False  # a negative-balance lot (reversal policy ``negative``)

    def usable_on(self, day: date, as_of: date | None = None) -> bool:
        """Whether a spend dated ``day`` may take points from this lot: earned on or before ``day``, not expired on
        ``day`` and, when the ledger's today ``as_of`` is given, not expired by then either (a spend dated back
        cannot reach points that have expired since)."""
        last = day if as_of is None or as_of < day else as_of
        return (
            self.remaining > 0
            and not self.deficit
            and self.earned_on <= day
            and (self.expires_on is None or self.expires_on > last)
        )


def sort_key(order: ConsumptionOrder):
    if order is ConsumptionOrder.EARLIEST_EARNED:
        return lambda lot: (lot.earned_on, lot.expires_on or FAR_FUTURE, lot.id)
    return lambda lot: (lot.expires_on or FAR_FUTURE, lot.earned_on, lot.id)


def plan_consumption(
    lots: list[Lot],
    points: int,
    day: date,
    order: ConsumptionOrder,
    exclude: str | None = None,
    as_of: date | None = None,
) -> tuple[list[tuple[Lot, int]], int]:
    """Which lots ``points`` are taken from on ``day``: ``([(lot, taken)], shortfall)``. Pure: lots unchanged."""
    taken: list[tuple[Lot, int]] = []
    need = points
    for lot in sorted((l for l in lots if l.usable_on(day, as_of) and l.id != exclude), key=sort_key(order)):
        if need <= 0:
            break
        take = min(lot.remaining, need)
        taken.append((lot, take))
        need -= take
    return taken, need


def usable_points(lots: list[Lot], day: date, as_of: date | None = None) -> int:
    return sum(l.remaining for l in lots if l.usable_on(day, as_of))
