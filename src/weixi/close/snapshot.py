"""The month-end snapshot of every member, and the close's summary.

The engine-specific work (history, tiers, segments) is done by Ibis on the chosen backend; the final
assembly is a few key joins in Arrow, identical whatever the backend was.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from weixi.close.backends import archive_table
from weixi.close.months import month_end
from weixi.plans.model import Plan

PROFILE = ["member_id", "city", "manager_id", "payment_type", "card_role", "network", "plan_name"]
SEGMENT_COLUMNS = ["star_level", "value_grade", "activity_grade", "rfm", "key_account", "arpu_fen"]


def _left(base: pa.Table, other: pa.Table, columns: list[str]) -> pa.Table:
    keep = ["member_id"] + [c for c in columns if c in other.column_names]
    return base.join(other.select(keep), "member_id", join_type="left outer")


def build_snapshot(con, data_dir: Path, month: str, members, tiers: pa.Table, segments: pa.Table,
                   history: pa.Table, balances: pa.Table) -> pa.Table:
    end = month_end(month)
    base = con.to_pyarrow(members.filter(members.join_date <= end))
    profile = con.to_pyarrow(archive_table(con, data_dir, "members").select(*PROFILE))
    snap = _left(base, profile, PROFILE[1:])
    snap = _left(snap, tiers, ["tier", "tier_since", "grace_until"])
    snap = _left(snap, segments, SEGMENT_COLUMNS)
    snap = _left(snap, history.rename_columns([c if c == "member_id" else f"month_{c}" for c in history.column_names]),
                 ["month_spend_fen", "month_points_earned"])
    snap = _left(snap, balances, ["points_balance", "points_debt"])
    status = pc.if_else(pc.is_null(snap["churned_on"]), "active", "left")
    snap = snap.append_column("status", status).append_column("month", pa.array([month] * snap.num_rows, pa.string()))
    for name in ("month_spend_fen", "month_points_earned", "points_balance", "points_debt"):
        i = snap.column_names.index(name)
        snap = snap.set_column(i, name, pc.fill_null(snap[name], 0).cast(pa.int64()))
    order = ["month", "member_id", "status", "join_date", "churned_on", *PROFILE[1:], "tier", "tier_since",
             "grace_until", *SEGMENT_COLUMNS, "month_spend_fen", "month_points_earned", "points_balance", "points_debt"]
    return snap.select([c for c in order if c in snap.column_names]).sort_by("member_id")


def _counts(table: pa.Table, column: str) -> dict:
    if column not in table.column_names:
        return {}
    counts = table.group_by(column).aggregate([("member_id", "count")]).to_pylist()
    return {str(r[column]): r["member_id_count"] for r in sorted(counts, key=lambda r: str(r[column]))}


def summarize(snapshot: pa.Table, events: pa.Table, totals: dict, plan: Plan) -> dict:
    active = snapshot.filter(pc.equal(snapshot["status"], "active"))
    liability = Decimal(totals["outstanding"]) * plan.cost_per_point_fen / 100
    return {
        "members": snapshot.num_rows, "active": active.num_rows,
        "by_tier": _counts(active, "tier"), "by_star_level": _counts(active, "star_level"),
        "by_value_grade": _counts(active, "value_grade"), "by_activity": _counts(active, "activity_grade"),
        "by_key_account": _counts(active, "key_account"), "tier_events": _counts(events, "event"),
        "points": {"issued": totals["issued"], "redeemed": totals["redeemed"], "expired": totals["expired"],
                   "reversed": totals["reversed"], "outstanding": totals["outstanding"]},
        "liability_yuan": str(liability.quantize(Decimal("0.01"))),
        "cost_per_point_yuan": str(plan.cost_per_point_fen / 100),
    }
