"""The month-end snapshot of every member, and the close's summary.

The engine-specific work (history, tiers, segments) is done by Ibis on the chosen backend; the final
assembly is one DuckDB query of key joins, streamed to Parquet, identical whatever the backend was. Every
column is cast to a fixed type, so the bytes do not depend on which engine produced the inputs.

The query reads these relations from the DuckDB connection (see :func:`weixi.close.run.close_month`):
``close_members`` (member_id, join_date, churned_on and :data:`PROFILE`: the members' file read once),
``close_tiers`` (member_id, tier, tier_since, grace_until), ``close_segments`` (member_id and
:data:`SEGMENT_COLUMNS`), ``close_balances`` (member_id, points_balance, points_debt) and the month's
history file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from weixi.adapters.duck import scan_files as scan
from weixi.close.months import month_end
from weixi.plans.model import Plan

PROFILE = ["member_id", "city", "manager_id", "payment_type", "card_role", "network", "plan_name"]
TIER_COLUMNS = ["tier", "tier_since", "grace_until"]
SEGMENT_COLUMNS = ["star_level", "value_grade", "activity_grade", "rfm", "key_account", "arpu_fen"]
TYPES = {
    "join_date": "DATE",
    "churned_on": "DATE",
    "tier_since": "DATE",
    "grace_until": "DATE",
    "star_level": "TINYINT",
    "arpu_fen": "BIGINT",
}

# the month's history and tier events files: their columns' types (DuckDB)
HISTORY_TYPES = {
    "member_id": "VARCHAR",
    "month": "VARCHAR",
    "spend_fen": "BIGINT",
    "recharge_fen": "BIGINT",
    "touches": "BIGINT",
    "last_active_on": "DATE",
    "points_earned": "BIGINT",
}
TIER_EVENT_TYPES = {
    "member_id": "VARCHAR",
    "month": "VARCHAR",
    "event": "VARCHAR",
    "from_tier": "VARCHAR",
    "to_tier": "VARCHAR",
    "effective_on": "DATE",
    "measure": "BIGINT",
}


def _col(alias: str, name: str) -> str:
    return f"CAST({alias}.{name} AS {TYPES.get(name, 'VARCHAR')}) AS {name}"


def snapshot_sql(month: str, history_file: Path | list) -> str:
    """Every member who had joined by the month end, one row each, sorted by member id."""
    end = month_end(month).isoformat()
    cols = [
        f"CAST('{month}' AS VARCHAR) AS month",
        "CAST(m.member_id AS VARCHAR) AS member_id",
        "CAST(CASE WHEN m.churned_on IS NULL THEN 'active' ELSE 'left' END AS VARCHAR) AS status",
        _col("m", "join_date"),
        _col("m", "churned_on"),
        *(_col("m", c) for c in PROFILE[1:]),
        *(_col("t", c) for c in TIER_COLUMNS),
        *(_col("s", c) for c in SEGMENT_COLUMNS),
        "CAST(coalesce(h.spend_fen, 0) AS BIGINT) AS month_spend_fen",
        "CAST(coalesce(h.points_earned, 0) AS BIGINT) AS month_points_earned",
        "CAST(coalesce(b.points_balance, 0) AS BIGINT) AS points_balance",
        "CAST(coalesce(b.points_debt, 0) AS BIGINT) AS points_debt",
    ]
    return (
        f"SELECT {', '.join(cols)} FROM close_members m "
        f"LEFT JOIN close_tiers t ON t.member_id = m.member_id "
        f"LEFT JOIN close_segments s ON s.member_id = m.member_id "
        f"LEFT JOIN {scan(history_file)} h ON h.member_id = m.member_id "
        f"LEFT JOIN close_balances b ON b.member_id = m.member_id "
        f"WHERE m.join_date <= DATE '{end}' ORDER BY m.member_id"
    )


def _counts(duck, source: str, column: str, where: str = "status = 'active'") -> dict:
    rows = duck.execute(
        f"SELECT CAST({column} AS VARCHAR), count(*) FROM {source} WHERE {where} GROUP BY 1 ORDER BY 1 NULLS LAST"
    ).fetchall()
    return {str(k): int(n) for k, n in rows}


SUMMARY_COUNTS = {  # the summary's counts of the active members: its key, the snapshot's column
    "by_tier": "tier",
    "by_star_level": "star_level",
    "by_value_grade": "value_grade",
    "by_activity": "activity_grade",
    "by_key_account": "key_account",
}


def _active_counts(duck, snap: str) -> dict[str, dict]:
    """:data:`SUMMARY_COUNTS` in one scan of the snapshot (grouping sets), each ``{value: n}`` in the order of
    :func:`_counts` (values ascending, none last, as the text ``None``)."""
    cols = list(SUMMARY_COUNTS.values())
    rows = duck.execute(
        f"SELECT {', '.join(f'CAST({c} AS VARCHAR)' for c in cols)}, GROUPING({', '.join(cols)}), count(*) "
        f"FROM {snap} WHERE status = 'active' GROUP BY GROUPING SETS ({', '.join(f'({c})' for c in cols)})"
    ).fetchall()
    found: dict[str, list] = {key: [] for key in SUMMARY_COUNTS}
    for row in rows:
        grouped = row[-2]  # a bit per column, 1 where the row is not grouped by it
        i = next(i for i in range(len(cols)) if not grouped >> (len(cols) - 1 - i) & 1)
        found[list(SUMMARY_COUNTS)[i]].append((row[i], int(row[-1])))
    return {
        key: {str(v): n for v, n in sorted(pairs, key=lambda p: (p[0] is None, p[0] or ""))}
        for key, pairs in found.items()
    }


def summarize(duck, snapshot_file: Path, events_file: Path, totals: dict, plan: Plan) -> dict:
    """The close's summary, counted from the written snapshot and tier events files."""
    snap, events = scan(snapshot_file), scan(events_file)
    members, active = duck.execute(f"SELECT count(*), count(*) FILTER (WHERE status = 'active') FROM {snap}").fetchone()
    liability = Decimal(totals["outstanding"]) * plan.cost_per_point_fen / 100
    return {
        "members": int(members),
        "active": int(active),
        **_active_counts(duck, snap),
        "tier_events": _counts(duck, events, "event", "true"),
        "points": {
            "issued": totals["issued"],
            "redeemed": totals["redeemed"],
            "expired": totals["expired"],
            "reversed": totals["reversed"],
            "outstanding": totals["outstanding"],
        },
        "liability_yuan": str(liability.quantize(Decimal("0.01"))),
        "cost_per_point_yuan": str(plan.cost_per_point_fen / 100),
    }
