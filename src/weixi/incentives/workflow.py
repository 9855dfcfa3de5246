"""The award workflow (seed 000): nomination (a letter or a form) -> committee review -> leadership
approval -> publication. Pure rules: which step may follow which, and what a decision leads to."""

from __future__ import annotations

from weixi.errors import Conflict, Invalid
from weixi.incentives.errors import IncentiveError

STEPS = ("nomination", "committee_review", "leadership_approval", "publication")
DECISIONS = ("accept", "reject")
# status after each step when accepted; a rejection at any step ends the nomination as "rejected"
STATUS_AFTER = {
    "nomination": "nominated",
    "committee_review": "reviewed",
    "leadership_approval": "approved",
    "publication": "published",
}
NEXT_STEP = {"nominated": "committee_review", "reviewed": "leadership_approval", "approved": "publication"}


class WorkflowError(IncentiveError, ValueError):
    """A workflow step refused."""


class BadDecision(WorkflowError, Invalid):
    """A decision other than accept or reject."""


class StepRefused(WorkflowError, Conflict):
    """A step out of order, or on a nomination that is finished."""


def next_status(status: str, step: str, decision: str) -> str:
    """The nomination's status after ``step`` with ``decision``; a step out of order is refused."""
    if decision not in DECISIONS:
        raise BadDecision("incentive_bad_decision", decision=decision)
    expected = NEXT_STEP.get(status)
    if expected is None:
        raise StepRefused("incentive_nomination_finished", award_status=status)
    if step != expected:
        raise StepRefused("incentive_step_out_of_order", award_status=status, next_step=expected, award_step=step)
    if decision == "reject":
        return "rejected"
    return STATUS_AFTER[step]


def changes(published: dict, recomputed: dict) -> dict:
    """What a recompute changes against a published statement (both in the JSON shape of compute). Lines are
    compared by what they pay (rule, measure, units, KPI points, yuan), not by their wording: a statement published
    before its lines had codes is not changed by a recompute that says the same pay in other words."""
    out, unchanged = {}, 0
    old, new = published.get("staff", {}), recomputed.get("staff", {})
    for staff_id in sorted(set(old) | set(new)):
        a, b = old.get(staff_id), new.get(staff_id)
        if _pay(a) == _pay(b):
            unchanged += 1
            continue
        entry = {}
        for key in ("mobile_units", "broadband_units", "kpi_points", "bonus_yuan"):
            before = (a or {}).get(key, "0")
            after = (b or {}).get(key, "0")
            if _dec(before) != _dec(after):
                entry[key] = {"published": before, "recomputed": after, "difference": _diff(before, after, key)}
        lines_a = {l["order_id"]: l for l in (a or {}).get("lines", [])}
        lines_b = {l["order_id"]: l for l in (b or {}).get("lines", [])}
        entry["added"] = [lines_b[o] for o in lines_b if o not in lines_a]
        entry["removed"] = [lines_a[o] for o in lines_a if o not in lines_b]
        entry["changed"] = [
            {"published": lines_a[o], "recomputed": lines_b[o]}
            for o in lines_b
            if o in lines_a and _line_pay(lines_a[o]) != _line_pay(lines_b[o])
        ]
        ex_a = {e["order_id"] for e in (a or {}).get("excluded", [])}
        entry["newly_excluded"] = [e for e in (b or {}).get("excluded", []) if e["order_id"] not in ex_a]
        out[staff_id] = entry
    return {"changes": out, "unchanged": unchanged}


_LINE_PAY = ("order_id", "rule", "measure", "units", "kpi_points", "yuan")
_STAFF_PAY = ("role", "mobile_units", "broadband_units", "kpi_points", "bonus_yuan")


def _line_pay(line: dict) -> tuple:
    return tuple(line.get(k) for k in _LINE_PAY)


def _pay(statement: dict | None) -> tuple | None:
    """What a statement pays and excludes, without the wording of its lines and reasons."""
    if statement is None:
        return None
    excluded = sorted(e["order_id"] for e in statement.get("excluded", []))
    lines = [_line_pay(l) for l in statement.get("lines", [])]
    return tuple(statement.get(k) for k in _STAFF_PAY), tuple(lines), tuple(excluded)


def _dec(text: str):
    from decimal import Decimal

    return Decimal(text)


def _diff(before: str, after: str, key: str) -> str:
    from weixi.incentives import amounts

    value = _dec(after) - _dec(before)
    return amounts.yuan(value) if key == "bonus_yuan" else amounts.units(value)
