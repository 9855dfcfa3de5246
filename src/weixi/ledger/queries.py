"""Read-only questions about the ledger: balance at a date, lots, statements, settlements."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import as_date, execute
from weixi.ledger.fold import ensure_folded, lake_sql, marks, unfolded_points, watermark


def _ro(engine: Engine):
    return engine.connect().execution_options(readonly=True)


def member_exists(conn, member_id: str) -> bool:
    return bool(execute(conn, "SELECT 1 FROM members WHERE member_id = ?", [member_id]))


def balance(engine: Engine, member_id: str, at: date, lake_version: int | None = None) -> dict | None:
    """Balance at the end of day ``at``: every lot's journal up to ``at``, less lots expired by then.

    With ``lake_version`` (the Delta version of the lake's ``accruals`` the close of ``at``'s month recorded; the
    caller finds it, the ledger does not read the close's tables) the member is not folded: the lots of the lake
    months the member is not folded through are read at that version (time travel), beside the SQL journal."""
    if lake_version is None:
        ensure_folded(engine, [member_id])
    with _ro(engine) as conn, conn.begin():
        if not member_exists(conn, member_id):
            return None
        rows = execute(
            conn,
            """
            SELECT l.lot_id, l.earned_on, l.expires_on, l.deficit, sum(j.points)
            FROM journal j JOIN lots l ON l.lot_id = j.lot_id
            WHERE j.member_id = ? AND j.day <= ? AND j.kind <> 'expire'
            GROUP BY l.lot_id, l.earned_on, l.expires_on, l.deficit ORDER BY l.expires_on, l.earned_on, l.lot_id""",
            [member_id, at],
        )
        debt = execute(
            conn, "SELECT coalesce(sum(debt_delta), 0) FROM journal WHERE member_id = ? AND day <= ?", [member_id, at]
        )[0][0]
        recorded = execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member_id])[0][0]
        if lake_version is not None:
            rows = _with_lake_lots(conn, rows, member_id, at, lake_version)
            recorded += unfolded_points(conn, member_id)  # today's balance over both stores, as a folded member's
    lots, expired = [], 0
    for lot_id, earned_on, expires_on, deficit, remaining in rows:
        expires_on = as_date(expires_on)
        if remaining == 0:
            continue
        if expires_on is not None and expires_on <= at:
            expired += remaining
            continue
        lots.append(
            {
                "lot_id": lot_id,
                "earned_on": str(as_date(earned_on)),
                "expires_on": str(expires_on) if expires_on else None,
                "remaining": int(remaining),
                "deficit": bool(deficit),
            }
        )
    total = sum(l["remaining"] for l in lots)
    soon = at + timedelta(days=90)
    return {
        "member_id": member_id,
        "at": str(at),
        "balance": total,
        "debt": int(debt),
        "expiring_within_90_days": sum(
            l["remaining"] for l in lots if l["expires_on"] and as_date(l["expires_on"]) <= soon and l["remaining"] > 0
        ),
        "recorded_balance": int(recorded),
        "lots": lots,
    }


def _with_lake_lots(conn, rows: list, member_id: str, at: date, version: int) -> list:
    """``rows`` (the SQL lots' journal sums) with the member's unfolded lake lots earned by ``at`` as the lake's
    ``version`` holds them (a lake lot is never spent before it is folded: its points, unless expired by ``at``),
    in the SQL query's order."""
    months, lake_dir, _ = watermark(conn)
    source = lake_sql(lake_dir, version, months, marks(conn, [member_id]).get(member_id, "")) if months else None
    if source is None:
        return rows
    with duck.reader() as con:
        lake_rows = con.execute(
            f"SELECT event_id, day, expires_on, earned FROM ({source}) WHERE member_id = ? AND earned > 0 AND day <= ?",
            [member_id, at],
        ).fetchall()
    known = {r[0] for r in rows}
    out = list(rows) + [(lot, day, exp, False, int(p)) for lot, day, exp, p in lake_rows if lot not in known]
    return sorted(out, key=lambda r: (r[2] is not None, str(as_date(r[2]) or ""), str(as_date(r[1])), r[0]))


KINDS_EARNED = ("earn", "adjust")
KINDS_REDEEMED = ("redeem", "cancel")
KINDS_REVERSED = ("reverse", "clawback", "deficit", "debt", "debt_repay", "settle")


def statement(engine: Engine, member_id: str, start: date | None, end: date | None) -> dict | None:
    ensure_folded(engine, [member_id])
    with _ro(engine) as conn, conn.begin():
        if not member_exists(conn, member_id):
            return None
        start = start or date.min
        end = end or date.max
        opening = execute(
            conn,
            "SELECT coalesce(sum(points), 0), coalesce(sum(debt_delta), 0) FROM journal "
            "WHERE member_id = ? AND day < ?",
            [member_id, start],
        )[0]
        rows = execute(
            conn,
            """
            SELECT j.id, j.day, j.kind, j.points, j.debt_delta, j.lot_id, j.event_id, j.rule_id, j.note, j.plan_version,
                   e.type, e.amount_fen
            FROM journal j LEFT JOIN events e ON e.event_id = j.event_id
            WHERE j.member_id = ? AND j.day >= ? AND j.day <= ? ORDER BY j.day, j.id""",
            [member_id, start, end],
        )
    running, debt = int(opening[0]), int(opening[1])
    lines = []
    totals = {"earned": 0, "redeemed": 0, "expired": 0, "reversed": 0}
    for jid, day, kind, points, ddelta, lot_id, event_id, rule_id, note, version, etype, amount_fen in rows:
        running += points
        debt += ddelta
        bucket = (
            "earned"
            if kind in KINDS_EARNED
            else "redeemed"
            if kind in KINDS_REDEEMED
            else "expired"
            if kind == "expire"
            else "reversed"
        )
        totals[bucket] += points if bucket == "earned" else -points
        lines.append(
            {
                "entry": jid,
                "day": str(as_date(day)),
                "kind": kind,
                "points": int(points),
                "debt_delta": int(ddelta),
                "balance": running,
                "debt": debt,
                "lot": lot_id,
                "event": event_id,
                "event_type": etype,
                "amount": str(Decimal(amount_fen) / 100) if amount_fen is not None else None,
                "rule": rule_id,
                "plan_version": version,
                "note": note or "",
            }
        )
    return {
        "member_id": member_id,
        "from": None if start == date.min else str(start),
        "to": None if end == date.max else str(end),
        "opening_balance": int(opening[0]),
        "opening_debt": int(opening[1]),
        "closing_balance": running,
        "closing_debt": debt,
        "totals": totals,
        "lines": lines,
    }


def settlement(engine: Engine, month: str) -> dict:
    """Points spent at each partner merchant in ``month`` (YYYY-MM) and what the operator owes each, in yuan."""
    first = date.fromisoformat(month + "-01")
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    import json

    with _ro(engine) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT reward_id, points, details FROM redemptions WHERE status = 'fulfilled' AND day >= ? AND day < ?",
            [first, nxt],
        )
    merchants: dict[str, dict] = {}
    for _reward_id, points, details in rows:
        d = json.loads(details)
        if "merchant" not in d:
            continue
        m = merchants.setdefault(
            d["merchant"], {"merchant": d["merchant"], "redemptions": 0, "points": 0, "settle_fen": 0}
        )
        m["redemptions"] += 1
        m["points"] += int(points)
        m["settle_fen"] += int(d["settle_fen"])
    out = sorted(merchants.values(), key=lambda m: m["merchant"])
    for m in out:
        m["settle_yuan"] = str(Decimal(m["settle_fen"]) / 100)
    return {
        "month": month,
        "merchants": out,
        "total_points": sum(m["points"] for m in out),
        "total_yuan": str(Decimal(sum(m["settle_fen"] for m in out)) / 100),
    }
