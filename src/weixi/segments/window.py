"""Who is segmented at a close, and what each member did over the windows the plan asks for."""

from __future__ import annotations

from typing import Callable

import ibis

from weixi.plans.model import Plan
from weixi.segments import months

Keep = Callable[[ibis.Table, str], ibis.Table]
"""How the caller computes an intermediate table that a job reads more than once: called with the expression
and a name, it returns a table with the same rows. The close stores it once in the engine
(:func:`weixi.close.run.keeper`); left :func:`lazy`, the engine may compute it once per reader."""


def lazy(table: ibis.Table, name: str) -> ibis.Table:
    return table


def in_service(members: ibis.Table, month: str) -> ibis.Table:
    """Members in service at the month end: joined by then and not gone before it (churned_on is the last day)."""
    end = ibis.literal(months.end(month))
    return members.filter((members.join_date <= end) & (members.churned_on.isnull() | (members.churned_on >= end)))


def history_months(plan: Plan) -> int:
    """How many months of history (ending with the closing month) the tier and segment jobs read."""
    windows = [1]
    if plan.tier_policy is not None:
        windows.append(plan.tier_policy.window_months)
    seg = plan.segments
    if seg is not None:
        sections = (
            seg.star_levels and seg.star_levels.arpu_months,
            seg.value_pyramid,
            seg.activity,
            seg.rfm,
            seg.key_accounts,
        )
        windows += [s if isinstance(s, int) else s.window_months for s in sections if s]
    return max(windows)


def totals(history: ibis.Table, month: str, sums: dict[str, tuple[ibis.Deferred | str, int]]) -> ibis.Table:
    """One row per member with history: ``member_id``, ``last_active_on`` (over all the history given, up to
    ``month``) and, for each ``name: (column, n)``, the sum of ``column`` over the ``n`` months ending with
    ``month``. ``column`` is a history column name or ``"active_months"`` (months with at least one touch).

    ``history`` has one row per member and month, as the close writes it, so months with a touch are counted as
    rows: a distinct count per member took 60% of this job at 10 million members."""
    h = history.filter(history.month <= month)
    aggs = {"last_active_on": h.last_active_on.max()}
    for name, (column, n) in sums.items():
        inside = h.month >= months.first_of_window(month, n)
        if column == "active_months":
            aggs[name] = h.month.count(where=inside & (h.touches > 0)).cast("int64")
        else:
            aggs[name] = h[column].sum(where=inside).cast("int64")
    return h.group_by(h.member_id).aggregate(**aggs)


def with_totals(base: ibis.Table, history: ibis.Table, month: str, sums: dict) -> ibis.Table:
    """``base`` (a member table) with the columns of :func:`totals`; a member without history has sums of 0."""
    agg = totals(history, month, sums).rename(agg_member_id="member_id")
    joined = base.left_join(agg, base.member_id == agg.agg_member_id)
    return joined.select(
        *base.columns,
        last_active_on=joined.last_active_on,
        **{name: joined[name].coalesce(0) for name in sums},
    )
