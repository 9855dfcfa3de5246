"""The plan keys every incentive plan kind shares beyond its rules (no I/O): the approval chain (``approval:``,
steps in order, each decided by the roles it names), the months a plan is suspended (``suspended:``, no pay
computed, the reason shown), and an order plan's monthly KPI quota and over-quota bonus (``kpi:``)."""

from __future__ import annotations

from weixi.incentives import model as m
from weixi.plans.checks import unique
from weixi.plans.diagnostics import Report
from weixi.plans.spec import Spec


def approval(spec: Spec, report: Report) -> tuple[m.ApprovalStep, ...]:
    items = spec.items("approval")
    unique(items, "id", "approval step", report)
    return tuple(
        m.ApprovalStep(s.get("id", ""), s.get("name", s.get("id", "")), tuple(r.value for r in s.items("roles")))
        for s in (i.value for i in items)
    )


def suspended(spec: Spec, report: Report) -> tuple[m.Suspension, ...]:
    items = spec.items("suspended")
    unique(items, "month", "suspended month", report)
    months = {}
    for s in (i.value for i in items):
        if s.get("month") and s.get("month") not in months:
            months[s.get("month")] = m.Suspension(s.get("month"), s.get("reason", ""))
    return tuple(months.values())


def from_records(spec: Spec, metrics: set[str], report: Report) -> tuple[m.RecordMetric, ...]:
    """A scorecard's metrics computed from the service records: each names a weighted metric, once; a
    ``resolved_within`` measure needs its ``hours``."""
    items = spec.items("from_records")
    unique(items, "metric", "record metric", report)
    out = []
    for s in (i.value for i in items):
        if s.get("metric") not in metrics:
            report.error(
                s.at("metric"), "incentive_record_metric_unknown", metric=s.get("metric"), known=sorted(metrics)
            )
            continue
        if s.get("measure") == "resolved_within" and s.get("hours") is None:
            report.error(s.pos, "incentive_record_measure_needs_hours", metric=s.get("metric"))
            continue
        out.append(m.RecordMetric(s.get("metric"), s.get("measure"), s.get("survey_scale"), s.get("hours")))
    return tuple(out)


def kpi(spec: Spec) -> m.KpiTerms | None:
    node = spec.get("kpi")
    if node is None:
        return None
    quota, over = node.get("quota"), node.get("over_quota_yuan")
    return m.KpiTerms(
        {k: quota.get(k) for k in m.MEASURES if quota is not None and quota.get(k) is not None},
        {k: over.get(k) for k in m.MEASURES if over is not None and over.get(k) is not None},
    )
