"""Weighted scorecards, grade bands, bonus tables by role and awards by rank (seeds 000 and 003).

``total = Σ weight% × metric score`` on the plan's scale; bonus weights add on top. Grades come from the
bands; the bonus from the role's row. Rank awards: the top N% (rounded up, so a team of 7 has one
excellent) get the first award, ties at the boundary share it; an improvement award goes to those
without a rank award whose total rose against the previous period; everyone else gets the rest award.
Teams are ranked the same way by their members' average total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping

from weixi.incentives import amounts
from weixi.incentives.model import Awards, Scorecard

HUNDRED = Decimal(100)


@dataclass
class Card:
    staff_id: str
    role: str | None
    team: str | None
    scores: dict[str, Decimal]
    total: Decimal = Decimal(0)
    grade: str | None = None
    bonus_yuan: Decimal = Decimal(0)
    award: str | None = None
    rank: int | None = None
    previous: Decimal | None = None
    lines: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def score(
    card: Scorecard,
    plan_id: str,
    staff_id: str,
    scores: Mapping[str, Decimal],
    role: str | None = None,
    team: str | None = None,
) -> Card:
    out = Card(staff_id, role, team, dict(scores))
    total = Decimal(0)
    for metric in card.metrics:
        value = scores.get(metric.id)
        if value is None:
            out.missing.append(metric.id)
            value = Decimal(0)
        part = value * metric.weight / HUNDRED
        total += part
        kind = "bonus weight" if metric.bonus else "weight"
        out.lines.append(
            f"{metric.id}: {amounts.units(value)} × {amounts.units(metric.weight)}% ({kind})"
            f" = {amounts.units(part)}{' (no score: counted as 0)' if metric.id not in scores else ''}"
        )
    out.total = total
    out.lines.append(f"total {amounts.units(total)} of {amounts.units(card.scale)} [plan {plan_id}]")
    band = next((b for b in card.bands if b.contains(total)), None)
    if band is not None:
        out.grade = band.grade
        out.lines.append(f"grade {band.grade} ({band.name}: {band.describe()})")
        row = card.bonus_row(role)
        if row is not None:
            out.bonus_yuan = row.yuan.get(band.grade, Decimal(0))
            who = "other roles" if row.roles is None else ", ".join(row.roles)
            out.lines.append(f"bonus {amounts.yuan(out.bonus_yuan)} yuan for grade {band.grade} ({who})")
    return out


def award(awards: Awards, cards: list, total_of=lambda c: c.total, previous_of=lambda c: c.previous) -> dict:
    """Award id for each item of ``cards`` (by index), ranking by ``total_of`` descending."""
    n = len(cards)
    result: dict[int, tuple[str | None, int]] = {}
    if n == 0:
        return result
    order = sorted(range(n), key=lambda i: -total_of(cards[i]))
    ranks: dict[int, int] = {}
    for position, index in enumerate(order, start=1):
        prev = order[position - 2] if position > 1 else None
        ranks[index] = ranks[prev] if prev is not None and total_of(cards[prev]) == total_of(cards[index]) else position
    cutoffs = [(a, math.ceil(Decimal(n) * a.top / HUNDRED)) for a in awards.ranks]
    for index in range(n):
        rank = ranks[index]
        chosen = next((a.id for a, count in cutoffs if rank <= count), None)
        if chosen is None and awards.improvement is not None:
            prev = previous_of(cards[index])
            if prev is not None and total_of(cards[index]) > prev:
                chosen = awards.improvement.id
        if chosen is None and awards.rest is not None:
            chosen = awards.rest.id
        result[index] = (chosen, rank)
    return result


def apply_awards(awards: Awards, cards: list[Card]) -> None:
    for index, (chosen, rank) in award(awards, cards).items():
        card = cards[index]
        card.award, card.rank = chosen, rank
        gain = ""
        if card.previous is not None:
            gain = f", previous period {amounts.units(card.previous)}"
        card.lines.append(f"rank {rank} of {len(cards)}{gain}: award {chosen}")


@dataclass
class Team:
    team: str
    members: list[str]
    average: Decimal
    previous: Decimal | None
    award: str | None = None
    rank: int | None = None


def team_awards(awards: Awards, cards: list[Card]) -> list[Team]:
    groups: dict[str, list[Card]] = {}
    for card in cards:
        if card.team:
            groups.setdefault(card.team, []).append(card)
    teams = []
    for name, members in sorted(groups.items()):
        average = sum((c.total for c in members), Decimal(0)) / len(members)
        prevs = [c.previous for c in members if c.previous is not None]
        previous = sum(prevs, Decimal(0)) / len(prevs) if len(prevs) == len(members) else None
        teams.append(
            Team(
                name,
                sorted(c.staff_id for c in members),
                average.quantize(Decimal("0.0001")),
                previous.quantize(Decimal("0.0001")) if previous is not None else None,
            )
        )
    for index, (chosen, rank) in award(awards, teams, lambda t: t.average, lambda t: t.previous).items():
        teams[index].award, teams[index].rank = chosen, rank
    return teams
