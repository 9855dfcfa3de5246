"""The reward catalogue of the active plan with live stock, and points about to expire across members."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine

from weixi.adapters.sql import as_date, execute
from weixi.ledger import fold
from weixi.plans.service import active_plan


def catalogue(engine: Engine, day: date | None = None) -> dict:
    """Every reward of the active plan: cost, type, limits, window, and stock left (None = unlimited)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        version, plan = active_plan(conn)
        stock = {r[0]: (r[1], int(r[2])) for r in execute(conn, "SELECT reward_id, stock_total, issued FROM rewards")}
    items = []
    for r in plan.rewards:
        total, issued = stock.get(r.id, (r.stock, 0))
        open_now = day is None or r.window.contains(day)
        items.append(
            {
                "reward_id": r.id,
                "name": r.name,
                "type": r.type.value,
                "cost": r.cost,
                "stock_total": None if total is None else int(total),
                "issued": issued,
                "stock_left": None if total is None else max(int(total) - issued, 0),
                "limit_per_member": r.limit_per_member,
                "limit_per_day": r.limit_per_day,
                "limit_per_month": r.limit_per_month,
                "tiers": list(r.tiers),
                "window": {
                    "start": str(r.window.start) if r.window.start else None,
                    "end": str(r.window.end) if r.window.end else None,
                },
                "available": open_now and (total is None or int(total) > issued),
                "refundable": r.refundable,
                "credit_yuan": f"{r.credit_fen / 100:.2f}" if r.credit_fen else None,
                "face_value_yuan": f"{r.face_value_fen / 100:.2f}" if r.face_value_fen else None,
                "percent_off": r.percent_off or None,
                "cash_yuan": f"{r.cash_fen / 100:.2f}" if r.cash_fen else None,
                "privilege": r.privilege or None,
                "duration_days": r.duration_days or None,
                "chances": r.chances or None,
                "merchants": [{"id": m.id, "name": m.name} for m in r.merchants],
            }
        )
    return {"plan": plan.id, "plan_version": version, "rewards": items}


def expiring_soon(engine: Engine, today: date, within_days: int, limit: int = 100) -> dict:
    """Points in lots that expire after ``today`` and on or before ``today + within_days``: the total, and the
    members with the most such points (for reminder SMS and care calls), each with their first expiry day. With
    lake months the lake's lots no fold has brought into the SQL ``lots`` count too
    (:func:`weixi.ledger.fold.unfolded_views`)."""
    until = today + timedelta(days=within_days)
    cond = "remaining > 0 AND deficit = ? AND expires_on > ? AND expires_on <= ?"
    params = [False, today, until]
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        if fold.watermark(conn)[0]:
            per_member = execute(
                conn,
                f"SELECT member_id, sum(remaining), min(expires_on), count(*) FROM lots WHERE {cond} GROUP BY member_id",
                params,
            )
            lots, points, members, rows = _expiring_with_lake(engine, per_member, today, until, limit)
        else:
            lots, points, members = execute(
                conn,
                f"SELECT count(*), coalesce(sum(remaining), 0), count(DISTINCT member_id) FROM lots WHERE {cond}",
                params,
            )[0]
            rows = execute(
                conn,
                f"SELECT member_id, sum(remaining), min(expires_on), count(*) FROM lots WHERE {cond} "
                f"GROUP BY member_id ORDER BY sum(remaining) DESC, member_id LIMIT ?",
                [*params, limit],
            )
    return {
        "from": str(today),
        "until": str(until),
        "lots": int(lots),
        "points": int(points),
        "members": int(members),
        "top": [
            {"member_id": m, "points": int(p), "first_expiry": str(as_date(d)), "lots": int(n)} for m, p, d, n in rows
        ],
    }


def _expiring_with_lake(engine: Engine, per_member: list, today: date, until: date, limit: int):
    """:func:`expiring_soon`'s (lots, points, members, top rows) over the SQL lots' per-member sums ``per_member``
    and the unfolded lake lots (:func:`weixi.ledger.fold.expiring_by_member`)."""
    totals, top = fold.expiring_by_member(
        engine,
        per_member,
        today,
        until,
        [
            ("SELECT coalesce(sum(lots), 0), coalesce(sum(points), 0), count(*) FROM expiring", []),
            ("SELECT member_id, points, first, lots FROM expiring ORDER BY points DESC, member_id LIMIT ?", [limit]),
        ],
    )
    lots, points, members = totals[0]
    return lots, points, members, top


def redemptions_of(engine: Engine, member_id: str, limit: int = 50) -> list[dict]:
    """A member's redemptions, newest first, with the lots each took its points from."""
    import json

    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT redemption_id, member_id, reward_id, qty, points, day, status, details, request_id "
            "FROM redemptions WHERE member_id = ? ORDER BY day DESC, redemption_id LIMIT ?",
            [member_id, limit],
        )
    keys = ("redemption_id", "member_id", "reward_id", "qty", "points", "day", "status", "details", "request_id")
    out = []
    for row in rows:
        r = dict(zip(keys, row))
        r["details"] = json.loads(r["details"])
        r["day"] = str(r["day"])[:10]
        r["qty"], r["points"] = int(r["qty"]), int(r["points"])
        out.append(r)
    return out
