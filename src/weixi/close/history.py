"""One row per member for the closing month: what they spent, topped up, how often they were in touch.

Written once, as Ibis expressions, for every backend. Windows (ARPU over 3 months, contribution over 12)
are read back from the history of earlier closes by the segment and tier jobs.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pyarrow as pa

from weixi.close.backends import archive_table
from weixi.close.months import month_end
from weixi.close.sources import files

HISTORY_SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("spend_fen", pa.int64()),
        ("recharge_fen", pa.int64()),
        ("touches", pa.int64()),
        ("last_active_on", pa.date32()),
        ("points_earned", pa.int64()),
    ]
)


def members_table(con, data_dir: Path, month: str, columns: tuple[str, ...] = ()) -> ibis.Table:
    """member_id, join_date, churned_on (only when the member had left by the end of ``month``), and the members'
    ``columns`` (the snapshot's profile: the members' file read once)."""
    members = archive_table(con, data_dir, "members").select("member_id", "join_date", *columns)
    if not files(data_dir, "churn_labels"):
        return members.mutate(churned_on=ibis.null("date"))
    labels = archive_table(con, data_dir, "churn_labels")
    end = ibis.date(month_end(month))
    left = labels.filter(labels.churned & (labels.churn_date <= end)).select(
        member_id_l="member_id", churned_on="churn_date"
    )
    joined = members.left_join(left, members.member_id == left.member_id_l)
    return joined.select("member_id", "join_date", "churned_on", *columns)


def month_touches(con, data_dir: Path, month: str) -> ibis.Table:
    """Per member of ``month``'s inputs: spend, recharges, touches and the last day active (what the history rows
    hold but the points, which come from the ledger)."""
    end = ibis.date(month_end(month))
    bills = archive_table(con, data_dir, "bills", month)
    recharges = archive_table(con, data_dir, "recharges", month)
    usage = archive_table(con, data_dir, "usage", month)
    surveys = archive_table(con, data_dir, "surveys", month)
    complaints = archive_table(con, data_dir, "complaints", month)

    def touch(t, amount, kind_amount, day):
        return t.select(
            member_id=t.member_id,
            spend_fen=amount if kind_amount == "spend" else ibis.literal(0, "int64"),
            recharge_fen=amount if kind_amount == "recharge" else ibis.literal(0, "int64"),
            day=day,
        )

    zero = ibis.literal(0, "int64")
    active_usage = usage.filter((usage.voice_minutes + usage.data_mb + usage.sms_count) > 0)
    parts = [
        touch(bills, bills.amount_fen.cast("int64"), "spend", ibis.null("date")),
        touch(recharges, recharges.amount_fen.cast("int64"), "recharge", recharges.recharged_at.date()),
        touch(active_usage, zero, None, end),
        touch(surveys, zero, None, surveys.surveyed_at.date()),
        touch(complaints, zero, None, complaints.opened_at.date()),
    ]
    touches = ibis.union(*parts, distinct=False)
    return touches.group_by("member_id").aggregate(
        spend_fen=touches.spend_fen.sum(),
        recharge_fen=touches.recharge_fen.sum(),
        touches=touches.count(),
        last_active_on=touches.day.max(),
    )


def month_history(con, data_dir: Path, month: str, points: ibis.Table, touches: ibis.Table | None = None) -> ibis.Table:
    """History rows of ``month``: ``points`` is (member_id, points_earned) from the ledger; ``touches``:
    :func:`month_touches` of the month, when computed already."""
    agg = month_touches(con, data_dir, month) if touches is None else touches
    pts = points.select(member_id_p="member_id", points_earned="points_earned")
    joined = agg.outer_join(pts, agg.member_id == pts.member_id_p)
    out = joined.select(
        member_id=ibis.coalesce(joined.member_id, joined.member_id_p),
        month=ibis.literal(month),
        spend_fen=ibis.coalesce(joined.spend_fen, 0).cast("int64"),
        recharge_fen=ibis.coalesce(joined.recharge_fen, 0).cast("int64"),
        touches=ibis.coalesce(joined.touches, 0).cast("int64"),
        last_active_on=joined.last_active_on.cast("date"),
        points_earned=ibis.coalesce(joined.points_earned, 0).cast("int64"),
    )
    return out
