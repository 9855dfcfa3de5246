"""``segment``: star level, value grade, activity grade, RFM and key account of every member in service."""

from __future__ import annotations

import ibis

from weixi.plans.model import Plan, Segments
from weixi.segments import months
from weixi.segments.activity import activity_grade
from weixi.segments.key_accounts import key_account
from weixi.segments.pyramid import value_grades
from weixi.segments.rfm import with_rfm
from weixi.segments.stars import star_columns, tenure_years
from weixi.segments.window import Keep, lazy, segment_sums, window_totals

SEGMENT_SCHEMA = ibis.schema(
    {
        "member_id": "string",
        "month": "string",
        "tenure_years": "int32",  # full years in service at the month end
        "arpu_fen": "int64",  # star_levels: average monthly spend over the ARPU window (months in service)
        "star_level": "int8",  # 1..7
        "contribution_fen": "int64",  # value_pyramid: spend over its window
        "value_grade": "string",  # A/B/C/D = 白金/黄金/钢铁/重铅
        "days_since_active": "int32",  # month end - last activity; null when never active in the history given
        "touches": "int64",  # activity: activity records over its window
        "activity_grade": "string",  # active/normal/silent = 活跃/一般/沉默
        "frequency": "int64",  # rfm: activity records over its window
        "monetary_fen": "int64",  # rfm: spend over its window
        "r_score": "int8",
        "f_score": "int8",
        "m_score": "int8",
        "rfm": "string",  # e.g. '545'
        "key_spend_fen": "int64",  # key_accounts: spend over its window
        "active_months": "int64",  # key_accounts: months of its window with at least one activity record
        "key_account": "string",  # level id
    }
)


def segment(
    members: ibis.Table,
    history: ibis.Table,
    plan: Plan,
    month: str,
    keep: Keep = lazy,
    totals: ibis.Table | None = None,
) -> ibis.Table:
    """One row per member in service at the end of ``month`` with the columns of :data:`SEGMENT_SCHEMA`.

    A section missing from ``plan.segments`` leaves its columns null. Rows are in no particular order.
    ``keep`` receives the members with their window totals, which the RFM scores and the value pyramid each
    read again (see :data:`weixi.segments.window.Keep`). ``totals``: :func:`~weixi.segments.window.window_totals`,
    when the caller computed them once for the tiers and the segments; else they are made here.
    """
    seg = plan.segments or Segments()
    if totals is None:
        totals = window_totals(members, history, plan, month)
    t = totals.select("member_id", "join_date", "last_active_on", *segment_sums(seg))
    end = ibis.literal(months.end(month))
    t = t.mutate(
        month=ibis.literal(month),
        tenure_years=tenure_years(t.join_date, month),
        days_since_active=end.delta(t.last_active_on, unit="day").cast("int32"),
    )
    columns: dict[str, ibis.Value] = {}
    if seg.star_levels:
        columns.update(star_columns(t.arpu_spend_fen, t.join_date, t.tenure_years, seg.star_levels, month))
    if seg.activity:
        columns["activity_grade"] = activity_grade(t.days_since_active, t.touches, seg.activity)
    if seg.key_accounts:
        columns["key_account"] = key_account(t.key_spend_fen, t.active_months, t.tenure_years, seg.key_accounts)
    t = keep(t.mutate(**columns), "segment_base")
    if seg.rfm:
        t = with_rfm(t, seg.rfm.bins)
    if seg.value_pyramid:
        grades = value_grades(t.select("member_id", "contribution_fen"), seg.value_pyramid)
        grades = grades.rename(grade_member_id="member_id")
        joined = t.left_join(grades, t.member_id == grades.grade_member_id)
        t = joined.drop("grade_member_id")
    return t.select(
        **{name: (t[name] if name in t.columns else ibis.null()).cast(dtype) for name, dtype in SEGMENT_SCHEMA.items()}
    )
