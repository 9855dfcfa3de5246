"""Incentive plans in the plan loader: ``kind:`` at the top of a plan file selects this checker.

:func:`load_incentive` is registered in :mod:`weixi.plans.kinds` as the checker of every top-level ``kind``
that is not ``points`` and that no other package registers; :func:`overlaps` is the check across files that ``weixi plan check`` runs on
all incentive plans given together (two plans in force on the same day for the same business).
"""

from __future__ import annotations

from datetime import date, timedelta

from weixi.incentives import plan_schema
from weixi.incentives.model import IncentivePlan
from weixi.incentives.plan_resolve import resolve
from weixi.plans.diagnostics import ERROR, Diagnostic, Pos, Report, diagnostic
from weixi.plans.kinds import ANY, PlanKind, register
from weixi.plans.spec import read
from weixi.plans.yaml_source import Mapping


def load_incentive(node: Mapping, filename: str) -> tuple[IncentivePlan | None, list[Diagnostic]]:
    report = Report(filename)
    val = read(node, plan_schema.PLAN, report)
    plan = resolve(val.value, filename, report)
    found = sorted(report.items, key=Diagnostic.sort_key)
    return (None if report.has_errors else plan), found


def valid_pos(plan: IncentivePlan) -> Pos:
    return Pos(*plan.valid_at)


def overlaps(plans: list[IncentivePlan]) -> list[Diagnostic]:
    """Two plans in force on a common day for a common business; a plan that ``replaces`` another ends
    that one's open validity the day before it starts."""
    ends = {}
    for plan in plans:
        if plan.replaces and plan.valid.start is not None:
            ends[plan.replaces] = plan.valid.start - timedelta(days=1)
    found = []
    for i, a in enumerate(plans):
        for b in plans[i + 1 :]:
            common = [x for x in a.businesses if x in b.businesses]
            if not common or a.id == b.id and a.source == b.source:
                continue
            start_a, end_a = _window(a, ends)
            start_b, end_b = _window(b, ends)
            first = max(start_a, start_b)
            last = min(end_a, end_b)
            if first > last:
                continue
            later, other = (b, a) if (b.valid.start or date.min) >= (a.valid.start or date.min) else (a, b)
            pos = valid_pos(later)
            opos = valid_pos(other)
            code = "incentive_plan_overlap" + ("_open" if last == date.max else "")
            code += "_replacing" if later.replaces == other.id else ""
            found.append(
                diagnostic(
                    later.source,
                    pos,
                    ERROR,
                    code,
                    plan=later.id,
                    other=other.id,
                    other_file=other.source,
                    line=opos.line,
                    column=opos.column,
                    businesses=common,
                    first=first,
                    last=None if last == date.max else last,
                )
            )
    return found


def _window(plan: IncentivePlan, ends: dict) -> tuple[date, date]:
    start = plan.valid.start or date.min
    end = plan.valid.end or ends.get(plan.id, date.max)
    if plan.valid.end is None and plan.id in ends:
        end = ends[plan.id]
    return start, end


register(PlanKind((ANY,), load_incentive, IncentivePlan, check_together=overlaps))
