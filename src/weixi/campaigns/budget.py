"""Budget against actual cost (burn), and the risk register as a likelihood x impact matrix. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from weixi.campaigns.model import BUDGET_LINES, Campaign, Risk


def points_fen(points: int, cost_per_point_fen: Decimal) -> int:
    """What ``points`` cost in whole fen (half up)."""
    return int((Decimal(points) * cost_per_point_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class LineBurn:
    line: str
    planned_fen: int
    actual_fen: int
    planned_points: int | None = None
    actual_points: int | None = None

    @property
    def burn(self) -> Decimal | None:
        return Decimal(self.actual_fen) / self.planned_fen if self.planned_fen else None


def burn(
    campaign: Campaign, cost_per_point_fen: Decimal, actual_fen: dict[str, int], points_issued: int
) -> list[LineBurn]:
    """One row per budget line (and per line with cost but no budget), in the order of BUDGET_LINES."""
    planned = {b.line: b for b in campaign.budget}
    rows = []
    for line in BUDGET_LINES:
        b = planned.get(line)
        if line == "points":
            if b is None and not points_issued:
                continue
            plan_points = b.points if b else 0
            rows.append(
                LineBurn(
                    line,
                    points_fen(plan_points or 0, cost_per_point_fen),
                    points_fen(points_issued, cost_per_point_fen),
                    plan_points,
                    points_issued,
                )
            )
            continue
        if b is None and not actual_fen.get(line):
            continue
        rows.append(LineBurn(line, b.fen if b else 0, actual_fen.get(line, 0)))
    return rows


def risk_matrix(risks: tuple[Risk, ...]) -> list[list[list[str]]]:
    """``matrix[likelihood-1][impact-1]`` = ids of the risks in that cell."""
    cells: list[list[list[str]]] = [[[] for _ in range(5)] for _ in range(5)]
    for r in risks:
        cells[r.likelihood - 1][r.impact - 1].append(r.id)
    return cells
