"""Discipline deductions (seed 002, OB group): each recorded violation deducts its KPI points; a damaged or lost
piece of equipment is paid for at the price of the plan's price table (照价赔偿)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from weixi.incentives import amounts
from weixi.incentives.model import IncentivePlan
from weixi.incentives.records import BadField, Rejected, day, text

COLUMNS = ("record_id", "staff_id", "violation", "occurred_on", "note")


@dataclass(frozen=True)
class Deduction:
    staff_id: str
    record_id: str
    violation: str
    occurred_on: date
    kpi_points: Decimal  # negative
    fine_yuan: Decimal  # negative or 0
    code: str  # the explanation: a sentence of the catalogue (incentive_line.violation*) with its params
    params: dict

    def line(self) -> dict:
        return {
            "order_id": self.record_id,
            "rule": self.violation,
            "measure": None,
            "units": "0",
            "kpi_points": amounts.units(self.kpi_points),
            "yuan": amounts.yuan(self.fine_yuan),
            "code": self.code,
            "params": self.params,
        }


def deduct(
    plan: IncentivePlan,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    first: date,
    last: date,
    staff: set[str] | None = None,
) -> tuple[list[Deduction], list[Rejected]]:
    """Deductions for violations recorded from ``first`` to ``last``; bad records are rejected with reasons."""
    by_id = {v.id: v for v in plan.violations}
    seen: dict[str, int] = {}
    rows = list(rows)
    counts: dict[str, int] = {}
    for _, raw in rows:
        rid = str(raw.get("record_id") or "").strip()
        counts[rid] = counts.get(rid, 0) + 1
    out, rejected = [], []
    for row, raw in rows:
        rid = str(raw.get("record_id") or "").strip()
        try:
            rid = text(raw, "record_id")
            if counts[rid] > 1:
                raise BadField("incentive_violation_repeated", "record_id", record=rid, count=counts[rid])
            staff_id = text(raw, "staff_id")
            if staff is not None and staff_id not in staff:
                raise BadField("incentive_row_unknown_staff", "staff_id", staff=staff_id)
            vid = text(raw, "violation")
            if vid not in by_id:
                raise BadField(
                    "incentive_unknown_violation", "violation", violation=vid, plan=plan.id, known=list(by_id)
                )
            when = day(raw, "occurred_on")
            if not first <= when <= last:
                raise BadField("incentive_violation_outside_month", "occurred_on", day=when, month=f"{first:%Y-%m}")
        except BadField as exc:
            rejected.append(Rejected.of(rid, row, exc))
            continue
        seen[rid] = row
        v = by_id[vid]
        note = text(raw, "note", required=False)
        params = {
            "record": rid,
            "day": when.isoformat(),
            "violation": vid,
            "violation_name": v.name or vid,
            "kpi": amounts.units(v.kpi_points),
            "yuan": amounts.yuan(v.fine_yuan),
            "plan": plan.id,
            "plan_name": plan.name or plan.id,
        }
        code = "incentive_line.violation_fine" if v.fine_yuan else "incentive_line.violation"
        if not v.kpi_points:  # the price table: compensation at the listed price, no KPI point
            code = "incentive_line.compensation"
        if note:
            code, params["note"] = code + "_note", note
        out.append(Deduction(staff_id, rid, vid, when, -v.kpi_points, -v.fine_yuan, code, params))
    return out, rejected
