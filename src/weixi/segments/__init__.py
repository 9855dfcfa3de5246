"""Tiers and segments at the monthly close: set-based jobs written once with Ibis.

The same expressions run on DuckDB (one box) and on PySpark (a cluster). Inputs are Ibis tables built by
the close (:mod:`weixi.close`): ``members`` (member_id, join_date, churned_on) and ``history`` (one row per
member per month: member_id, month, spend_fen, recharge_fen, touches, last_active_on, points_earned); the
tier job also reads the previous close's ``tier_state``. Nothing here reads or writes anything: each function
returns expressions for the caller to execute.

Every result is deterministic on both engines: money and shares are compared in integers, ties are either
shared (equal values get the same grade or score) or broken by ``member_id``, and dates are computed in
Python and compared as literals.
"""

from weixi.segments.segment import SEGMENT_SCHEMA, segment
from weixi.segments.tiers import TIER_EVENT_SCHEMA, TIER_STATE_SCHEMA, evaluate_tiers
from weixi.segments.window import history_months, window_totals

__all__ = [
    "SEGMENT_SCHEMA",
    "TIER_EVENT_SCHEMA",
    "TIER_STATE_SCHEMA",
    "evaluate_tiers",
    "history_months",
    "segment",
    "window_totals",
]
