"""The parts of the one monthly pay statement that are not orders, violations or referrals (issue 19 §5): scorecard
bonuses by grade and role and the rank awards with their money (``kind: scorecard``), key-account maintenance
scores (``kind: key_account``), and the KPI against its monthly quota with the over-quota bonus (超量奖, an order
plan's ``kpi:``). Pure functions over small per-staff inputs; each produces statement lines (a catalogue ``code``
and ``params``, :mod:`weixi.incentives.lines`) and a score summary, so every yuan names the scores and the plan
that produced it.

A scorecard is paid in the month its period ends: a monthly one every month, a quarterly one in the quarter's last
month (the seed: "奖励将在下季度开始前正式宣布和发放"), a yearly one in December.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Mapping

from weixi.incentives import amounts, keyaccount, scorecard
from weixi.incentives.model import MEASURES, IncentivePlan, KpiTerms
from weixi.incentives.months import Month, Quarter, Year
from weixi.incentives.records import BadField, Rejected, number, text

SCORE_COLUMNS = ("staff_id", "metric", "score", "plan")
QUOTA_COLUMNS = ("staff_id", "measure", "quota")
HUNDRED = Decimal(100)


@dataclass
class Scored:
    """What one plan adds to the month's statements: lines by staff and a score summary by staff."""

    lines: dict[str, list[dict]] = field(default_factory=dict)
    scores: dict[str, dict] = field(default_factory=dict)


def paid_period(plan: IncentivePlan, month: Month):
    """The period a scorecard or key-account plan pays in ``month``: the month, or the quarter or year that ends
    with it; None when the plan pays nothing this month."""
    if plan.period == "quarter":
        return Quarter(month.year, (month.month - 1) // 3 + 1) if month.month % 3 == 0 else None
    if plan.period == "year":
        return Year(month.year) if month.month == 12 else None
    return month


def read_scores(
    rows: Iterable[tuple[int, Mapping]], plans: list[IncentivePlan], path: str
) -> tuple[dict[str, dict[str, dict[str, Decimal]]], list[Rejected]]:
    """``{plan id: {staff_id: {metric: score}}}`` from the scores input; a row names its plan in ``plan``, which may
    be left empty when only one scorecard or key-account plan is given."""
    ids = [p.id for p in plans]
    out: dict[str, dict[str, dict[str, Decimal]]] = {i: {} for i in ids}
    rejected = []
    for row, raw in rows:
        try:
            staff_id, metric, value = text(raw, "staff_id"), text(raw, "metric"), number(raw, "score")
            plan = text(raw, "plan", required=False) or (ids[0] if len(ids) == 1 else None)
            if plan is None:
                raise BadField("incentive_score_plan_needed", "plan", plans=ids)
            if plan not in out:
                raise BadField("incentive_score_unknown_plan", "plan", plan=plan, plans=ids)
            if metric in out[plan].get(staff_id, {}):
                raise BadField("incentive_score_repeated", "metric", metric=metric, staff=staff_id)
        except BadField as exc:
            rejected.append(Rejected.of(str(raw.get("staff_id") or ""), row, exc, path))
            continue
        out[plan].setdefault(staff_id, {})[metric] = value
    return out, rejected


def read_quotas(rows: Iterable[tuple[int, Mapping]], path: str) -> tuple[dict[tuple[str, str], Decimal], list]:
    """``{(staff_id, measure): units}`` of the month's KPI quotas (任务量), overriding a plan's ``kpi.quota``."""
    out: dict[tuple[str, str], Decimal] = {}
    rejected = []
    for row, raw in rows:
        try:
            staff_id, measure, quota = text(raw, "staff_id"), text(raw, "measure"), number(raw, "quota")
            if measure not in MEASURES:
                raise BadField("incentive_quota_bad_measure", "measure", value=measure, known=list(MEASURES))
            if quota < 0:
                raise BadField("incentive_quota_negative", "quota", value=amounts.units(quota))
            if (staff_id, measure) in out:
                raise BadField("incentive_quota_repeated", "measure", staff=staff_id, measure=measure)
        except BadField as exc:
            rejected.append(Rejected.of(str(raw.get("staff_id") or ""), row, exc, path))
            continue
        out[(staff_id, measure)] = quota
    return out, rejected


def _line(source: str, rule: str, yuan: Decimal, code: str, params: dict, kpi: Decimal = Decimal(0)) -> dict:
    return {
        "order_id": source,
        "rule": rule,
        "measure": None,
        "units": "0",
        "kpi_points": amounts.units(kpi),
        "yuan": amounts.yuan(yuan),
        "code": code,
        "params": params,
    }


def scorecards(plan: IncentivePlan, period, by_staff: dict[str, dict[str, Decimal]], roles: dict) -> Scored:
    """Totals, grades, the bonus of each staff member's grade and role, and the rank awards with their money."""
    out = Scored()
    cards = [scorecard.score(plan.scorecard, plan.id, s, by_staff[s], roles.get(s), None) for s in sorted(by_staff)]
    scorecard.apply_awards(plan.scorecard.awards, cards)
    grades = {b.grade: b.name for b in plan.scorecard.bands}
    awards = {a.id: a for a in plan.scorecard.awards.ranks}
    for extra in (plan.scorecard.awards.improvement, plan.scorecard.awards.rest):
        if extra is not None:
            awards[extra.id] = extra
    said = {"period": str(period), "plan": plan.id, "plan_name": plan.name or plan.id}
    for c in cards:
        lines = out.lines.setdefault(c.staff_id, [])
        summary = {
            **said,
            "kind": "scorecard",
            "scores": {k: amounts.units(v) for k, v in sorted(c.scores.items())},
            "missing": c.missing,
            "total": amounts.units(c.total),
            "scale": amounts.units(plan.scorecard.scale),
            "grade": c.grade,
            "grade_name": grades.get(c.grade) if c.grade else None,
            "rank": c.rank,
            "of": len(cards),
            "award": c.award,
            "award_name": awards[c.award].name if c.award in awards else None,
            "from_records": [rm.metric for rm in plan.scorecard.from_records],
        }
        out.scores[c.staff_id] = summary
        params = {k: summary[k] for k in ("period", "plan", "plan_name", "total", "scale", "scores")}
        if c.grade is not None and plan.scorecard.bonus_row(c.role) is not None:
            params.update(grade=c.grade, grade_name=summary["grade_name"], role=c.role or "other")
            params["yuan"] = amounts.yuan(c.bonus_yuan)
            lines.append(_line(str(period), f"{plan.id}/bonus", c.bonus_yuan, "incentive_line.scorecard", params))
        award = awards.get(c.award)
        if award is not None and award.yuan:
            p = dict(said, award=award.id, award_name=award.name, rank=c.rank, of=len(cards))
            p["yuan"] = amounts.yuan(award.yuan)
            lines.append(_line(str(period), f"{plan.id}/{award.id}", award.yuan, "incentive_line.award", p))
    return out


def key_accounts(plan: IncentivePlan, period, by_staff: dict[str, dict[str, Decimal]]) -> Scored:
    """Key-account maintenance scores (information + contribution, pro rata): a score on the statement, no yuan."""
    out = Scored()
    t = plan.key_account
    for staff_id in sorted(by_staff):
        values = by_staff[staff_id]
        weeks = {int(k[4:]): int(v) for k, v in values.items() if k.startswith("week") and k[4:].isdigit()}
        share = values.get("contribution_pct", Decimal(0))
        r = keyaccount.score(t, plan.id, staff_id, weeks, share)
        params = {
            "period": str(period),
            "plan": plan.id,
            "plan_name": plan.name or plan.id,
            "customers": r.customers,
            "monthly": t.monthly_customers,
            "share": amounts.units(share),
            "min_share": amounts.units(t.min_contribution),
            "information": amounts.units(r.information_points),
            "contribution": amounts.units(r.contribution_points),
            "total": amounts.units(r.total),
            "short_weeks": r.short_weeks,
        }
        code = "incentive_line.key_account_short_weeks" if r.short_weeks else "incentive_line.key_account"
        out.lines[staff_id] = [_line(str(period), plan.id, Decimal(0), code, params)]
        out.scores[staff_id] = {
            **{k: params[k] for k in ("period", "plan", "plan_name", "total")},
            "kind": "key_account",
            "scale": amounts.units(t.information_points + t.contribution_points),
            "customers": r.customers,
            "contribution_pct": params["share"],
            "short_weeks": r.short_weeks,
        }
    ranked = keyaccount.ranks({s: Decimal(v["total"]) for s, v in out.scores.items()})
    for staff_id, rank in ranked.items():  # "月底汇总、评比、通报": the ranking is on each statement
        out.scores[staff_id].update(rank=rank, of=len(ranked))
    return out


def kpi(
    plan: IncentivePlan,
    terms: KpiTerms,
    month: Month,
    staff_id: str,
    units: dict[str, Decimal],
    over_units: dict[str, Decimal],
    quotas: dict[tuple[str, str], Decimal],
) -> tuple[dict, list[dict]]:
    """The KPI of each measure against its quota, and the over-quota bonus lines: only units not marked
    ``kpi_only`` count into the over-quota bonus ("折算效能只列入计算月度KPI考核得分,不列入计算移动超量奖")."""
    found, lines = {}, []
    for measure in MEASURES:
        quota = quotas.get((staff_id, measure), terms.quota.get(measure))
        got, eligible = units.get(measure, Decimal(0)), over_units.get(measure, Decimal(0))
        rate = terms.over_quota_yuan.get(measure)
        if quota is None and not got:
            continue
        over = max(Decimal(0), eligible - quota) if quota is not None else Decimal(0)
        yuan = over * rate if rate is not None else Decimal(0)
        found[measure] = {
            "units": amounts.units(got),
            "quota": amounts.units(quota) if quota is not None else None,
            "completion_pct": amounts.units((got * HUNDRED / quota).quantize(Decimal("0.1"))) if quota else None,
            "over_quota_counted_units": amounts.units(eligible),
            "over_quota_units": amounts.units(over),
            "over_quota_yuan": amounts.yuan(yuan),
        }
        if rate is None or quota is None or not got:
            continue
        params = {
            "period": str(month),
            "plan": plan.id,
            "plan_name": plan.name or plan.id,
            "measure": measure,
            "units": amounts.units(got),
            "counted": amounts.units(eligible),
            "quota": amounts.units(quota),
            "over": amounts.units(over),
            "rate": amounts.yuan(rate),
            "yuan": amounts.yuan(yuan),
        }
        lines.append(_line(str(month), f"{plan.id}/over-quota-{measure}", yuan, "incentive_line.over_quota", params))
    return found, lines
