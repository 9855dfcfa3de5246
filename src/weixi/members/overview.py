"""What the console's dashboard shows: members by tier and segment, points per month, the liability trend.

- Members by tier and segment come from the latest closed month: the counts of its summary
  (``DATA/close/M.json``) and a tier x value-grade table from its snapshot (``DATA/snapshots/month=M``).
- Points issued, redeemed and expired per month, and the outstanding points at each month end, come from
  the ledger's journal with one grouped query; the buckets are the close summary's (issued = earn plus net
  positive adjustments, redeemed = redemptions less cancellations, expired = expiry entries), so a closed
  month shows the same numbers on the dashboard and in its close summary. With lake months
  (``WEIXI_LEDGER_STORE=lake``) the lake's rows no fold has brought into the journal are added: their earn entries
  by day, and the points the lake expired on their lots by expiry date (as a fold dates them).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import execute, is_pg
from weixi.close import store
from weixi.close.months import next_month
from weixi.ledger import fold
from weixi.plans.service import NoActivePlan, active_plan

SEGMENTS = ("by_tier", "by_star_level", "by_value_grade", "by_activity", "by_key_account")


def latest_close(data_dir: Path) -> dict | None:
    """The manifest of the latest closed month, or None before the first close."""
    months = store.closed_months(Path(data_dir))
    return store.read_manifest(Path(data_dir), months[-1]) if months else None


def tier_by_value(data_dir: Path, month: str) -> list[dict]:
    """Active members of ``month``'s snapshot counted by tier and value grade (A-D)."""
    files = store.uris(Path(data_dir), "snapshots", month)  # the month's files in the close's Delta table
    if not files:
        return []
    with duck.reader() as con:
        rows = con.execute(
            "SELECT tier, value_grade, count(*) FROM read_parquet(?) WHERE status = 'active' "
            "GROUP BY tier, value_grade ORDER BY tier, value_grade",
            [files],
        ).fetchall()
    return [{"tier": t, "value_grade": v, "members": int(n)} for t, v, n in rows]


def plan_names(engine: Engine) -> dict[str, dict[str, str]]:
    """The active plan's names of tiers and key-account levels by id (empty before any plan is applied)."""
    names: dict[str, dict[str, str]] = {"tier": {}, "key_account": {}}
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            _, plan = active_plan(conn)
    except NoActivePlan:
        return names
    names["tier"] = {t.id: t.name for t in plan.tiers}
    if plan.segments and plan.segments.key_accounts:
        names["key_account"] = {k.id: k.name for k in plan.segments.key_accounts.levels}
    return names


def members_overview(engine: Engine | None, data_dir: Path) -> dict | None:
    """Members by tier and each segment at the latest close, with the plan's names for tiers and key accounts."""
    manifest = latest_close(data_dir)
    if manifest is None:
        return None
    summary = manifest["summary"]
    names = plan_names(engine) if engine is not None else {"tier": {}, "key_account": {}}
    return {
        "month": manifest["month"],
        "members": summary["members"],
        "active": summary["active"],
        **{k: summary.get(k, {}) for k in SEGMENTS},
        "tier_events": summary.get("tier_events", {}),
        "tier_by_value": tier_by_value(data_dir, manifest["month"]),
        "names": names,
        "liability_yuan": summary.get("liability_yuan"),
        "points": summary.get("points"),
    }


def _month_expr(conn) -> str:
    return "to_char(day, 'YYYY-MM')" if is_pg(conn) else "substr(CAST(day AS TEXT), 1, 7)"


def points_by_month(engine: Engine, months: int = 12) -> dict:
    """The last ``months`` months that have journal entries (gaps filled with zeros): points issued, redeemed,
    expired and reversed in each, the outstanding points at each month end and their liability in yuan at the
    active plan's cost per point."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        month = _month_expr(conn)
        rows = execute(
            conn,
            f"SELECT {month} AS m, kind, coalesce(sum(points), 0) FROM journal GROUP BY {month}, kind ORDER BY 1",
            [],
        )
        lake = bool(fold.watermark(conn)[0])
        try:
            _, plan = active_plan(conn)
            cost_fen = plan.cost_per_point_fen
        except NoActivePlan:
            cost_fen = None
    by_month: dict[str, dict[str, int]] = {}
    for m, kind, points in [*rows, *(_lake_by_month(engine) if lake else [])]:
        kinds = by_month.setdefault(str(m), {})
        kinds[kind] = kinds.get(kind, 0) + int(points)
    if not by_month:
        return {"months": [], "cost_per_point_yuan": None if cost_fen is None else str(cost_fen / 100)}
    calendar = [min(by_month)]
    while calendar[-1] < max(by_month):
        calendar.append(next_month(calendar[-1]))
    out, running = [], 0
    for m in calendar:
        kinds = by_month.get(m, {})
        running += sum(kinds.values())
        liability = None if cost_fen is None else str((Decimal(running) * cost_fen / 100).quantize(Decimal("0.01")))
        out.append(
            {
                "month": m,
                "issued": kinds.get("earn", 0) + max(kinds.get("adjust", 0), 0),
                "redeemed": -(kinds.get("redeem", 0) + kinds.get("cancel", 0)),
                "expired": -kinds.get("expire", 0),
                "reversed": -sum(kinds.get(k, 0) for k in ("reverse", "clawback", "deficit", "debt_repay")),
                "outstanding": running,
                "liability_yuan": liability,
            }
        )
    return {"months": out[-months:], "cost_per_point_yuan": None if cost_fen is None else str(cost_fen / 100)}


def _lake_by_month(engine: Engine) -> list[tuple[str, str, int]]:
    """(month, kind, points) of the lake's unfolded rows: earn entries by their day, expiries of unfolded lots by
    the lots' expiry date (the journal's rows a fold would insert)."""
    with duck.reader() as con:
        if not fold.unfolded_views(engine, con):
            return []
        return con.execute(
            "SELECT strftime(day, '%Y-%m'), 'earn', sum(points) FROM lake_earned GROUP BY 1 "
            "UNION ALL SELECT strftime(expires_on, '%Y-%m'), 'expire', -sum(points - remaining) FROM lake_lots "
            "WHERE remaining < points GROUP BY 1"
        ).fetchall()
