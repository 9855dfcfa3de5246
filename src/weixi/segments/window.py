"""Who is segmented at a close, and what each member did over the windows the plan asks for."""

from __future__ import annotations

from typing import Callable

import ibis

from weixi.plans.model import Plan, Segments, TierMeasure
from weixi.segments import months

MEASURE = "tier_measure"  # the tier policy's window total, among the window totals the tiers and segments share

Keep = Callable[[ibis.Table, str], ibis.Table]
"""How the caller computes an intermediate table that a job reads more than once: called with the expression
and a name, it returns a table with the same rows. The close stores it once in the engine
(:func:`weixi.close.backends.keeper`); left :func:`lazy`, the engine may compute it once per reader."""


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


def window_totals(members: ibis.Table, history: ibis.Table, plan: Plan, month: str) -> ibis.Table:
    """The members in service at the end of ``month`` with every window total that the tier job (its measure,
    :data:`MEASURE`) and the segments read (:func:`with_totals`), from one pass over ``history``. The close computes
    it once and hands it to both (:func:`weixi.segments.tiers.evaluate_tiers`, :func:`weixi.segments.segment`);
    each alone would read the members and group the history by member again."""
    base = in_service(members, months.check(month)).select("member_id", "join_date")
    return with_totals(base, history, month, {**segment_sums(plan.segments or Segments()), **measure_sum(plan)})


def measure_sum(plan: Plan) -> dict[str, tuple[str, int]]:
    """The window sum the tier policy measures, as :func:`totals` takes it (none without a policy): points earned or
    spend, over the policy's window."""
    policy = plan.tier_policy
    if policy is None:
        return {}
    column = "points_earned" if policy.measure is TierMeasure.POINTS_EARNED else "spend_fen"
    return {MEASURE: (column, policy.window_months)}


def segment_sums(seg: Segments) -> dict[str, tuple[str, int]]:
    """The window sums the configured sections need: name -> (history column, months)."""
    sums = {}
    if seg.star_levels:
        sums["arpu_spend_fen"] = ("spend_fen", seg.star_levels.arpu_months)
    if seg.value_pyramid:
        sums["contribution_fen"] = ("spend_fen", seg.value_pyramid.window_months)
    if seg.activity:
        sums["touches"] = ("touches", seg.activity.window_months)
    if seg.rfm:
        sums["frequency"] = ("touches", seg.rfm.window_months)
        sums["monetary_fen"] = ("spend_fen", seg.rfm.window_months)
    if seg.key_accounts:
        sums["key_spend_fen"] = ("spend_fen", seg.key_accounts.window_months)
        sums["active_months"] = ("active_months", seg.key_accounts.window_months)
    return sums
